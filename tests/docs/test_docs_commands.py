"""Every mwaadeps command shown in the README and the guides parses against the real CLI."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import typer

from mwaadeps.cli.app import app

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
_INLINE = re.compile(r"`(mwaadeps [^`]+)`")
_BLOCK_LINE = re.compile(r"^\s*(?:\$ |- run: |- )?(mwaadeps [^#|>]*)")


def _commands() -> list[tuple[str, str]]:
    """Command lines from fenced code blocks and inline code spans."""
    found = []
    for doc in DOCS:
        in_block = False
        for line in doc.read_text(encoding="utf-8").splitlines():
            if line.lstrip().startswith("```"):
                in_block = not in_block
                continue
            texts = []
            if in_block:
                match = _BLOCK_LINE.match(line)
                if match:
                    texts.append(match.group(1))
            else:
                texts += _INLINE.findall(line)
            found += [(doc.name, t.strip()) for t in texts]
    return found


COMMANDS = _commands()


def test_docs_show_commands() -> None:
    names = {cmd.split()[1] for _, cmd in COMMANDS}
    assert {"check", "build", "deploy", "test-local", "status"} <= names


@pytest.mark.parametrize(("doc", "line"), COMMANDS, ids=[f"{d}:{c}" for d, c in COMMANDS])
def test_command_parses(doc: str, line: str) -> None:
    args = shlex.split(re.sub(r"\[[^\]]*\]", "", line).replace("...", ""))[1:]
    args = [a for a in args if a not in {"\\"}]
    group: Any = typer.main.get_command(app)
    ctx = group.make_context("mwaadeps", [], resilient_parsing=True)
    command = group
    while hasattr(command, "get_command") and args and not args[0].startswith("-"):
        sub = command.get_command(ctx, args[0])
        assert sub is not None, f"{doc}: unknown command in {line!r}"
        command, args = sub, args[1:]
    assert not hasattr(command, "get_command"), f"{doc}: {line!r} names no command"
    # Parses options and arguments (unknown options, missing values fail) without running.
    command.make_context(command.name or "", list(args), parent=ctx)
