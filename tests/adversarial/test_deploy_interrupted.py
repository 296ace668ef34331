"""Interrupted waits are recorded: a signal, throttling, a timeout or --no-wait leave the
deployment pending, and the next status / deploy / rollback settles it from MWAA's LastUpdate
and the install logs. Signals are sent to a real child `mwaadeps` once its output says the
update started; no sleeps."""

from __future__ import annotations

import json
import signal
from dataclasses import replace

import pytest

from deploy.conftest import FAST, Project, make_dist
from mwaadeps.deploy import apply as core
from mwaadeps.deploy import inspect as deploy_inspect
from mwaadeps.deploy import records as deploy_records

from .conftest import read_until, spawn

STARTED = "recorded as pending deployment"


def _mwaa_finishes(project: Project) -> None:
    """The emulator ends an update after a few GetEnvironment calls (no clock involved)."""
    for _ in range(3):
        status = project.environment()["Status"]
    assert status == "AVAILABLE"


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signal_during_the_wait_records_pending(deploy_project: Project, sig: int) -> None:
    deploy_project.sandbox.faults(stay_updating=True)
    proc = spawn(deploy_project, "deploy", "--env", "dev", MWAADEPS_POLL_INTERVAL="0.05")
    read_until(proc, STARTED)
    proc.send_signal(sig)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 128 + sig, out
    assert "Traceback" not in out
    assert signal.Signals(sig).name in out
    assert "recorded as pending deployment 1" in out
    assert "mwaadeps status --env dev" in out
    record = deploy_records.history(deploy_project.env())[-1]
    assert record.id == 1 and record.outcome == "pending"
    assert record.data["artifacts"]["requirements.txt"]["version"]
    assert (
        deploy_project.client("s3")
        .list_objects_v2(Bucket="dsai-airflow-dags", Prefix=".mwaadeps/lock")
        .get("KeyCount")
        == 0
    )

    deploy_project.sandbox.faults(stay_updating=False)
    _mwaa_finishes(deploy_project)
    status = json.loads(deploy_project.cli("status", "--env", "dev", "--json").stdout)
    assert status["last_record"]["id"] == 1
    assert status["last_record"]["outcome"] == "success"
    assert status["last_record"]["resolved_by"] == "status"
    assert deploy_records.history(deploy_project.env())[-1].outcome == "success"


def test_sigterm_json_output_names_what_was_started(deploy_project: Project) -> None:
    deploy_project.sandbox.faults(stay_updating=True)
    proc = spawn(deploy_project, "deploy", "--env", "dev", "--json", MWAADEPS_POLL_INTERVAL="0.05")
    # --json prints nothing until the end: the sandbox says when the update was accepted
    # (a signal right after it is held back until the pending record is written).
    assert deploy_project.sandbox.emulator.updated.wait(timeout=60)
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGTERM, out
    data = json.loads(out)
    assert data["ok"] is False and data["update_called"] is True
    assert data["error"]["code"] == "interrupted"
    assert data["interrupted"] == signal.SIGTERM
    assert data["record_id"] == 1 and data["started_at"]
    assert {p["artifact"] for p in data["plan"]} == {
        "requirements.txt",
        "plugins.zip",
        "startup.sh",
    }


@pytest.mark.parametrize("command", ["status", "deploy", "rollback"])
def test_next_command_resolves_a_pending_record(deploy_project: Project, command: str) -> None:
    env = deploy_project.env()
    assert core.deploy(env, deploy_project.dist, FAST).ok  # record 1, for rollback to use
    make_dist(deploy_project.dist, requirements="requests==2.32.4\n")
    deploy_project.sandbox.faults(pip_fail_next_update=True)
    started = core.deploy(env, deploy_project.dist, replace(FAST, wait=False))
    assert started.ok and started.record_id == 2
    assert deploy_records.history(env)[-1].outcome == "pending"
    _mwaa_finishes(deploy_project)
    if command == "status":
        deploy_inspect.status(env, deploy_project.dist)
    elif command == "deploy":
        again = core.deploy(env, deploy_project.dist, FAST)
        assert not again.ok and again.error is not None
        assert again.error.code == "unchanged_but_broken"
    else:
        back = core.rollback(env, None, FAST)
        assert back.ok and back.record_id == 3
        assert (
            back.plan[0].new_version
            == deploy_records.history(env)[0].versions()["requirements.txt"][1]
        )
    record = next(r for r in deploy_records.history(env) if r.id == 2)
    assert record.outcome == "failed"
    assert record.data["error"]["code"] == "pip_failed"
    assert record.data["resolved_by"] == command


