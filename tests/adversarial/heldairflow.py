"""An Airflow backend for the signal tests: the emulator's model, but each DAG run waits on
an event, so a test can signal a child while it polls a run that is surely still running."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from mwaadeps.sandbox.emulator.model import ModelBackend
from mwaadeps.sandbox.emulator.webserver import Installed, RunResult
from mwaadeps.sandbox.server import Sandbox


class HeldRuns(ModelBackend):
    """The model backend; a run waits until ``release`` (``entered`` says one began)."""

    def __init__(self) -> None:
        super().__init__()
        self.entered = threading.Event()
        self.release = threading.Event()

    def run(
        self,
        installed: Installed,
        dags_dir: Path,
        dag_id: str,
        conf: Mapping[str, Any],
        variables: Mapping[str, str],
    ) -> RunResult:
        self.entered.set()
        self.release.wait(timeout=120)
        return super().run(installed, dags_dir, dag_id, conf, variables)


def held_sandbox() -> Iterator[tuple[Sandbox, HeldRuns]]:
    """A started sandbox whose runs are held (the body of a module-scoped fixture)."""
    backend = HeldRuns()
    box = Sandbox("127.0.0.1", 0, update_polls=2, backend=backend)
    box.start()
    yield box, backend
    backend.release.set()
    box.stop()
