"""Deployment records: a corrupt or foreign record is skipped with a warning (history, status
and rollback never crash), and a record id is never given twice."""

from __future__ import annotations

import json

from deploy.conftest import FAST, Project, make_dist
from mwaadeps.deploy import apply as core
from mwaadeps.deploy import inspect as deploy_inspect
from mwaadeps.deploy import records as deploy_records
from mwaadeps.progress import RecordingReporter

BUCKET = "dsai-airflow-dags"
PREFIX = ".mwaadeps/deployments/"


def _put(project: Project, name: str, body: bytes) -> None:
    project.client("s3").put_object(Bucket=BUCKET, Key=PREFIX + name, Body=body)


def _plant_bad_records(project: Project) -> None:
    _put(project, "00002.json", b"{not json")
    _put(project, "00003.json", b'["a", "list"]')
    foreign = {
        "id": 4,
        "environment": "someone-elses-mwaa",
        "outcome": "success",
        "artifacts": {"requirements.txt": {"key": "requirements.txt", "version": "v"}},
    }
    _put(project, "00004.json", json.dumps(foreign).encode())
    broken = {
        "id": 5,
        "environment": "dsai-dev-mwaa",
        "outcome": "success",
        "artifacts": {"requirements.txt": "not-a-table"},
    }
    _put(project, "00005.json", json.dumps(broken).encode())


def test_bad_records_are_skipped_with_a_warning(deploy_project: Project) -> None:
    env = deploy_project.env()
    assert core.deploy(env, deploy_project.dist, FAST).ok  # record 1
    _plant_bad_records(deploy_project)
    rep = RecordingReporter()
    records = deploy_records.history(env, reporter=rep)
    assert [r.id for r in records] == [1]
    joined = "\n".join(rep.warnings)
    assert len(rep.warnings) == 4
    assert "00002.json: it is not valid JSON" in joined
    assert "00003.json: it is not a JSON object" in joined
    assert "someone-elses-mwaa" in joined
    assert "00005.json" in joined

    report = deploy_inspect.status(env, deploy_project.dist)
    assert report.last_record is not None and report.last_record["id"] == 1

    make_dist(deploy_project.dist, requirements="requests==2.32.4\n")
    second = core.deploy(env, deploy_project.dist, FAST)
    assert second.ok and second.record_id == 6  # after the highest id in use, skipped or not
    back = core.rollback(env, None, FAST)
    assert back.ok and back.record_id == 7

    for args in (
        ["history", "--env", "dev"],
        ["status", "--env", "dev"],
        ["history", "--env", "dev", "--json"],
    ):
        run = deploy_project.cli(*args)
        assert run.returncode == 0, run.stdout + run.stderr
        assert "Traceback" not in run.stderr
        assert "Skipped deployment record" in run.stderr
    ids = [
        r["id"]
        for r in json.loads(deploy_project.cli("history", "--env", "dev", "--json").stdout)[
            "records"
        ]
    ]
    assert ids == [1, 6, 7]


def test_record_ids_are_never_reused_after_a_deletion(deploy_project: Project) -> None:
    env = deploy_project.env()
    assert core.deploy(env, deploy_project.dist, FAST).record_id == 1
    make_dist(deploy_project.dist, requirements="requests==2.32.4\n")
    second = core.deploy(env, deploy_project.dist, FAST)
    assert second.record_id == 2 and second.record_key is not None
    deploy_project.client("s3").delete_object(Bucket=BUCKET, Key=second.record_key)
    make_dist(deploy_project.dist, requirements="requests==2.32.5\n")
    third = core.deploy(env, deploy_project.dist, FAST)
    assert third.ok and third.record_id == 3
    assert [r.id for r in deploy_records.history(env)] == [1, 3]
