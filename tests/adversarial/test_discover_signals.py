"""An interrupted discover leaves nothing behind: SIGINT or SIGTERM sent to a real child
`mwaadeps discover` while its discovery run is held by the backend still deletes the object
version it uploaded, the Variable and the DAG. The run is held on an event (no sleeps)."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from deploy.conftest import Project, new_project, point_at_sandbox
from mwaadeps.deploy import discover as core
from mwaadeps.deploy.aws import connect
from mwaadeps.deploy.restapi import AirflowApi
from mwaadeps.sandbox.emulator.model import ModelBackend
from mwaadeps.sandbox.emulator.webserver import Installed, ParseResult, RunResult
from mwaadeps.sandbox.server import Sandbox

from .conftest import read_until, spawn

BUCKET = "dsai-airflow-dags"


class _HeldRuns(ModelBackend):
    """The model backend, but a run waits until ``release`` (``entered`` says it began)."""

    def __init__(self) -> None:
        super().__init__()
        self.entered = threading.Event()
        self.release = threading.Event()

    def parse(self, installed: Installed, dags_dir: Path) -> ParseResult:
        return super().parse(installed, dags_dir)

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


@pytest.fixture(scope="module")
def held() -> Iterator[tuple[Sandbox, _HeldRuns]]:
    backend = _HeldRuns()
    box = Sandbox("127.0.0.1", 0, update_polls=2, backend=backend)
    box.start()
    yield box, backend
    backend.release.set()
    box.stop()


def _versions(project: Project) -> list[tuple[str, str]]:
    listed = project.client("s3").list_object_versions(Bucket=BUCKET, Prefix="dags/")
    rows = [(v["Key"], v["VersionId"]) for v in listed.get("Versions", [])]
    rows += [(d["Key"], "delete-marker") for d in listed.get("DeleteMarkers", [])]
    return sorted(rows)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_during_the_run_still_cleans_up(
    held: tuple[Sandbox, _HeldRuns],
    sig: int,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    box, backend = held
    backend.entered.clear()
    backend.release.clear()
    point_at_sandbox(box, monkeypatch, tmp_path)
    project = new_project(tmp_path, box)
    before = _versions(project)
    proc = spawn(project, "discover", "--env", "dev", MWAADEPS_POLL_INTERVAL="0.05")
    try:
        read_until(proc, "Running mwaadeps_discover")
        assert backend.entered.wait(timeout=60), "the discovery run never started"
        proc.send_signal(sig)
        out, _ = proc.communicate(timeout=60)
    finally:
        backend.release.set()
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 128 + sig, out
    assert "Traceback" not in out
    assert _versions(project) == before  # the uploaded version went, no delete marker
    api = AirflowApi(connect(project.env()), "dsai-dev-mwaa")
    assert core.DAG_ID not in {d["dag_id"] for d in api.dags()}
