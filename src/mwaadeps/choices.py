"""The closed choice sets of the settings and options, as string enums.

Each member is its lower-case value (``BuildMode.BUNDLE == "bundle"``), so it reads and
writes as text in mwaadeps.toml, JSON and messages. ``parse_choice`` turns a user's text into
a member, case-insensitively, or raises a ConfigError naming where the value came from and the
allowed values; on the command line Typer checks them (case-insensitive) before a command runs.
"""

from __future__ import annotations

import sys
from enum import Enum
from typing import TypeVar

from mwaadeps.errors import ConfigError

if sys.version_info >= (3, 11):
    from enum import StrEnum
else:  # pragma: no cover

    class StrEnum(str, Enum):
        """enum.StrEnum of Python 3.11: members are their string values."""

        def __str__(self) -> str:
            return str(self.value)


class BuildMode(StrEnum):
    """bundle: the wheels travel in plugins.zip (offline); index: MWAA installs from an index."""

    BUNDLE = "bundle"
    INDEX = "index"


class ResolverName(StrEnum):
    """The resolver that locks the requirements."""

    UV = "uv"
    PIP_TOOLS = "pip-tools"


class WorkerReplacement(StrEnum):
    """MWAA's WorkerReplacementStrategy for an update (MWAA's default: forced)."""

    GRACEFUL = "graceful"
    FORCED = "forced"


class FailOn(StrEnum):
    """The lowest advisory severity that fails an audit (any: every advisory)."""

    ANY = "any"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @classmethod
    def _missing_(cls, value: object) -> FailOn | None:
        """GitHub's "moderate" is medium."""
        return cls.MEDIUM if value == "moderate" else None


E = TypeVar("E", bound=StrEnum)


def allowed(choices: type[StrEnum]) -> str:
    """The values of a choice set, for messages: ``bundle, index``."""
    return ", ".join(member.value for member in choices)


def parse_choice(
    choices: type[E], value: str, key: str, where: str | None = None, hint: str | None = None
) -> E:
    """``value`` as a member of ``choices`` (case-insensitive), else a ConfigError naming the
    key, where it was set (a file, an environment variable) and the allowed values."""
    try:
        return choices(value.strip().lower())
    except ValueError:
        place = f"{where}: " if where else ""
        raise ConfigError(
            f"{place}{key} must be one of {allowed(choices)}, not {value!r}.",
            hint=hint or f"Use {' or '.join(repr(m.value) for m in choices)}.",
        ) from None
