"""The resolver interface: a ResolveJob in, pinned Resolved artifacts out; the roots file."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from mwaadeps.build.lockfile import Artifact
from mwaadeps.targets import Target


@dataclass(frozen=True)
class ResolveJob:
    """Everything a resolver needs; paths inside are temporary."""

    target: Target
    roots: dict[str, list[str]]  # input name -> requirement lines ("base", "user")
    constraints_text: str
    essential_text: str
    excludes: tuple[str, ...]
    index_urls: tuple[str, ...] = ()
    find_links: tuple[str, ...] = ()
    cache_dir: Path | None = None
    secrets: tuple[str, ...] = ()
    # Answer from uv's cache when it holds everything (a resolution of the same graph has
    # just filled it); the network only when it does not.
    prefer_cache: bool = False
    # Told what the user should know about the answer (an extra the package does not have).
    on_warning: Callable[[str], None] | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Resolved:
    """One resolved distribution."""

    name: str
    version: str
    wheels: tuple[Artifact, ...]
    sdist: Artifact | None
    via: tuple[str, ...] = ()


class Resolver(ABC):
    """Resolves a job into pinned distributions with their artifacts."""

    name: str

    @abstractmethod
    def resolve(self, job: ResolveJob) -> dict[str, Resolved]:
        """Canonical name -> Resolved."""


def write_roots(job: ResolveJob, work: Path) -> list[str]:
    files = []
    for root, lines in job.roots.items():
        path = work / f"{root}.in"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        files.append(str(path))
    return files
