"""All terminal rendering (rich). The core never imports this module."""

from __future__ import annotations

import json
import os
import re
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from mwaadeps.errors import MwaadepsError, RequirementsError

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
    from mwaadeps.redact import redact_text

    return redact_text(text, _SECRETS)


def interactive() -> bool:
    return console.is_terminal and not _is_ci()


def info(message: str) -> None:
    console.print(escape(_mask(message)))


def success(message: str) -> None:
    console.print(f"[green]✔[/green] {escape(_mask(message))}")


def warn(message: str) -> None:
    err_console.print(f"[yellow]warning:[/yellow] {escape(_mask(message))}")


def note(message: str) -> None:
    """A side remark on stderr (never in --json stdout)."""
    err_console.print(f"[dim]{escape(_mask(message))}[/dim]")


def error(exc: MwaadepsError) -> None:
    err_console.print(f"[red]error:[/red] {escape(_mask(exc.message))}")
    if exc.hint:
        err_console.print(f"  {escape(_mask(exc.hint))}")


def print_json(payload: Any) -> None:
    """Machine output: one JSON object on stdout, credentials masked."""
    sys.stdout.write(_mask(json.dumps(payload, indent=2, sort_keys=False, default=str)) + "\n")
    sys.stdout.flush()


def json_error(exc: MwaadepsError, **extra: Any) -> None:
    """The one --json failure shape: {"ok": false, "error": {code, message, hint}, ...extra}."""
    rest = {k: v for k, v in extra.items() if k not in ("ok", "error")}
    print_json({"ok": False, "error": exc.to_dict(), **rest})


def _cell(value: Any) -> str:
    return _mask("" if value is None else str(value))


def plain_table(
    title: str | None, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> list[str]:
    """A table as full-width text lines: columns padded, no cell ever cut or wrapped."""
    cells = [[_cell(c) for c in columns], *([_cell(c) for c in row] for row in rows)]
    widths = [max(len(r[i]) for r in cells if i < len(r)) for i in range(len(columns))]
    lines = [title] if title else []
    for row in cells:
        padded = [c.ljust(widths[i]) for i, c in enumerate(row[:-1])] + row[-1:]
        lines.append("  ".join(padded).rstrip())
    return lines


def table(title: str | None, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """A table: rich on a terminal (long cells fold, never cut), plain full lines elsewhere."""
    if not interactive():
        for line in plain_table(title, columns, rows):
            console.print(escape(line))
        return
    t = Table(title=title, title_justify="left", show_lines=False)
    for col in columns:
        t.add_column(col, overflow="fold")
    for row in rows:
        t.add_row(*(escape(_cell(c)) for c in row))
    console.print(t)


def _shown_path(path: Path) -> str:
    """A path relative to the working folder when inside it (as compilers print them)."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except (ValueError, OSError):
        return str(path)


def problem_lines(report: Any) -> list[str]:
    """`file:line: severity: message (fix: hint)`, one full line per problem of a check."""
    lines = []
    for p in report.problems:
        where = f"{_shown_path(p.origin.file)}:{p.origin.line}" if p.origin else None
        where = where or _shown_path(report.requirements)
        fix = f" (fix: {p.hint})" if p.hint else ""
        lines.append(f"{where}: {p.severity}: {p.message}{fix}")
    return lines


def problems(report: Any, *, json_out: bool = False, extra: dict[str, Any] | None = None) -> None:
    """Render a `check` report (a CheckReport): JSON, a terminal table, or full plain lines."""
    target = report.target
    if json_out:
        payload = {**report.to_dict(), **(extra or {})}
        if report.ok:
            print_json({**payload, "error": None})
            return
        json_error(
            RequirementsError(
                f"{report.requirements} has {len(report.errors)} error(s) for MWAA "
                f"{target.airflow_version}.",
                hint="Fix each entry of problems (each has its fix), then run mwaadeps check "
                "again.",
            ),
            **payload,
        )
        return
    if report.problems and interactive():
        rows = [
            (
                p.severity,
                f"{p.origin.file.name}:{p.origin.line}" if p.origin else "-",
                p.message,
                p.hint,
            )
            for p in report.problems
        ]
        table(
            f"{report.requirements} for MWAA {target.airflow_version}",
            ["", "where", "problem", "fix"],
            rows,
        )
    else:
        for line in problem_lines(report):
            console.print(escape(_mask(line)))
    errors, warnings = len(report.errors), len(report.warnings)
    if report.ok:
        success(
            f"{report.requirements}: no errors, {warnings} warning(s) "
            f"(MWAA {target.airflow_version}, Python {target.python_version})."
        )
    else:
        info(f"{errors} error(s), {warnings} warning(s).")


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
