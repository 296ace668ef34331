"""The observer the core reports progress to; only the CLI attaches a visible one."""

from __future__ import annotations

from typing import Protocol


class Reporter(Protocol):
    """Progress sink. Core modules call it; they never print."""

    def step(self, message: str) -> None:
        """A phase starts (resolving, downloading, ...)."""

    def advance(self, task: str, done: int, total: int | None = None) -> None:
        """Progress within a phase, e.g. wheels downloaded."""

    def log(self, line: str) -> None:
        """One line of streamed output (a container, a server)."""

    def warn(self, message: str) -> None:
        """Something the user should know that does not stop the work."""


class NullReporter:
    """Discards everything (tests, --json)."""

    def step(self, message: str) -> None:
        pass

    def advance(self, task: str, done: int, total: int | None = None) -> None:
        pass

    def log(self, line: str) -> None:
        pass

    def warn(self, message: str) -> None:
        pass


class RecordingReporter(NullReporter):
    """Keeps what it was told (tests, and --json warnings)."""

    def __init__(self) -> None:
        self.steps: list[str] = []
        self.lines: list[str] = []
        self.warnings: list[str] = []

    def step(self, message: str) -> None:
        self.steps.append(message)

    def log(self, line: str) -> None:
        self.lines.append(line)

    def warn(self, message: str) -> None:
        self.warnings.append(message)
