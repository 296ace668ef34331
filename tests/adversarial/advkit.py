"""Helpers of the adversarial build tests: the planted credentials, a CLI runner that
records its children's argv, secret scans; importing it puts tests/build on sys.path.

The fixtures (the fake indexes) are in buildfix.py, which test modules load as a plugin.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

BUILD_TESTS = Path(__file__).resolve().parents[1] / "build"
if str(BUILD_TESTS) not in sys.path:
    sys.path.insert(0, str(BUILD_TESTS))

import fakeworld  # noqa: E402
from buildkit import Run, child_env, write_project  # noqa: E402
from fakeworld import Server  # noqa: E402

__all__ = ["Run", "Server", "child_env", "fakeworld", "write_project"]

# A planted credential: `/`, `#` and `@` need percent-encoding in a URL; "Pl4nted" marks any
# part of it that leaks (raw, encoded, or the half an `@` split would leave).
USER = "mwaa-bot-Qx7u"
PASSWORD = "p/ss#w@rd-Pl4nted-9Zk"
MARK = "Pl4nted"
CRED_ENV = {"IDX_USER": USER, "IDX_TOKEN": PASSWORD}
CRED_TOML = 'username-env = "IDX_USER"\npassword-env = "IDX_TOKEN"\n'

# A pure package whose sdist builds with setuptools: its wheel's entry modes come from the
# extracted files, so from the umask.
SETUPPURE = {
    "pyproject.toml": '[build-system]\nrequires = ["setuptools"]\n'
    'build-backend = "setuptools.build_meta"\n\n[project]\nname = "setuppure"\n'
    'version = "1.0"\n\n[tool.setuptools]\npackages = ["setuppure"]\n',
    "setuppure/__init__.py": '"""Pure Python, built with setuptools from its sdist."""\n',
    "setuppure/data.py": "VALUE = 1\n",
}


def secret_forms() -> list[bytes]:
    """Every form in which the planted password could leak."""
    basic = base64.b64encode(f"{USER}:{PASSWORD}".encode())
    return [MARK.encode(), quote(PASSWORD, safe="").encode(), basic]


def find_secret(texts: Mapping[str, str], roots: Sequence[Path]) -> list[str]:
    """Where the planted password shows: in the given texts, files, or zip/wheel members."""
    hits: list[str] = []
    forms = secret_forms()
    for where, text in texts.items():
        if any(f.decode() in text for f in forms):
            hits.append(where)
    for root in roots:
        for path in sorted(root.rglob("*")) if root.is_dir() else [root]:
            if not path.is_file() or path.is_symlink():
                continue
            data = path.read_bytes()
            if any(f in data for f in forms):
                hits.append(str(path))
            if zipfile.is_zipfile(path):
                hits += _zip_hits(path, data, forms)
    return hits


def _zip_hits(path: Path, data: bytes, forms: list[bytes]) -> list[str]:
    import io

    hits = []
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            for name in zf.namelist():
                member = zf.read(name)
                if any(f in member for f in forms):
                    hits.append(f"{path}!{name}")
                if name.endswith((".whl", ".zip")) and zipfile.is_zipfile(io.BytesIO(member)):
                    hits += _zip_hits(Path(f"{path}!{name}"), member, forms)
    except zipfile.BadZipFile:
        pass
    return hits


# Runs the CLI with an audit hook that records every child process (argv and the names of
# its environment variables): what `ps` would show another user of the machine.
_SPY = """
import json, os, sys
_log = os.environ.pop("MWAADEPS_TEST_SPY")
def _hook(event, args):
    if event == "subprocess.Popen":
        executable, argv, cwd, env = args
        names = sorted(env) if env is not None else sorted(os.environ)
        argv = [os.fsdecode(a) for a in (argv if isinstance(argv, (list, tuple)) else [argv])]
        with open(_log, "a") as fh:
            fh.write(json.dumps({"argv": argv, "env": names}) + "\\n")
sys.addaudithook(_hook)
from mwaadeps.cli.app import main
main()
"""


@dataclass
class SpiedRun:
    run: Run
    children: list[dict[str, Any]]

    @property
    def argv_text(self) -> str:
        return "\n".join(" ".join(c["argv"]) for c in self.children)


def run_spied(
    cwd: Path,
    args: Sequence[str],
    cache_dir: Path,
    env: Mapping[str, str] | None = None,
    umask: int | None = None,
) -> SpiedRun:
    """The CLI in a subprocess, recording its children's argv and environment names."""
    log = cache_dir.parent / f"spy-{os.getpid()}-{len(list(cache_dir.parent.glob('spy-*')))}.jsonl"
    full_env = child_env(cache_dir, env)
    full_env["MWAADEPS_TEST_SPY"] = str(log)
    preexec: Callable[[], Any] | None = None
    if umask is not None:
        mask = umask

        def preexec() -> None:
            os.umask(mask)

    proc = subprocess.run(
        [sys.executable, "-c", _SPY, *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        preexec_fn=preexec,
    )
    children = [json.loads(line) for line in log.read_text().splitlines()] if log.is_file() else []
    log.unlink(missing_ok=True)
    return SpiedRun(Run(tuple(args), proc.returncode, proc.stdout, proc.stderr), children)


def project(folder: Path, index_url: str, requirements: Sequence[str], **kw: Any) -> Path:
    """A project of the fake world (see buildkit.write_project)."""
    return write_project(folder, index_url, requirements, **kw)
