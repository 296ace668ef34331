"""The requirements-file model: where a line is (Origin), what it says, what is wrong."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from mwaadeps.redact import redact

Severity = Literal["error", "warning"]


MWAA_PREFIX = "/usr/local/airflow/"


@dataclass(frozen=True)
class Origin:
    """Where a line comes from: the file (as reached from the top file) and its line."""

    file: Path
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass(frozen=True)
class ParsedRequirement:
    """One PEP 508 requirement; ``text`` is the line as written, credentials redacted."""

    requirement: Requirement
    origin: Origin
    text: str
    hashes: tuple[str, ...] = ()
    constraint: bool = False

    @property
    def name(self) -> str:
        """The canonical (normalised) project name."""
        return canonicalize_name(self.requirement.name)


@dataclass(frozen=True)
class ParsedOption:
    """An option line, e.g. name ``--index-url``. ``value`` may hold credentials: show ``shown``."""

    name: str
    value: str | None = field(repr=False)
    origin: Origin

    @property
    def shown(self) -> str | None:
        """The value with any credentials masked."""
        return None if self.value is None else redact(self.value)


@dataclass(frozen=True)
class Problem:
    """Something wrong with a line (or the whole file when ``origin`` is None)."""

    severity: Severity
    code: str
    origin: Origin | None
    message: str
    hint: str

    def to_dict(self) -> dict[str, object]:
        return {
            "severity": self.severity,
            "code": self.code,
            "file": str(self.origin.file) if self.origin else None,
            "line": self.origin.line if self.origin else None,
            "message": self.message,
            "hint": self.hint,
        }


@dataclass(frozen=True)
class RequirementsFile:
    """A parsed requirements file with every nested file it includes.

    ``requirements`` come from ``-r`` files, ``constraints`` from ``-c`` files; ``files``
    lists every file read, the top one first.
    """

    path: Path
    requirements: tuple[ParsedRequirement, ...]
    options: tuple[ParsedOption, ...]
    problems: tuple[Problem, ...]
    files: tuple[Path, ...]
    constraints: tuple[ParsedRequirement, ...] = ()

    @property
    def ok(self) -> bool:
        return not any(p.severity == "error" for p in self.problems)

    def options_named(self, name: str) -> tuple[ParsedOption, ...]:
        return tuple(o for o in self.options if o.name == name)
