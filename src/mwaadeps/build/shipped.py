"""The per-version MWAA data shipped inside mwaadeps: constraints, essential pins, image list.

Each file is listed in ``data/mwaa/index.json`` with its sha256 and source, and is
verified on every read; ``scripts/refresh_mwaa_data.py`` refreshes them.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from mwaadeps.errors import ConstraintsError

DATA_DIR = Path(__file__).resolve().parents[1] / "data" / "mwaa"
INDEX = DATA_DIR / "index.json"
FILES = {
    "constraints": "airflow-constraints.txt",
    "essential": "mwaa-essential-constraints.txt",
    "preinstalled": "preinstalled.txt",
}


@dataclass(frozen=True)
class ShippedFile:
    """One shipped data file: its text, where it came from, and its sha256."""

    version: str
    kind: str
    path: Path
    source: str
    sha256: str

    def text(self) -> str:
        """The file's text, after checking its sha256 against the index."""
        data = self.path.read_bytes()
        actual = hashlib.sha256(data).hexdigest()
        if actual != self.sha256:
            raise ConstraintsError(
                f"mwaadeps' shipped {self.kind} file for MWAA {self.version} ({self.path}) "
                f"has sha256 {actual}, not {self.sha256}: the installation is damaged.",
                hint="Reinstall mwaadeps (pipx reinstall mwaadeps).",
            )
        return data.decode("utf-8")


@cache
def _index() -> dict[str, dict[str, dict[str, Any]]]:
    if not INDEX.is_file():
        return {}
    raw: dict[str, dict[str, dict[str, Any]]] = json.loads(INDEX.read_text(encoding="utf-8"))
    return raw


def versions() -> tuple[str, ...]:
    """Versions with shipped data."""
    return tuple(sorted(_index()))


def shipped(version: str, kind: str) -> ShippedFile | None:
    """The shipped file of ``kind`` (constraints, essential, preinstalled) for a version."""
    entry = _index().get(version, {}).get(kind)
    if entry is None:
        return None
    return ShippedFile(
        version, kind, DATA_DIR / str(entry["file"]), str(entry["source"]), str(entry["sha256"])
    )


__all__ = ["DATA_DIR", "FILES", "INDEX", "ShippedFile", "shipped", "versions"]