def test_throttling_during_the_wait_records_pending(
    deploy_project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "2")
    deploy_project.sandbox.faults(throttle_after_update=50)
    result = core.deploy(deploy_project.env(), deploy_project.dist, FAST)
    assert not result.ok and result.update_called
    assert result.error is not None and result.error.code == "wait_lost"
    assert "Throttling" in result.error.message
    assert "recorded as pending deployment 1" in result.error.message
    assert deploy_records.history(deploy_project.env())[-1].outcome == "pending"
    deploy_project.sandbox.faults(throttle=0)
    _mwaa_finishes(deploy_project)
    report = deploy_inspect.status(deploy_project.env(), deploy_project.dist)
    assert report.last_record is not None and report.last_record["outcome"] == "success"


def test_a_pipe_does_not_turn_the_wait_off(deploy_project: Project) -> None:
    run = deploy_project.cli("deploy", "--env", "dev", "--json")  # stdout is a pipe
    assert run.returncode == 0, run.stdout + run.stderr
    data = json.loads(run.stdout)
    assert data["waited"] is True and data["status"] == "AVAILABLE"
    assert deploy_records.history(deploy_project.env())[-1].outcome == "success"


def test_timeout_reports_still_updating_with_its_own_exit_code(
    deploy_project: Project,
) -> None:
    deploy_project.sandbox.faults(stay_updating=True)
    run = deploy_project.cli("deploy", "--env", "dev", "--timeout", "0")
    out = run.stdout + run.stderr
    assert run.returncode == 75, out
    assert "still UPDATING" in out
    assert "failed" not in out.lower()
    assert deploy_records.history(deploy_project.env())[-1].outcome == "pending"
    data = json.loads(
        deploy_project.cli("deploy", "--env", "dev", "--timeout", "0", "--json").stdout
    )
    assert data["error"]["code"] == "preflight"  # still updating: a second deploy waits
    deploy_project.sandbox.faults(stay_updating=False)
    _mwaa_finishes(deploy_project)
    status = json.loads(deploy_project.cli("status", "--env", "dev", "--json").stdout)
    assert status["last_record"]["outcome"] == "success"


def test_sigterm_aborts_a_multipart_upload(deploy_project: Project) -> None:
    """No orphaned multipart upload: the child aborts it on SIGTERM and never updates."""
    big = deploy_project.dist / "plugins.zip"
    big.write_bytes(b"\0" * (17 * 1024 * 1024))  # above the 16 MB multipart threshold
    box = deploy_project.sandbox
    box.faults(hold_upload_parts=True)
    proc = spawn(deploy_project, "deploy", "--env", "dev")
    try:
        assert box.emulator.part_held.wait(timeout=60), "no part upload reached the sandbox"
        s3 = deploy_project.client("s3")
        assert s3.list_multipart_uploads(Bucket="dsai-airflow-dags").get("Uploads")
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=60)
    finally:
        box.faults(hold_upload_parts=False)
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 128 + signal.SIGTERM, out
    assert "Traceback" not in out and "was not updated" in out
    assert not s3.list_multipart_uploads(Bucket="dsai-airflow-dags").get("Uploads")
    assert "UpdateEnvironment" not in box.calls()["mwaa"]
    assert (
        s3.list_objects_v2(Bucket="dsai-airflow-dags", Prefix=".mwaadeps/lock").get("KeyCount") == 0
    )
