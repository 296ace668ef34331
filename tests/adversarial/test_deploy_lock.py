"""One deployer at a time: a lock object written with If-None-Match: *, refused before any
upload, taken over with --break-lock or after it expires, always released; and the
sandbox's conditional writes behave like S3's (412 PreconditionFailed, one winner)."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import replace
from typing import Any

import pytest
from botocore.exceptions import ClientError

from deploy.conftest import FAST, Project
from mwaadeps.deploy import apply as core
from mwaadeps.deploy import preflight as deploy_preflight
from mwaadeps.deploy import records as deploy_records
from mwaadeps.errors import LockedError

BUCKET = "dsai-airflow-dags"
LOCK = ".mwaadeps/lock.json"


def _hold_lock(project: Project, owner: str, expires_in: float) -> None:
    now = time.time()
    body = {
        "owner": owner,
        "created": "2026-12-03T07:00:00+00:00",
        "expires": "2026-12-03T09:00:00+00:00",
        "expires_epoch": now + expires_in,
    }
    project.client("s3").put_object(
        Bucket=BUCKET, Key=LOCK, Body=json.dumps(body).encode(), IfNoneMatch="*"
    )


def _lock_present(project: Project) -> bool:
    return bool(project.client("s3").list_objects_v2(Bucket=BUCKET, Prefix=LOCK).get("KeyCount"))


def test_a_second_deployer_is_refused_before_uploading(deploy_project: Project) -> None:
    _hold_lock(deploy_project, "arn:aws:iam::123456789012:user/alice on laptop", 3600)
    with pytest.raises(LockedError) as info:
        core.deploy(deploy_project.env(), deploy_project.dist, FAST)
    assert "user/alice on laptop" in info.value.message
    assert "expires at 2026-12-03T09:00:00+00:00" in info.value.message
    assert "--break-lock" in (info.value.hint or "")
    keys = [
        o["Key"] for o in deploy_project.client("s3").list_objects_v2(Bucket=BUCKET)["Contents"]
    ]
    assert sorted(keys) == [LOCK, "dags/.keep"]  # nothing uploaded, no record
    assert "UpdateEnvironment" not in deploy_project.calls()["mwaa"]

    run = deploy_project.cli("deploy", "--env", "dev", "--json")
    assert run.returncode == 5
    error = json.loads(run.stdout)["error"]
    assert error["code"] == "locked" and "alice" in error["message"]


def test_break_lock_takes_over_and_releases(deploy_project: Project) -> None:
    _hold_lock(deploy_project, "bob on a dead CI runner", 3600)
    run = deploy_project.cli("deploy", "--env", "dev", "--break-lock")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Taking over the deploy lock" in run.stderr and "bob" in run.stderr
    assert not _lock_present(deploy_project)
    assert deploy_records.history(deploy_project.env())[-1].outcome == "success"


def test_an_expired_lock_is_taken_over(deploy_project: Project) -> None:
    _hold_lock(deploy_project, "carol", -1)
    result = core.deploy(deploy_project.env(), deploy_project.dist, FAST)
    assert result.ok and result.update_called
    assert not _lock_present(deploy_project)


def test_the_lock_is_held_during_the_deploy_and_released_after_a_failure(
    deploy_project: Project,
) -> None:
    deploy_project.sandbox.faults(fail_uploads_after=1)
    result = core.deploy(deploy_project.env(), deploy_project.dist, FAST)
    assert result.error is not None and result.error.code == "upload_failed"
    assert not _lock_present(deploy_project)
    deploy_project.sandbox.faults(fail_uploads_after=None, stay_updating=True)
    started = core.deploy(deploy_project.env(), deploy_project.dist, replace(FAST, timeout=0))
    assert started.error is not None and started.error.code == "still_updating"
    assert not _lock_present(deploy_project)  # MWAA's UPDATING guards from here on


def test_a_dry_run_takes_no_lock(deploy_project: Project) -> None:
    _hold_lock(deploy_project, "dave", 3600)
    assert core.deploy(deploy_project.env(), deploy_project.dist, replace(FAST, dry_run=True)).ok


def test_sandbox_conditional_put_is_s3s(deploy_project: Project) -> None:
    s3 = deploy_project.client("s3")
    first = s3.put_object(Bucket=BUCKET, Key="cond/x", Body=b"1", IfNoneMatch="*")
    with pytest.raises(ClientError) as info:
        s3.put_object(Bucket=BUCKET, Key="cond/x", Body=b"2", IfNoneMatch="*")
    assert info.value.response["Error"]["Code"] == "PreconditionFailed"
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 412
    assert s3.get_object(Bucket=BUCKET, Key="cond/x")["Body"].read() == b"1"
    # deleting the current version frees the key again (versioned bucket)
    s3.delete_object(Bucket=BUCKET, Key="cond/x", VersionId=first["VersionId"])
    s3.put_object(Bucket=BUCKET, Key="cond/x", Body=b"3", IfNoneMatch="*")


def test_sandbox_conditional_puts_have_one_winner(deploy_project: Project) -> None:
    s3 = deploy_project.client("s3")
    writers = 8
    barrier = threading.Barrier(writers)
    results: list[Any] = []

    def write(n: int) -> None:
        barrier.wait()
        try:
            s3.put_object(Bucket=BUCKET, Key="cond/race", Body=str(n).encode(), IfNoneMatch="*")
            results.append(n)
        except ClientError as exc:
            results.append(exc.response["Error"]["Code"])

    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    winners = [r for r in results if isinstance(r, int)]
    assert len(winners) == 1
    assert results.count("PreconditionFailed") == writers - 1
    body = s3.get_object(Bucket=BUCKET, Key="cond/race")["Body"].read()
    assert body == str(winners[0]).encode()


def test_two_deployers_racing_for_the_lock_one_wins(deploy_project: Project) -> None:
    pre = deploy_preflight.preflight(deploy_project.env())
    barrier = threading.Barrier(2)
    outcomes: list[Any] = []

    def take() -> None:
        barrier.wait()
        try:
            outcomes.append(deploy_records.acquire_lock(pre, "deploy", 600))
        except LockedError as exc:
            outcomes.append(exc)

    threads = [threading.Thread(target=take) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    won = [o for o in outcomes if isinstance(o, deploy_records.DeployLock)]
    lost = [o for o in outcomes if isinstance(o, LockedError)]
    assert len(won) == 1 and len(lost) == 1
    assert won[0].owner in lost[0].message
    deploy_records.release_lock(pre, won[0])
    assert not _lock_present(deploy_project)
