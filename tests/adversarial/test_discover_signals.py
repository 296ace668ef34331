"""An interrupted discover leaves nothing behind: SIGINT or SIGTERM sent to a real child
`mwaadeps discover` while its discovery run is held by the backend still deletes the object
version it uploaded, the Variable and the DAG. The run is held on an event (no sleeps)."""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from deploy.conftest import Project, new_project, point_at_sandbox
from mwaadeps.deploy import discover as core
from mwaadeps.deploy.aws import connect
from mwaadeps.deploy.restapi import AirflowApi
from mwaadeps.sandbox.server import Sandbox

from .conftest import read_until, spawn
from .heldairflow import HeldRuns, held_sandbox

BUCKET = "dsai-airflow-dags"


@pytest.fixture(scope="module")
def held() -> Iterator[tuple[Sandbox, HeldRuns]]:
    yield from held_sandbox()


def _versions(project: Project) -> list[tuple[str, str]]:
    listed = project.client("s3").list_object_versions(Bucket=BUCKET, Prefix="dags/")
    rows = [(v["Key"], v["VersionId"]) for v in listed.get("Versions", [])]
    rows += [(d["Key"], "delete-marker") for d in listed.get("DeleteMarkers", [])]
    return sorted(rows)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_during_the_run_still_cleans_up(
    held: tuple[Sandbox, HeldRuns],
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


def test_an_interrupted_discover_json_is_one_error_document(
    held: tuple[Sandbox, HeldRuns], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    box, backend = held
    backend.entered.clear()
    backend.release.clear()
    point_at_sandbox(box, monkeypatch, tmp_path)
    project = new_project(tmp_path, box)
    before = _versions(project)
    proc = spawn(project, "discover", "--env", "dev", "--json", MWAADEPS_POLL_INTERVAL="0.05")
    try:
        assert backend.entered.wait(timeout=60), "the discovery run never started"
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=60)
    finally:
        backend.release.set()
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 128 + signal.SIGTERM, out
    data = json.loads(out)
    assert data["ok"] is False and data["error"]["code"] == "interrupted"
    assert "SIGTERM" in data["error"]["message"] and "removed" in data["error"]["message"]
    assert _versions(project) == before


def test_a_second_signal_during_the_cleanup_does_not_cut_it_short(
    held: tuple[Sandbox, HeldRuns], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    box, backend = held
    backend.entered.clear()
    backend.release.clear()
    point_at_sandbox(box, monkeypatch, tmp_path)
    project = new_project(tmp_path, box)
    before = _versions(project)
    box.faults(hold_rest_api="DELETE /variables/")  # the cleanup's first call waits
    proc = spawn(project, "discover", "--env", "dev", MWAADEPS_POLL_INTERVAL="0.05")
    try:
        assert backend.entered.wait(timeout=60), "the discovery run never started"
        proc.send_signal(signal.SIGTERM)
        assert box.emulator.rest_held.wait(timeout=60), "the cleanup never started"
        proc.send_signal(signal.SIGTERM)  # impatient: again, while the cleanup runs
        box.faults(hold_rest_api=None)
        out, _ = proc.communicate(timeout=60)
    finally:
        box.faults(hold_rest_api=None)
        backend.release.set()
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 128 + signal.SIGTERM, out
    assert "Traceback" not in out
    assert _versions(project) == before  # the cleanup went on to delete the version
    api = AirflowApi(connect(project.env()), "dsai-dev-mwaa")
    assert core.DAG_ID not in {d["dag_id"] for d in api.dags()}
