"""A verification that cannot run is never green: InvokeRestApi refused (AccessDenied, an
Airflow 403 or 503, throttling) makes `verify` and `deploy --verify` exit non-zero with the
one --json error shape, no traceback, and the deployment is not promotable. The refusals are
injected by the sandbox's fail_rest_api fault; everything else is real (moto + emulator)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from deploy.conftest import FAST, SECRET, Project
from mwaadeps.deploy import apply as deploy_apply
from mwaadeps.deploy import records as deploy_records
from mwaadeps.deploy.aws import connect

SMOKE = b"""\
import pendulum
from airflow import DAG
from airflow.operators.empty import EmptyOperator

with DAG(dag_id="smoke", start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), schedule=None,
         catchup=False) as dag:
    EmptyOperator(task_id="noop")
"""
REFUSALS = [
    "AccessDeniedException",
    "ThrottlingException",
    "RestApiServerException",
    "RestApiClientException",
]


def _with_a_dag(project: Project) -> None:
    project.client("s3").put_object(Bucket="dsai-airflow-dags", Key="dags/smoke.py", Body=SMOKE)


def _one_error(stdout: str) -> dict[str, Any]:
    assert SECRET not in stdout  # the sandbox's AWS secret key never shows
    data = json.loads(stdout)  # exactly one JSON document
    assert data["ok"] is False
    error = data["error"]
    assert set(error) >= {"code", "message", "hint"} and error["message"]
    return dict(data)


def _health(project: Project) -> str:
    env = project.env()
    records = deploy_records.history(env)
    found = deploy_apply.running_health(connect(env), env, project.environment(), records)
    return found.state


@pytest.fixture
def project(deploy_project: Project, monkeypatch: pytest.MonkeyPatch) -> Project:
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")  # a throttled call fails at once
    _with_a_dag(deploy_project)
    return deploy_project


@pytest.mark.parametrize("code", REFUSALS)
def test_verify_that_cannot_call_airflow_is_not_green(project: Project, code: str) -> None:
    assert deploy_apply.deploy(project.env(), project.dist, FAST).ok
    project.sandbox.faults(fail_rest_api={"code": code})
    run = project.cli("verify", "--env", "dev", "--json")
    assert run.returncode != 0, run.stdout
    assert "Traceback" not in run.stdout + run.stderr
    data = _one_error(run.stdout)
    assert data["verdict"] is None
    text = project.cli("verify", "--env", "dev")
    assert text.returncode == run.returncode
    assert "Traceback" not in text.stdout + text.stderr and "passed" not in text.stdout


@pytest.mark.parametrize("code", REFUSALS)
def test_deploy_verify_that_cannot_call_airflow_is_not_green(project: Project, code: str) -> None:
    project.sandbox.faults(fail_rest_api={"code": code})
    run = project.cli("deploy", "--env", "dev", "--verify", "--json")
    assert run.returncode != 0, run.stdout
    assert "Traceback" not in run.stdout + run.stderr
    data = _one_error(run.stdout)
    assert data["error"]["code"] == "verify_error"
    assert _health(project) != "healthy"
    project.sandbox.faults(fail_rest_api=None)
    promoted = project.cli("promote", "--from", "dev", "--to", "prod", "--json")
    assert promoted.returncode != 0, promoted.stdout
    assert "verif" in _one_error(promoted.stdout)["error"]["message"]


def test_a_trigger_refused_by_airflow_is_not_green_and_the_dag_stays_paused(
    project: Project,
) -> None:
    assert deploy_apply.deploy(project.env(), project.dist, FAST).ok
    assert project.cli("verify", "--env", "dev", "--no-record").returncode == 0
    # a Viewer may read the DAGs (the two GETs) but not unpause or trigger
    project.sandbox.faults(fail_rest_api={"code": "RestApiClientException", "after": 2})
    run = project.cli("verify", "--env", "dev", "--trigger", "smoke", "--json")
    assert run.returncode != 0, run.stdout
    assert "403" in _one_error(run.stdout)["error"]["message"]
    project.sandbox.faults(fail_rest_api=None)
    from mwaadeps.deploy.restapi import AirflowApi

    assert AirflowApi(connect(project.env()), "dsai-dev-mwaa").dag("smoke")["is_paused"] is True
