"""An interrupted `verify --trigger` pauses again the DAG it unpaused: SIGINT or SIGTERM is
sent to a real child while its smoke run is held by the backend (no sleeps)."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from deploy.conftest import FAST, new_project, point_at_sandbox
from mwaadeps.deploy import apply as deploy_apply
from mwaadeps.deploy import records as deploy_records
from mwaadeps.deploy.aws import connect
from mwaadeps.deploy.restapi import AirflowApi
from mwaadeps.sandbox.server import Sandbox

from .conftest import read_until, spawn
from .heldairflow import HeldRuns, held_sandbox

SMOKE = b"""\
import pendulum
from airflow import DAG
from airflow.operators.empty import EmptyOperator

with DAG(dag_id="smoke", start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), schedule=None,
         catchup=False) as dag:
    EmptyOperator(task_id="noop")
"""


@pytest.fixture(scope="module")
def held() -> Iterator[tuple[Sandbox, HeldRuns]]:
    yield from held_sandbox()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_during_the_smoke_run_pauses_the_dag_again(
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
    project.client("s3").put_object(Bucket="dsai-airflow-dags", Key="dags/smoke.py", Body=SMOKE)
    assert deploy_apply.deploy(project.env(), project.dist, FAST).ok
    api = AirflowApi(connect(project.env()), "dsai-dev-mwaa")
    assert api.dag("smoke")["is_paused"] is True
    proc = spawn(
        project, "verify", "--env", "dev", "--trigger", "smoke", MWAADEPS_POLL_INTERVAL="0.05"
    )
    try:
        read_until(proc, "Triggering smoke")
        assert backend.entered.wait(timeout=60), "the smoke run never started"
        proc.send_signal(sig)
        out, _ = proc.communicate(timeout=60)
    finally:
        backend.release.set()
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 128 + sig, out
    assert "Traceback" not in out
    assert api.dag("smoke")["is_paused"] is True, out


def test_an_interrupted_deploy_verify_leaves_the_deployment_unverified(
    held: tuple[Sandbox, HeldRuns], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    box, backend = held
    backend.entered.clear()
    backend.release.clear()
    point_at_sandbox(box, monkeypatch, tmp_path)
    project = new_project(tmp_path, box)
    project.client("s3").put_object(Bucket="dsai-airflow-dags", Key="dags/smoke.py", Body=SMOKE)
    proc = spawn(
        project,
        "deploy",
        "--env",
        "dev",
        "--verify",
        "--trigger",
        "smoke",
        MWAADEPS_POLL_INTERVAL="0.05",
    )
    try:
        read_until(proc, "Triggering smoke")
        assert backend.entered.wait(timeout=60), "the smoke run never started"
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=60)
    finally:
        backend.release.set()
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 128 + signal.SIGTERM, out
    assert "Traceback" not in out
    env = project.env()
    records = deploy_records.history(env)
    health = deploy_apply.running_health(connect(env), env, project.environment(), records)
    assert health.state == "unverified", health.reason
    promoted = project.cli("promote", "--from", "dev", "--to", "prod")
    assert promoted.returncode != 0, promoted.stdout


def test_a_second_signal_does_not_cut_the_pause_short(
    held: tuple[Sandbox, HeldRuns], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    box, backend = held
    backend.entered.clear()
    backend.release.clear()
    point_at_sandbox(box, monkeypatch, tmp_path)
    project = new_project(tmp_path, box)
    project.client("s3").put_object(Bucket="dsai-airflow-dags", Key="dags/smoke.py", Body=SMOKE)
    assert deploy_apply.deploy(project.env(), project.dist, FAST).ok
    api = AirflowApi(connect(project.env()), "dsai-dev-mwaa")
    assert api.dag("smoke")["is_paused"] is True
    proc = spawn(
        project, "verify", "--env", "dev", "--trigger", "smoke", MWAADEPS_POLL_INTERVAL="0.05"
    )
    try:
        assert backend.entered.wait(timeout=60), "the smoke run never started"
        box.faults(hold_rest_api="PATCH /dags/smoke")  # unpaused already: the pause waits
        proc.send_signal(signal.SIGTERM)
        assert box.emulator.rest_held.wait(timeout=60), "the DAG was not paused again"
        proc.send_signal(signal.SIGTERM)
        box.faults(hold_rest_api=None)
        out, _ = proc.communicate(timeout=60)
    finally:
        box.faults(hold_rest_api=None)
        backend.release.set()
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 128 + signal.SIGTERM, out
    assert "Traceback" not in out
    assert api.dag("smoke")["is_paused"] is True, out
