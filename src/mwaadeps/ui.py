"""All terminal rendering (rich). The core never imports this module."""

from __future__ import annotations

import json
import os
import re
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from .errors import MwaadepsError

_SECRETS: tuple[str, ...] = ()


def _is_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


console = Console(stderr=False, highlight=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)


def set_secrets(secrets: Sequence[str]) -> None:
    """Values to mask in anything rendered."""
    global _SECRETS
    _SECRETS = tuple(s for s in secrets if s)


def _mask(text: str) -> str:
    from .redact import redact_text

    return redact_text(text, _SECRETS)


def interactive() -> bool:
    return console.is_terminal and not _is_ci()


def info(message: str) -> None:
    console.print(escape(_mask(message)))


def success(message: str) -> None:
    console.print(f"[green]✔[/green] {escape(_mask(message))}")


def warn(message: str) -> None:
    err_console.print(f"[yellow]warning:[/yellow] {escape(_mask(message))}")


def error(exc: MwaadepsError) -> None:
    err_console.print(f"[red]error:[/red] {escape(_mask(exc.message))}")
    if exc.hint:
        err_console.print(f"  {escape(_mask(exc.hint))}")


def print_json(payload: Any) -> None:
    """Machine output: one JSON object on stdout, credentials masked."""
    sys.stdout.write(_mask(json.dumps(payload, indent=2, sort_keys=False, default=str)) + "\n")
    sys.stdout.flush()


def table(title: str | None, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    t = Table(title=title, title_justify="left", show_lines=False)
    for col in columns:
        t.add_column(col)
    for row in rows:
        t.add_row(*(escape(_mask("" if c is None else str(c))) for c in row))
    console.print(t)


def human_size(size: int | float) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"


class CliReporter:
    """A Reporter: a spinner and counters on a terminal, plain lines in CI or pipes."""

    def __init__(self, quiet: bool = False) -> None:
        self.quiet = quiet
        self._status: Any = None
        self._started = time.monotonic()
        self._last_plain = 0.0
        self._last_key = ""

    def step(self, message: str) -> None:
        if self.quiet:
            return
        if interactive():
            if self._status is None:
                self._status = err_console.status(escape(message))
                self._status.start()
            else:
                self._status.update(escape(message))
        else:
            # Plain output (CI, pipes): a repeated status line (e.g. a poll) at most every 30 s.
            key = re.sub(r"\(.*?\)|[\d.:]+", "", message)
            now = time.monotonic()
            if key == self._last_key and now - self._last_plain < 30:
                return
            self._last_key, self._last_plain = key, now
            err_console.print(f"[dim]{now - self._started:6.1f}s[/dim] {escape(message)}")

    def advance(self, task: str, done: int, total: int | None = None) -> None:
        if self.quiet:
            return
        text = f"{task} {done}/{total}" if total else f"{task} {done}"
        if interactive() and self._status is not None:
            self._status.update(escape(text))
        elif total and (done == total or time.monotonic() - self._last_plain > 5):
            self._last_plain = time.monotonic()
            err_console.print(f"[dim]{time.monotonic() - self._started:6.1f}s[/dim] {escape(text)}")

    def log(self, line: str) -> None:
        if self.quiet:
            return
        err_console.print(f"[dim]│[/dim] {escape(_mask(line))}")

    def warn(self, message: str) -> None:
        warn(message)

    def close(self) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None


@contextmanager
def reporter(quiet: bool = False) -> Iterator[CliReporter]:
    rep = CliReporter(quiet=quiet)
    try:
        yield rep
    finally:
        rep.close()
