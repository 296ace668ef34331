"""deploy / rollback / promote against the sandbox over real HTTP."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace

import pytest

from mwaadeps.deploy import apply as core
from mwaadeps.deploy import inspect as deploy_inspect
from mwaadeps.deploy import models as deploy_models
from mwaadeps.deploy import records as deploy_records
from mwaadeps.errors import PreflightError
from mwaadeps.progress import RecordingReporter

from .conftest import FAST, SECRET, Project, make_dist


def _versions(env: dict[str, object]) -> dict[str, object]:
    return {
        k: env.get(k)
        for k in (
            "RequirementsS3ObjectVersion",
            "PluginsS3ObjectVersion",
            "StartupScriptS3ObjectVersion",
        )
    }


def test_deploy_then_redeploy_unchanged(project: Project) -> None:
    result = core.deploy(project.env(), project.dist, FAST, RecordingReporter())
    assert result.ok and result.update_called and result.status == "AVAILABLE"
    assert [p.action for p in result.plan] == ["upload"] * 3
    env = project.environment()
    assert env["RequirementsS3Path"] == "requirements.txt"
    assert env["RequirementsS3ObjectVersion"] == result.plan[0].new_version
    assert env["StartupScriptS3ObjectVersion"] == result.plan[2].new_version
    calls = project.calls()
    assert calls["mwaa"]["UpdateEnvironment"] == 1
    # three artifacts, the deploy lock, the record (pending, then its outcome)
    assert calls["s3_object_puts"] == 3 + 1 + 2

    again = core.deploy(project.env(), project.dist, FAST)
    assert again.ok and not again.update_called
    assert [p.action for p in again.plan] == ["unchanged"] * 3
    assert project.calls()["mwaa"]["UpdateEnvironment"] == 1
    assert project.calls()["s3_object_puts"] == 6  # a no-op deploy writes nothing


def test_uploads_are_encrypted_and_checksummed(project: Project) -> None:
    result = core.deploy(project.env(), project.dist, FAST)
    s3 = project.client("s3")
    item = result.plan[1]
    head = s3.head_object(
        Bucket="dsai-airflow-dags",
        Key="plugins.zip",
        VersionId=item.new_version,
        ChecksumMode="ENABLED",
    )
    assert head["ServerSideEncryption"] == "aws:kms"
    assert head["Metadata"]["sha256"] == item.sha256
    assert head["ChecksumSHA256"]
    record = json.loads(
        s3.get_object(Bucket="dsai-airflow-dags", Key=result.record_key)["Body"].read()
    )
    assert record["outcome"] == "success"
    assert record["artifacts"]["plugins.zip"]["version"] == item.new_version
    assert record["manifest"]["pinned"] == {"requests": "2.32.3"}
    assert SECRET not in json.dumps(record)


def test_change_one_artifact_uploads_only_it(project: Project) -> None:
    first = core.deploy(project.env(), project.dist, FAST)
    make_dist(project.dist, requirements="requests==2.32.4\n")
    puts = project.calls()["s3_object_puts"]
    second = core.deploy(project.env(), project.dist, FAST)
    assert second.ok
    assert [p.action for p in second.plan] == ["upload", "unchanged", "unchanged"]
    assert project.calls()["s3_object_puts"] == puts + 1 + 1 + 2  # + lock + record twice
    env = project.environment()
    assert env["RequirementsS3ObjectVersion"] != first.plan[0].new_version
    assert env["PluginsS3ObjectVersion"] == first.plan[1].new_version
    assert env["StartupScriptS3ObjectVersion"] == first.plan[2].new_version


def test_dry_run_changes_nothing(project: Project) -> None:
    result = core.deploy(project.env(), project.dist, replace(FAST, dry_run=True))
    assert result.ok and result.dry_run and not result.update_called
    assert [p.action for p in result.plan] == ["upload"] * 3
    assert project.calls()["s3_object_puts"] == 0


def test_versioning_suspended_is_refused(project: Project) -> None:
    project.client("s3").put_bucket_versioning(
        Bucket="dsai-airflow-dags", VersioningConfiguration={"Status": "Suspended"}
    )
    with pytest.raises(PreflightError) as info:
        core.deploy(project.env(), project.dist, FAST)
    assert "versioning Suspended" in info.value.message
    assert "put-bucket-versioning" in (info.value.hint or "")
    assert project.calls()["s3_object_puts"] == 0
    assert "UpdateEnvironment" not in project.calls()["mwaa"]


def test_public_access_not_blocked_is_refused(project: Project) -> None:
    project.client("s3").delete_public_access_block(Bucket="dsai-airflow-dags")
    with pytest.raises(PreflightError, match="block public access"):
        core.deploy(project.env(), project.dist, FAST)
    assert project.calls()["s3_object_puts"] == 0


def test_wrong_bucket_is_refused(project: Project) -> None:
    with pytest.raises(PreflightError) as info:
        core.deploy(project.env("wrongbucket"), project.dist, FAST)
    assert "arn:aws:s3:::dsai-airflow-dags" in info.value.message
    assert "dsai-airflow-dags-prod" in info.value.message
    assert project.calls()["s3_object_puts"] == 0


@pytest.mark.parametrize("status", ["UPDATING", "CREATING", "ROLLING_BACK", "MAINTENANCE"])
def test_busy_environment_is_refused(project: Project, status: str) -> None:
    project.sandbox.set_status("dsai-dev-mwaa", status)
    with pytest.raises(PreflightError) as info:
        core.deploy(project.env(), project.dist, FAST)
    assert status in info.value.message
    assert info.value.hint
    assert project.calls()["s3_object_puts"] == 0


def test_disabled_kms_key_is_refused_before_upload(project: Project) -> None:
    kms = project.client("kms")
    key_id = kms.describe_key(KeyId="alias/dsai-airflow")["KeyMetadata"]["KeyId"]
    kms.disable_key(KeyId=key_id)
    with pytest.raises(PreflightError, match="Disabled"):
        core.deploy(project.env(), project.dist, FAST)
    assert project.calls()["s3_object_puts"] == 0


def test_upload_failing_half_way_never_updates(project: Project) -> None:
    project.sandbox.faults(fail_uploads_after=1)
    result = core.deploy(project.env(), project.dist, FAST)
    assert not result.ok and not result.update_called
    assert result.error is not None and result.error.code == "upload_failed"
    assert "UpdateEnvironment was not called" in result.error.message
    assert "plugins.zip" in result.error.message
    assert "UpdateEnvironment" not in project.calls()["mwaa"]
    env = project.environment()
    assert env["Status"] == "AVAILABLE"
    assert env.get("RequirementsS3Path") is None


def test_update_failing_reports_error_and_pip_lines(project: Project) -> None:
    assert core.deploy(project.env(), project.dist, FAST).ok
    before = _versions(project.environment())
    make_dist(project.dist, requirements="requests==99.0\n")
    project.sandbox.faults(
        fail_next_update={"code": "INCORRECT_CONFIGURATION", "message": "pip failed"}
    )
    result = core.deploy(project.env(), project.dist, FAST)
    assert not result.ok and result.update_called and result.status == "UPDATE_FAILED"
    assert result.error is not None and result.error.code == "update_failed"
    assert result.last_update_error == {
        "ErrorCode": "INCORRECT_CONFIGURATION",
        "ErrorMessage": "pip failed",
    }
    assert any("requests==99.0" in line for line in result.log_lines)
    assert any(deploy_models.PIP_FAILED in line for line in result.log_lines)
    assert _versions(project.environment()) == before  # MWAA rolled back


def test_available_but_pip_failed_fails_the_deploy(project: Project) -> None:
    project.sandbox.faults(pip_fail_next_update=True)
    result = core.deploy(project.env(), project.dist, FAST)
    assert result.status == "AVAILABLE"
    assert not result.ok and result.error is not None and result.error.code == "pip_failed"
    records = deploy_records.history(project.env())
    assert records[-1].outcome == "failed"


def test_no_wait_records_pending(project: Project) -> None:
    result = core.deploy(project.env(), project.dist, replace(FAST, wait=False))
    assert result.ok and result.update_called and result.status == "UPDATING"
    assert deploy_records.history(project.env())[-1].outcome == "pending"


def test_worker_replacement_is_sent(project: Project) -> None:
    core.deploy(project.env(), project.dist, replace(FAST, worker_replacement="graceful"))
    assert project.environment()["LastUpdate"]["WorkerReplacementStrategy"] == "GRACEFUL"


def test_big_file_goes_multipart(project: Project) -> None:
    big = project.dist / "plugins.zip"
    big.write_bytes(b"\x00" * (5 * 1024 * 1024 + 10))
    options = replace(FAST, multipart_threshold=1024 * 1024, part_size=5 * 1024 * 1024)
    result = core.deploy(project.env(), project.dist, options)
    assert result.ok
    head = project.client("s3").head_object(
        Bucket="dsai-airflow-dags", Key="plugins.zip", VersionId=result.plan[1].new_version
    )
    assert head["Metadata"]["sha256"] == hashlib.sha256(big.read_bytes()).hexdigest()
    assert not core.deploy(project.env(), project.dist, options).update_called


def test_throttling_is_retried(project: Project) -> None:
    project.sandbox.faults(throttle=2, throttle_s3=1)
    result = core.deploy(project.env(), project.dist, FAST)
    assert result.ok
    assert project.calls()["mwaa"]["Throttled"] == 2


def test_rollback_restores_earlier_versions(project: Project) -> None:
    first = core.deploy(project.env(), project.dist, FAST)
    make_dist(project.dist, requirements="requests==2.32.4\n", plugin="v2")
    second = core.deploy(project.env(), project.dist, FAST)
    assert second.ok and second.record_id == first.record_id + 1  # type: ignore[operator]
    puts = project.calls()["s3_object_puts"]
    back = core.rollback(project.env(), None, FAST)
    assert back.ok and back.update_called
    assert project.calls()["s3_object_puts"] == puts + 1 + 2  # lock + record, no upload
    env = project.environment()
    assert env["RequirementsS3ObjectVersion"] == first.plan[0].new_version
    assert env["PluginsS3ObjectVersion"] == first.plan[1].new_version
    record = deploy_records.history(project.env())[-1]
    assert record.data["action"] == "rollback" and record.data["rolled_back_to"] == first.record_id
    forward = core.rollback(project.env(), second.record_id, FAST)
    assert forward.ok
    assert project.environment()["PluginsS3ObjectVersion"] == second.plan[1].new_version


def test_rollback_to_unknown_record(project: Project) -> None:
    core.deploy(project.env(), project.dist, FAST)
    with pytest.raises(PreflightError, match="no deployment record 42"):
        core.rollback(project.env(), 42, FAST)


def test_promote_copies_exactly(project: Project) -> None:
    dev = core.deploy(project.env("dev"), project.dist, FAST)
    result = core.promote(project.env("dev"), project.env("prod"), FAST)
    assert result.ok and result.update_called
    assert [p.action for p in result.plan] == ["copy"] * 3
    s3 = project.client("s3")
    prod = project.environment("dsai-prod-mwaa")
    for item, spec in zip(dev.plan, deploy_models.ARTIFACTS, strict=True):
        src = s3.get_object(Bucket="dsai-airflow-dags", Key=item.key, VersionId=item.new_version)
        dst = s3.get_object(
            Bucket="dsai-airflow-dags-prod",
            Key=prod[spec.path_field],
            VersionId=prod[spec.version_field],
        )
        assert src["Body"].read() == dst["Body"].read()
        assert dst["Metadata"]["sha256"] == item.sha256
        assert dst["ServerSideEncryption"] == "aws:kms"
    record = deploy_records.history(project.env("prod"))[-1]
    assert record.data["promoted_from"] == {"environment": "dsai-dev-mwaa", "record": dev.record_id}
    assert record.data["manifest"]["pinned"] == {"requests": "2.32.3"}
    again = core.promote(project.env("dev"), project.env("prod"), FAST)
    assert again.ok and not again.update_called


def test_status_diff_logs(project: Project) -> None:
    core.deploy(project.env(), project.dist, FAST)
    report = deploy_inspect.status(project.env(), project.dist)
    assert report.status == "AVAILABLE" and report.in_sync
    make_dist(project.dist, requirements="requests==2.32.4\npandas==2.2.2\n")
    report = deploy_inspect.status(project.env(), project.dist)
    assert [a.state for a in report.artifacts] == ["differs", "in sync", "in sync"]
    delta = deploy_inspect.diff(project.env(), project.dist)
    assert delta.added == (("pandas", "2.2.2"),)
    assert delta.changed == (("requests", "2.32.3", "2.32.4"),)
    logs = deploy_inspect.logs(project.env())
    names = [s.name for s in logs.streams]
    assert any(n.startswith("requirements_install_ip-") for n in names)
    assert any(n.startswith("startup_script_execution_") for n in names)
    assert not logs.pip_failed
