"""Never green on a broken environment: an unchanged bundle after "AVAILABLE but pip failed"
fails (or redeploys with --force), and promote refuses a failed or unverified source."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from deploy.conftest import FAST, Project
from mwaadeps.deploy import apply as core
from mwaadeps.deploy import models as deploy_models
from mwaadeps.deploy import records as deploy_records
from mwaadeps.errors import PreflightError
from mwaadeps.progress import RecordingReporter


def _pip_failed_deploy(project: Project) -> deploy_models.DeployResult:
    project.sandbox.faults(pip_fail_next_update=True)
    failed = core.deploy(project.env(), project.dist, FAST)
    assert failed.status == "AVAILABLE" and failed.error is not None
    assert failed.error.code == "pip_failed"
    return failed


def test_retry_of_the_same_bundle_after_pip_failed_is_not_green(
    deploy_project: Project,
) -> None:
    _pip_failed_deploy(deploy_project)
    updates = deploy_project.calls()["mwaa"]["UpdateEnvironment"]
    again = core.deploy(deploy_project.env(), deploy_project.dist, FAST)
    assert not again.ok and not again.update_called
    assert again.error is not None and again.error.code == "unchanged_but_broken"
    assert "--force" in (again.error.hint or "")
    assert deploy_project.calls()["mwaa"]["UpdateEnvironment"] == updates
    human = deploy_project.cli("deploy", "--env", "dev")
    assert human.returncode != 0
    assert "Nothing changed" not in human.stdout + human.stderr
    assert "broken" in human.stderr


def test_force_redeploys_the_same_versions(deploy_project: Project) -> None:
    failed = _pip_failed_deploy(deploy_project)
    run = deploy_project.cli("deploy", "--env", "dev", "--force", "--json")
    assert run.returncode == 0, run.stdout + run.stderr
    data = json.loads(run.stdout)
    assert data["ok"] is True and data["update_called"] is True
    assert [p["action"] for p in data["plan"]] == ["redeploy"] * 3
    assert [p["new_version"] for p in data["plan"]] == [p.new_version for p in failed.plan]
    assert deploy_records.history(deploy_project.env())[-1].outcome == "success"
    assert core.deploy(deploy_project.env(), deploy_project.dist, FAST).ok  # healthy again


def test_live_logs_count_even_without_a_record(deploy_project: Project) -> None:
    failed = _pip_failed_deploy(deploy_project)
    assert failed.record_key is not None
    deploy_project.client("s3").delete_object(Bucket="dsai-airflow-dags", Key=failed.record_key)
    assert deploy_records.history(deploy_project.env()) == ()
    again = core.deploy(deploy_project.env(), deploy_project.dist, FAST)
    assert not again.ok and again.error is not None
    assert "pip failed" in again.error.message


def test_promote_refuses_a_source_whose_deployment_failed(deploy_project: Project) -> None:
    _pip_failed_deploy(deploy_project)
    with pytest.raises(PreflightError) as info:
        core.promote(deploy_project.env("dev"), deploy_project.env("prod"), FAST)
    assert "failed" in info.value.message and "dsai-dev-mwaa" in info.value.message
    assert deploy_project.environment("dsai-prod-mwaa").get("RequirementsS3Path") is None


def test_promote_refuses_an_unverified_source(deploy_project: Project) -> None:
    """What dev runs was put there by hand: no record vouches for it."""
    s3, mwaa = deploy_project.client("s3"), deploy_project.client("mwaa")
    version = s3.put_object(
        Bucket="dsai-airflow-dags", Key="requirements.txt", Body=b"requests==2.32.3\n"
    )["VersionId"]
    mwaa.update_environment(
        Name="dsai-dev-mwaa",
        RequirementsS3Path="requirements.txt",
        RequirementsS3ObjectVersion=version,
    )
    for _ in range(3):
        status = deploy_project.environment()["Status"]
    assert status == "AVAILABLE"
    with pytest.raises(PreflightError) as info:
        core.promote(deploy_project.env("dev"), deploy_project.env("prod"), FAST)
    assert "unverified" in info.value.message
    assert deploy_project.environment("dsai-prod-mwaa").get("RequirementsS3Path") is None


def test_promote_of_a_verified_source_still_works(deploy_project: Project) -> None:
    assert core.deploy(deploy_project.env(), deploy_project.dist, FAST).ok
    rep = RecordingReporter()
    result = core.promote(deploy_project.env("dev"), deploy_project.env("prod"), replace(FAST), rep)
    assert result.ok and result.update_called


def test_status_says_what_runs_is_broken(deploy_project: Project) -> None:
    _pip_failed_deploy(deploy_project)
    data = json.loads(deploy_project.cli("status", "--env", "dev", "--json").stdout)
    assert data["health"]["state"] == "failed" and data["health"]["record"] == 1
    assert "pip failed" in data["health"]["reason"]
    human = deploy_project.cli("status", "--env", "dev")
    assert human.returncode == 0 and "runs: failed" in human.stderr
