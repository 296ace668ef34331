"""verify and deploy --verify over real HTTP: moto + the MWAA emulator's InvokeRestApi."""

from __future__ import annotations

import io
import json
import shutil
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest

from mwaadeps.deploy import apply as core
from mwaadeps.deploy import records as deploy_records
from mwaadeps.deploy import verify as verify_core
from mwaadeps.deploy.aws import connect
from mwaadeps.deploy.restapi import AirflowApi
from mwaadeps.errors import ConfigError, PreflightError
from mwaadeps.progress import RecordingReporter
from mwaadeps.sandbox.server import Sandbox

from .conftest import FAST, Project, new_project

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "dsai-dev"
FASTV = verify_core.VerifyOptions(timeout=30.0, poll_interval=0.0)
BROKEN = b"from airflow import DAG\n\nwith DAG(dag_id='broken_dag' as dag:\n    pass\n"
SMOKE = b"""\
import pendulum
from airflow import DAG
from airflow.operators.empty import EmptyOperator

with DAG(dag_id="smoke", start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), schedule=None,
         catchup=False) as dag:
    EmptyOperator(task_id="noop")
"""


def _zip(folder: Path) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for path in sorted(folder.rglob("*.py")):
            zf.write(path, path.relative_to(folder).as_posix())
    return buf.getvalue()


@pytest.fixture
def example(tmp_path: Path, sandbox: Sandbox) -> Project:
    """The worked example, its dags/ seeded into the bucket, and a dist/ of its bundle (the
    providers its DAGs import, its plugins zipped), not deployed yet."""
    root = tmp_path / "proj"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns("dist", ".mwaadeps*"))
    seeded = sandbox.seed(root)
    assert {s.status for s in seeded} == {"AVAILABLE"}
    dist = root / "dist"
    dist.mkdir()
    (dist / "requirements.txt").write_text(
        "apache-airflow-providers-slack==8.7.1\napache-airflow-providers-snowflake==5.5.1\n"
    )
    (dist / "plugins.zip").write_bytes(_zip(root / "plugins"))
    return Project(root, sandbox)


def _deployed(example: Project) -> Project:
    assert core.deploy(example.env(), example.dist, FAST).ok
    return example


def _dag_ids() -> set[str]:
    """The dag_id= of the example's DAG files, read from the files themselves."""
    import re

    ids = set()
    for path in (EXAMPLE / "dags").glob("*.py"):
        ids |= set(re.findall(r"dag_id=\"([^\"]+)\"", path.read_text()))
    return ids


def _put_dag(project: Project, name: str, body: bytes, bucket: str = "dsai-airflow-dags") -> None:
    project.client("s3").put_object(Bucket=bucket, Key=f"dags/{name}", Body=body)


def _api(project: Project) -> AirflowApi:
    return AirflowApi(connect(project.env()), project.env().name)


def test_the_example_fails_before_its_bundle_is_deployed(example: Project) -> None:
    report = verify_core.verify(example.env(), FASTV)
    assert report.verdict == "failed" and report.exit_code == 1
    assert {p.file for p in report.import_errors} == {
        p.name for p in (EXAMPLE / "dags").glob("*.py")
    }
    assert all("ModuleNotFoundError" in p.last_line for p in report.import_errors)
    assert report.dags == ()


def test_verify_passes_on_the_deployed_example(example: Project) -> None:
    _deployed(example)
    report = verify_core.verify(example.env(), FASTV, RecordingReporter())
    assert report.verdict == "passed" and report.ok and report.exit_code == 0
    assert {d.dag_id for d in report.dags} == _dag_ids() and len(_dag_ids()) == 2
    assert set(report.files) == {p.name for p in (EXAMPLE / "dags").glob("*.py")}
    assert report.import_errors == () and report.unparsed == ()
    assert all(d.paused for d in report.dags)  # MWAA pauses new DAGs
    assert report.record_id == 1  # the verdict is on the deployment that runs
    proc = example.cli("verify", "--env", "dev")
    assert proc.returncode == 0, proc.stderr
    for dag_id in _dag_ids():
        assert dag_id in proc.stdout


