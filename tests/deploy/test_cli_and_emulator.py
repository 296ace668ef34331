"""The CLI contract (exit codes, --json, no tracebacks, no secrets) and the emulator's wire
protocol, all over HTTP against the sandbox."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from mwaadeps.sandbox.server import Sandbox

from .conftest import REGION, SECRET, Project, make_dist


def _clean(out: str) -> None:
    assert "Traceback" not in out
    assert SECRET not in out


def test_cli_deploy_json_then_unchanged(project: Project) -> None:
    run = project.cli("deploy", "--env", "dev", "--wait", "--json")
    _clean(run.stdout + run.stderr)
    assert run.returncode == 0, run.stderr
    data = json.loads(run.stdout)
    assert data["ok"] is True and data["update_called"] is True
    assert data["environment"] == "dsai-dev-mwaa" and data["status"] == "AVAILABLE"
    assert data["error"] is None
    assert {p["artifact"]: p["action"] for p in data["plan"]} == {
        "requirements.txt": "upload",
        "plugins.zip": "upload",
        "startup.sh": "upload",
    }
    for item in data["plan"]:
        assert set(item) >= {"artifact", "action", "sha256", "old_version", "new_version"}
    again = json.loads(project.cli("deploy", "--env", "dev", "--json").stdout)
    assert again["update_called"] is False
    assert [p["action"] for p in again["plan"]] == ["unchanged"] * 3
    human = project.cli("deploy", "--env", "dev")
    assert human.returncode == 0 and "Nothing changed" in human.stdout


def test_cli_update_failure_exit_code_and_lines(project: Project) -> None:
    assert project.cli("deploy", "--env", "dev", "--wait").returncode == 0
    make_dist(project.dist, requirements="requests==99.0\n")
    project.sandbox.faults(
        fail_next_update={
            "code": "INCORRECT_CONFIGURATION",
            "message": "requirements failed to install",
        }
    )
    run = project.cli("deploy", "--env", "dev", "--wait")
    out = run.stdout + run.stderr
    _clean(out)
    assert run.returncode != 0
    assert "requirements failed to install" in out
    assert "No matching distribution found for requests==99.0" in out
    assert "pip installation exited with a non-zero error code" in out
    assert "rolled back" in out


def test_cli_pip_failed_json(project: Project) -> None:
    project.sandbox.faults(pip_fail_next_update=True)
    run = project.cli("deploy", "--env", "dev", "--wait", "--json")
    _clean(run.stdout + run.stderr)
    assert run.returncode != 0
    data = json.loads(run.stdout)
    assert data["ok"] is False and data["status"] == "AVAILABLE"
    assert data["error"]["code"] == "pip_failed"
    logs = project.cli("logs", "--env", "dev", "--errors")
    assert logs.returncode != 0 and "pip installation exited" in logs.stdout
    logs = project.cli("logs", "--env", "dev", "--json")  # the same verdict, as JSON
    assert logs.returncode == 5
    data = json.loads(logs.stdout)
    assert data["ok"] is False and data["error"]["code"] == "deploy_failed"
    assert data["pip_failed"] is True


def test_cli_upload_failure_json(project: Project) -> None:
    project.sandbox.faults(fail_uploads_after=2)
    run = project.cli("deploy", "--env", "dev", "--json")
    _clean(run.stdout + run.stderr)
    data = json.loads(run.stdout)
    assert run.returncode != 0
    assert data["ok"] is False and data["update_called"] is False
    assert data["error"]["code"] == "upload_failed"
    assert "UpdateEnvironment" not in project.calls()["mwaa"]


def test_cli_preflight_refusal_json(project: Project) -> None:
    project.sandbox.set_status("dsai-dev-mwaa", "UPDATING")
    run = project.cli("deploy", "--env", "dev", "--json")
    _clean(run.stdout + run.stderr)
    data = json.loads(run.stdout)
    assert run.returncode == 5
    assert data == {
        "ok": False,
        "environment": "dsai-dev-mwaa",
        "plan": [],
        "update_called": False,
        "status": None,
        "error": data["error"],
    }
    assert data["error"]["code"] == "preflight" and "UPDATING" in data["error"]["message"]
    human = project.cli("deploy", "--env", "dev")
    assert human.returncode == 5 and "update is already in progress" in human.stderr


def test_cli_no_credentials(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    for args in (["deploy", "--env", "dev"], ["status", "--env", "dev"]):
        run = project.cli(*args)
        _clean(run.stdout + run.stderr)
        assert run.returncode == 5
        assert "No AWS credentials" in run.stderr
        assert "AWS_PROFILE" in run.stderr
    run = project.cli("deploy", "--env", "dev", "--json")
    assert json.loads(run.stdout)["error"]["code"] == "preflight"
    assert project.calls()["s3_object_puts"] == 0


def test_cli_unreachable_endpoint(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    run = project.cli("status", "--env", "dev")
    _clean(run.stdout + run.stderr)
    assert run.returncode == 5 and "Cannot reach the AWS endpoint" in run.stderr


def test_cli_status_diff_history_rollback(project: Project) -> None:
    assert project.cli("deploy", "--env", "dev", "--wait").returncode == 0
    make_dist(project.dist, requirements="requests==2.32.4\n")
    assert project.cli("deploy", "--env", "dev", "--wait").returncode == 0
    status = json.loads(project.cli("status", "--env", "dev", "--json").stdout)
    assert status["status"] == "AVAILABLE" and status["in_sync"] is True
    make_dist(project.dist, requirements="requests==2.32.5\n")
    diff = json.loads(project.cli("diff", "--env", "dev", "--json").stdout)
    assert diff["changed"] == [{"name": "requests", "old": "2.32.4", "new": "2.32.5"}]
    history = json.loads(project.cli("history", "--env", "dev", "--json").stdout)
    assert [r["id"] for r in history["records"]] == [1, 2]
    run = project.cli("rollback", "--env", "dev", "--to", "1", "--wait", "--json")
    assert run.returncode == 0, run.stdout + run.stderr
    data = json.loads(run.stdout)
    assert data["action"] == "rollback" and data["ok"] is True
    env = project.environment()
    assert (
        env["RequirementsS3ObjectVersion"]
        == history["records"][0]["artifacts"]["requirements.txt"]["version"]
    )


def test_cli_promote(project: Project) -> None:
    assert project.cli("deploy", "--env", "dev", "--wait").returncode == 0
    run = project.cli("promote", "--from", "dev", "--to", "prod", "--wait", "--json")
    assert run.returncode == 0, run.stdout + run.stderr
    data = json.loads(run.stdout)
    assert data["environment"] == "dsai-prod-mwaa" and data["update_called"] is True
    assert project.environment("dsai-prod-mwaa")["Status"] == "AVAILABLE"


# -- the emulator's wire protocol ----------------------------------------------------------


def test_emulator_errors_follow_the_mwaa_protocol(project: Project) -> None:
    mwaa = project.client("mwaa")
    with pytest.raises(ClientError) as info:
        mwaa.get_environment(Name="missing-env")
    assert info.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    with pytest.raises(ClientError) as info:
        mwaa.update_environment(
            Name="dsai-dev-mwaa",
            RequirementsS3Path="requirements.txt",
            RequirementsS3ObjectVersion="no-such-version",
        )
    assert info.value.response["Error"]["Code"] == "ValidationException"
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert "no-such-version" in info.value.response["Error"]["Message"]
    assert project.environment()["Status"] == "AVAILABLE"


def test_emulator_list_and_pagination(project: Project) -> None:
    mwaa = project.client("mwaa")
    assert mwaa.list_environments()["Environments"] == ["dsai-dev-mwaa", "dsai-prod-mwaa"]
    page = mwaa.list_environments(MaxResults=1)
    assert page["Environments"] == ["dsai-dev-mwaa"] and page["NextToken"]
    names = [
        n
        for p in mwaa.get_paginator("list_environments").paginate(PaginationConfig={"PageSize": 1})
        for n in p["Environments"]
    ]
    assert names == ["dsai-dev-mwaa", "dsai-prod-mwaa"]


def test_emulator_stay_updating_and_raw_headers(project: Project, sandbox: Sandbox) -> None:
    project.sandbox.faults(stay_updating=True)
    s3 = project.client("s3")
    version = s3.put_object(Bucket="dsai-airflow-dags", Key="requirements.txt", Body=b"x==1\n")[
        "VersionId"
    ]
    mwaa = project.client("mwaa")
    mwaa.update_environment(
        Name="dsai-dev-mwaa",
        RequirementsS3Path="requirements.txt",
        RequirementsS3ObjectVersion=version,
    )
    for _ in range(5):
        assert project.environment()["Status"] == "UPDATING"
    project.sandbox.faults(stay_updating=False, throttle=1)
    no_retry = boto3.client(
        "mwaa",
        region_name=REGION,
        endpoint_url=sandbox.url,
        aws_access_key_id="x",
        aws_secret_access_key="y",
        config=Config(
            inject_host_prefix=False, retries={"mode": "standard", "total_max_attempts": 1}
        ),
    )
    with pytest.raises(ClientError) as info:
        no_retry.get_environment(Name="dsai-dev-mwaa")
    assert info.value.response["Error"]["Code"] == "ThrottlingException"
    assert info.value.response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-errortype"].startswith(
        "ThrottlingException"
    )
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 429
    for _ in range(3):
        status = project.environment()["Status"]
    assert status == "AVAILABLE"
    assert project.environment()["RequirementsS3ObjectVersion"] == version


def test_control_api_rejects_unknown_faults(sandbox: Sandbox) -> None:
    request = urllib.request.Request(
        f"{sandbox.url}/_sandbox/faults", method="POST", data=b'{"explode": true}'
    )
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(request, timeout=5)
    assert info.value.code == 400
    assert "fail_next_update" in json.loads(info.value.read())["known"]
