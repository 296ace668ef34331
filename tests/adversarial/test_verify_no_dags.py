"""A verification that verified nothing is not green: when the environment's DagS3Path has
no DAG files but the project's own dags folder has some, `verify` and `deploy --verify`
fail (the DAGs were expected), and the deployment is not promotable. Without a local dags
folder, an empty DagS3Path still passes (an environment with no DAGs yet)."""

from __future__ import annotations

import json
from pathlib import Path

from deploy.conftest import FAST, Project
from mwaadeps.deploy import apply as deploy_apply
from mwaadeps.deploy import records as deploy_records
from mwaadeps.deploy.aws import connect

SMOKE = b"""\
from airflow import DAG

with DAG(dag_id="smoke", schedule=None) as dag:
    pass
"""


def _local_dags(project: Project) -> Path:
    """The project's dags folder, written after seeding: the bucket does not have it."""
    folder = project.root / "dags"
    (folder / "team").mkdir(parents=True)
    (folder / "team" / "smoke.py").write_bytes(SMOKE)
    return folder


def _health(project: Project) -> str:
    env = project.env()
    records = deploy_records.history(env)
    return deploy_apply.running_health(connect(env), env, project.environment(), records).state


def test_verify_with_dags_expected_but_none_deployed_fails(deploy_project: Project) -> None:
    assert deploy_apply.deploy(deploy_project.env(), deploy_project.dist, FAST).ok
    _local_dags(deploy_project)
    run = deploy_project.cli("verify", "--env", "dev", "--json")
    assert run.returncode == 1, run.stdout + run.stderr
    data = json.loads(run.stdout)
    assert data["ok"] is False and data["verdict"] == "failed"
    assert data["files"] == [] and "team/smoke.py" in data["reason"]
    assert data["error"]["code"] == "verify_failed" and "dags" in data["error"]["hint"]
    assert _health(deploy_project) != "healthy"
    text = deploy_project.cli("verify", "--env", "dev", "--no-record")
    assert text.returncode == 1 and "Traceback" not in text.stdout + text.stderr


def test_deploy_verify_with_dags_expected_but_none_deployed_is_not_green(
    deploy_project: Project,
) -> None:
    _local_dags(deploy_project)
    run = deploy_project.cli("deploy", "--env", "dev", "--verify", "--json")
    assert run.returncode != 0, run.stdout + run.stderr
    data = json.loads(run.stdout)
    assert data["ok"] is False and data["error"]["code"] == "verify_failed"
    promoted = deploy_project.cli("promote", "--from", "dev", "--to", "prod", "--json")
    assert promoted.returncode != 0, promoted.stdout


def test_no_local_dags_and_none_deployed_still_passes(deploy_project: Project) -> None:
    assert deploy_apply.deploy(deploy_project.env(), deploy_project.dist, FAST).ok
    run = deploy_project.cli("verify", "--env", "dev", "--json")
    assert run.returncode == 0, run.stdout + run.stderr
    assert json.loads(run.stdout)["warnings"]  # "No DAG files under ..."