def test_deploy_verify_of_the_example_is_green(example: Project) -> None:
    proc = example.cli("deploy", "--env", "dev", "--verify", "--allow-stale", "--json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    data = json.loads(proc.stdout)
    assert data["ok"] is True and data["update_called"] is True
    assert {d["dag_id"] for d in data["verification"]["dags"]} == _dag_ids()
    record = deploy_records.history(example.env())[-1]
    assert record.outcome == "success"
    assert record.data["verification"]["verdict"] == "passed"
    assert record.data["verification"]["by"] == "deploy --verify"


def test_verify_fails_naming_the_file_with_an_import_error(example: Project) -> None:
    _deployed(example)
    _put_dag(example, "team/broken_dag.py", BROKEN)
    proc = example.cli("verify", "--env", "dev")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "team/broken_dag.py" in proc.stderr + proc.stdout
    assert "Traceback" not in proc.stderr.split("error:")[0]  # no traceback of ours
    report = verify_core.verify(example.env(), FASTV)
    assert report.verdict == "failed"
    assert [p.file for p in report.import_errors] == ["team/broken_dag.py"]
    assert report.import_errors[0].last_line  # the exception line of Airflow's trace
    # the good DAGs are still listed
    assert _dag_ids() <= {d.dag_id for d in report.dags}


def test_a_helper_module_without_dag_words_is_not_waited_for(example: Project) -> None:
    _deployed(example)
    _put_dag(example, "helpers/util.py", b"def add(a, b):\n    return a + b\n")
    report = verify_core.verify(example.env(), FASTV)
    assert report.verdict == "passed"
    assert "helpers/util.py" not in report.files


def test_trigger_runs_the_dag_and_pauses_it_again(example: Project) -> None:
    _deployed(example)
    _put_dag(example, "smoke.py", SMOKE)
    report = verify_core.verify(example.env(), replace(FASTV, trigger="smoke"))
    assert report.verdict == "passed", report.reason
    assert report.run is not None
    assert report.run.state == "success" and report.run.unpaused
    assert report.run.run_id.startswith("mwaadeps-verify-")
    api = _api(example)
    assert api.dag("smoke")["is_paused"] is True
    assert api.dag_run("smoke", report.run.run_id)["state"] == "success"


def test_trigger_of_an_unpaused_dag_leaves_it_unpaused(example: Project) -> None:
    _deployed(example)
    _put_dag(example, "smoke.py", SMOKE)
    verify_core.verify(example.env(), FASTV)  # parsed
    _api(example).set_paused("smoke", False)
    report = verify_core.verify(example.env(), replace(FASTV, trigger="smoke"))
    assert report.run is not None and not report.run.unpaused
    assert _api(example).dag("smoke")["is_paused"] is False


def test_trigger_of_an_unknown_dag_is_a_plain_error(example: Project) -> None:
    _deployed(example)
    with pytest.raises(ConfigError) as info:
        verify_core.verify(example.env(), replace(FASTV, trigger="no_such_dag"))
    assert "no_such_dag" in info.value.message
    for dag_id in _dag_ids():
        assert dag_id in info.value.message
    proc = example.cli("verify", "--env", "dev", "--trigger", "no_such_dag")
    assert proc.returncode == ConfigError.exit_code
    assert "no_such_dag" in proc.stderr and "Traceback" not in proc.stderr


def test_an_updating_environment_is_refused_plainly(example: Project) -> None:
    example.sandbox.set_status("dsai-dev-mwaa", "UPDATING")
    with pytest.raises(PreflightError) as info:
        verify_core.verify(example.env(), FASTV)
    assert "UPDATING" in info.value.message and info.value.hint
    proc = example.cli("verify", "--env", "dev")
    assert proc.returncode == PreflightError.exit_code
    assert "UPDATING" in proc.stderr and "Traceback" not in proc.stderr


def test_json_shapes(example: Project) -> None:
    _deployed(example)
    passed = example.cli("verify", "--env", "dev", "--json")
    assert passed.returncode == 0, passed.stderr
    ok = json.loads(passed.stdout)
    assert ok["ok"] is True and ok["verdict"] == "passed" and ok["error"] is None
    assert {d["dag_id"] for d in ok["dags"]} == _dag_ids()
    assert set(ok["dags"][0]) == {"dag_id", "paused", "file"}

    _put_dag(example, "broken_dag.py", BROKEN)
    failed = example.cli("verify", "--env", "dev", "--json")
    assert failed.returncode == 1
    bad = json.loads(failed.stdout)
    assert bad["ok"] is False and bad["verdict"] == "failed"
    assert bad["error"]["code"] == "verify_failed"
    assert [e["file"] for e in bad["import_errors"]] == ["broken_dag.py"]
    assert set(bad["import_errors"][0]) == {"file", "first_line", "last_line"}

    example.sandbox.set_status("dsai-dev-mwaa", "UPDATING")
    refused = example.cli("verify", "--env", "dev", "--json")
    assert refused.returncode == PreflightError.exit_code
    err = json.loads(refused.stdout)
    assert err["ok"] is False and err["error"]["code"] == "preflight"
    assert set(err) == set(ok)  # one shape, success or failure


def test_deploy_verify_after_a_broken_dag_is_not_green(project: Project) -> None:
    """The deploy itself succeeds; the broken DAG fails the verification, so the record is
    failed and promote refuses it; fixing the DAG and verifying again makes it green."""
    _put_dag(project, "good.py", SMOKE)
    _put_dag(project, "broken_dag.py", BROKEN)
    proc = project.cli("deploy", "--env", "dev", "--verify", "--json")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    data = json.loads(proc.stdout)
    assert data["ok"] is False and data["update_called"] is True
    assert data["error"]["code"] == "verify_failed"
    assert data["verification"]["import_errors"][0]["file"] == "broken_dag.py"
    record = deploy_records.history(project.env())[-1]
    assert record.id == data["record_id"]
    assert record.outcome == "failed"
    assert record.data["verification"]["verdict"] == "failed"
    with pytest.raises(PreflightError) as info:
        core.promote(project.env("dev"), project.env("prod"), FAST)
    assert "failed" in info.value.message

    project.client("s3").delete_object(Bucket="dsai-airflow-dags", Key="dags/broken_dag.py")
    again = project.cli("verify", "--env", "dev")
    assert again.returncode == 0, again.stderr
    assert deploy_records.history(project.env())[-1].outcome == "success"
    promoted = core.promote(project.env("dev"), project.env("prod"), FAST)
    assert promoted.ok


def test_deploy_verify_with_trigger_passes(project: Project) -> None:
    _put_dag(project, "smoke.py", SMOKE)
    proc = project.cli("deploy", "--env", "dev", "--verify", "--trigger", "smoke", "--json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    data = json.loads(proc.stdout)
    assert data["ok"] is True and data["verification"]["verdict"] == "passed"
    assert data["verification"]["run"]["state"] == "success"
    record = deploy_records.history(project.env())[-1]
    assert record.outcome == "success"
    assert record.data["verification"]["run"]["dag_id"] == "smoke"
    assert record.data["verification"]["by"] == "deploy --verify"


def test_deploy_verify_text_output(project: Project) -> None:
    _put_dag(project, "smoke.py", SMOKE)
    proc = project.cli("deploy", "--env", "dev", "--verify")
    assert proc.returncode == 0, proc.stderr
    assert "smoke" in proc.stdout and "verified" in proc.stdout


def test_deploy_verify_needs_wait(project: Project) -> None:
    proc = project.cli("deploy", "--env", "dev", "--verify", "--no-wait")
    assert proc.returncode == ConfigError.exit_code
    assert "--wait" in proc.stderr and "Traceback" not in proc.stderr
    assert project.calls()["mwaa"].get("UpdateEnvironment", 0) == 0


def test_a_verification_that_cannot_run_leaves_the_deploy_unverified(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    project = new_project(tmp_path, sandbox)
    _put_dag(project, "smoke.py", SMOKE)
    result = core.deploy(project.env(), project.dist, FAST)
    assert result.ok
    checked = verify_core.after_deploy(result, project.env(), replace(FASTV, trigger="nope"))
    assert not checked.ok and checked.error is not None
    assert checked.error.code == "verify_error" and "nope" in checked.error.message
    environment = project.environment()
    records = deploy_records.history(project.env())
    health = core.running_health(connect(project.env()), project.env(), environment, records)
    assert health.state == "unverified"
