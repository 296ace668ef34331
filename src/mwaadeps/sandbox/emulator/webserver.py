"""The emulated Airflow webserver behind InvokeRestApi, and the backend seam that parses
and runs DAGs for it (``AirflowBackend``: the pure-Python model, or real Airflow in Docker).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol


@dataclass(frozen=True)
class Installed:
    """What an environment runs now."""

    airflow_version: str
    python_version: str | None
    bundle: Path  # folder with the current requirements.txt, plugins.zip, startup.sh (those set)
    image: str | None = None  # Docker backend: an image with the bundle already installed


@dataclass(frozen=True)
class DagInfo:
    """One DAG the dag processor found."""

    dag_id: str
    fileloc: str  # path relative to the dags folder, "/"-separated
    tags: tuple[str, ...] = ()
    owners: tuple[str, ...] = ("airflow",)


@dataclass(frozen=True)
class ImportErrorInfo:
    """A DAG file that failed to import."""

    filename: str  # relative to the dags folder
    stack_trace: str


@dataclass(frozen=True)
class ParseResult:
    """What one parse of the dags folder found."""

    dags: tuple[DagInfo, ...]
    import_errors: tuple[ImportErrorInfo, ...]


@dataclass(frozen=True)
class RunResult:
    """How a DAG run ended."""

    state: str  # "success" or "failed"
    variables: Mapping[str, str]  # Airflow Variables after the run (set/changed ones at least)
    log: tuple[str, ...] = ()


class AirflowBackend(Protocol):
    """Parses a dags folder and runs one DAG for an environment's installed bundle."""

    name: str

    def parse(self, installed: Installed, dags_dir: Path) -> ParseResult:
        """The DAGs and import errors of ``dags_dir`` under ``installed``."""
        ...

    def run(
        self,
        installed: Installed,
        dags_dir: Path,
        dag_id: str,
        conf: Mapping[str, Any],
        variables: Mapping[str, str],
    ) -> RunResult:
        """Run ``dag_id`` once with ``conf``, starting from ``variables``."""
        ...


__all__ = [
    "AirflowBackend",
    "DagInfo",
    "ImportErrorInfo",
    "Installed",
    "ParseResult",
    "RunResult",
]
