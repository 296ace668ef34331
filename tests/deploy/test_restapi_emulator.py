"""InvokeRestApi over HTTP: boto3's mwaa.invoke_rest_api against the sandbox's emulated
Airflow webserver (the pure-Python model backend)."""

from __future__ import annotations

import io
import json
import threading
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from mwaadeps.build.shipped import shipped
from mwaadeps.sandbox.emulator import (
    DISCOVERY_MARKER,
    DagInfo,
    Installed,
    ParseResult,
    RunResult,
)
from mwaadeps.sandbox.server import Sandbox

from .conftest import REGION

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "dsai-dev"
NAME = "dsai-dev-mwaa"
BUCKET = "dsai-airflow-dags"
TOML = f"""\
airflow-version = "2.9.2"
dags = "dags"

[environments.dev]
name = "{NAME}"
region = "{REGION}"
bucket = "{BUCKET}"
"""
GOOD = """\
import pendulum
from airflow import DAG
from airflow.operators.empty import EmptyOperator

with DAG(dag_id="hello", start_date=pendulum.datetime(2024, 1, 1), schedule=None,
         tags=["team"], default_args={"owner": "dsai"}):
    EmptyOperator(task_id="noop")
"""
DISCOVERY = f"""\
{DISCOVERY_MARKER}
from airflow.decorators import dag, task


@dag(dag_id="mwaadeps_discover", schedule=None, catchup=False, tags=["mwaadeps"])
def discover():
    @task
    def freeze():
        pass

    freeze()


discover()
"""


class Airflow:
    """Airflow REST API calls through InvokeRestApi on one environment."""

    def __init__(self, sandbox: Sandbox, name: str = NAME) -> None:
        self.mwaa = sandbox.client("mwaa", REGION)
        self.s3 = sandbox.client("s3", REGION)
        self.name = name

    def call(self, method: str, path: str, **kw: Any) -> tuple[int, Any]:
        out = self.mwaa.invoke_rest_api(Name=self.name, Method=method, Path=path, **kw)
        return out["RestApiStatusCode"], out["RestApiResponse"]

    def error(self, method: str, path: str, **kw: Any) -> tuple[str, int, dict[str, Any]]:
        with pytest.raises(ClientError) as info:
            self.call(method, path, **kw)
        response = info.value.response
        return response["Error"]["Code"], response["RestApiStatusCode"], response["RestApiResponse"]

    def put_dag(self, rel: str, text: str) -> None:
        self.s3.put_object(Bucket=BUCKET, Key=f"dags/{rel}", Body=text.encode())

    def dag_ids(self) -> list[str]:
        return [d["dag_id"] for d in self.call("GET", "/dags")[1]["dags"]]

    def import_errors(self) -> dict[str, str]:
        errors = self.call("GET", "/importErrors")[1]["import_errors"]
        return {e["filename"]: e["stack_trace"] for e in errors}

    def deploy(self, files: dict[str, bytes]) -> None:
        """Upload requirements.txt / plugins.zip and update the environment to them."""
        keys = {"requirements.txt": "Requirements", "plugins.zip": "Plugins"}
        args: dict[str, str] = {}
        for label, data in files.items():
            put = self.s3.put_object(Bucket=BUCKET, Key=label, Body=data)
            args[f"{keys[label]}S3Path"] = label
            args[f"{keys[label]}S3ObjectVersion"] = put["VersionId"]
        self.mwaa.update_environment(Name=self.name, **args)
        for _ in range(10):
            status = self.mwaa.get_environment(Name=self.name)["Environment"]["Status"]
            if status != "UPDATING":
                break
        assert status == "AVAILABLE"

    def run_states(self, dag_id: str, run_id: str, gets: int) -> list[str]:
        path = f"/dags/{dag_id}/dagRuns/{run_id}"
        return [self.call("GET", path)[1]["state"] for _ in range(gets)]


def _project(tmp_path: Path, sandbox: Sandbox, dags: dict[str, str]) -> Airflow:
    root = tmp_path / "proj"
    (root / "dags").mkdir(parents=True)
    (root / "mwaadeps.toml").write_text(TOML)
    for rel, text in dags.items():
        (root / "dags" / rel).write_text(text)
    assert [s.status for s in sandbox.seed(root)] == ["AVAILABLE"]
    return Airflow(sandbox)


def _zip(folder: Path) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for path in sorted(folder.rglob("*.py")):
            zf.write(path, path.relative_to(folder).as_posix())
    return buf.getvalue()


def test_seeded_example_dags_fail_until_their_bundle_is_deployed(sandbox: Sandbox) -> None:
    sandbox.seed(EXAMPLE)
    api = Airflow(sandbox)
    assert api.dag_ids() == []
    errors = api.import_errors()
    assert set(errors) == {
        f"/usr/local/airflow/dags/{p.name}" for p in (EXAMPLE / "dags").glob("*.py")
    }
    summary = errors["/usr/local/airflow/dags/daily_summary.py"]
    assert "ModuleNotFoundError: No module named 'operators'" in summary
    slack = errors["/usr/local/airflow/dags/slack_alerts.py"]
    assert "No module named 'airflow.providers.slack'" in slack

    requirements = (
        "apache-airflow-providers-slack==8.7.1\napache-airflow-providers-snowflake==5.5.1\n"
    )
    api.deploy(
        {"requirements.txt": requirements.encode(), "plugins.zip": _zip(EXAMPLE / "plugins")}
    )
    status, body = api.call("GET", "/dags")
    assert status == 200 and body["total_entries"] == 2
    by_id = {d["dag_id"]: d for d in body["dags"]}
    assert set(by_id) == {"dsai_daily_summary", "dsai_warehouse_load"}
    for dag in by_id.values():
        assert dag["is_paused"] is True and dag["is_active"] is True
        assert dag["tags"] == [{"name": "dsai"}]
    assert by_id["dsai_daily_summary"]["fileloc"] == "/usr/local/airflow/dags/daily_summary.py"
    assert api.import_errors() == {}
    assert api.call("GET", "/version") == (200, {"version": "2.9.2", "git_version": None})


def test_import_errors_follow_the_dag_files(tmp_path: Path, sandbox: Sandbox) -> None:
    api = _project(tmp_path, sandbox, {"hello.py": GOOD})
    assert api.dag_ids() == ["hello"] and api.import_errors() == {}
    api.put_dag("broken.py", GOOD.replace("schedule=None,", "schedule=None,,"))
    api.put_dag("team/needs_missing.py", "import not_a_module_xyz\n" + GOOD.replace("hello", "b"))
    errors = api.import_errors()
    assert set(errors) == {
        "/usr/local/airflow/dags/broken.py",
        "/usr/local/airflow/dags/team/needs_missing.py",
    }
    assert "SyntaxError" in errors["/usr/local/airflow/dags/broken.py"]
    assert 'File "/usr/local/airflow/dags/broken.py", line 5' in errors[
        "/usr/local/airflow/dags/broken.py"
    ]
    missing = errors["/usr/local/airflow/dags/team/needs_missing.py"]
    assert missing.rstrip().endswith("ModuleNotFoundError: No module named 'not_a_module_xyz'")
    assert api.dag_ids() == ["hello"]

    api.put_dag("broken.py", GOOD.replace('"hello"', '"fixed"'))
    api.s3.delete_object(Bucket=BUCKET, Key="dags/team/needs_missing.py")
    assert api.import_errors() == {}
    assert api.dag_ids() == ["fixed", "hello"]


def test_a_paused_dag_run_waits_until_unpaused(tmp_path: Path, sandbox: Sandbox) -> None:
    api = _project(tmp_path, sandbox, {"hello.py": GOOD})
    status, run = api.call("POST", "/dags/hello/dagRuns", Body={"dag_run_id": "r1", "conf": {}})
    assert status == 200 and run["state"] == "queued" and run["dag_run_id"] == "r1"
    assert api.run_states("hello", "r1", 3) == ["queued"] * 3
    code, status, problem = api.error("POST", "/dags/hello/dagRuns", Body={"dag_run_id": "r1"})
    assert (code, status) == ("RestApiClientException", 409)
    assert "already exists" in problem["detail"]

    status, dag = api.call("PATCH", "/dags/hello", Body={"is_paused": False})
    assert status == 200 and dag["is_paused"] is False
    assert api.run_states("hello", "r1", 3) == ["running", "success", "success"]


def test_unknown_dag_path_and_environment(tmp_path: Path, sandbox: Sandbox) -> None:
    api = _project(tmp_path, sandbox, {"hello.py": GOOD})
    code, status, problem = api.error("GET", "/dags/nope")
    assert (code, status) == ("RestApiClientException", 404)
    assert problem["detail"] == "The DAG with dag_id: nope was not found"
    assert problem["status"] == 404 and problem["title"] == "DAG not found"
    code, status, problem = api.error("POST", "/dags/nope/dagRuns", Body={})
    assert (status, problem["detail"]) == (404, "DAG with dag_id: 'nope' not found")
    code, status, problem = api.error("GET", "/no/such/endpoint")
    assert (status, problem["title"]) == (404, "Not Found")
    with pytest.raises(ClientError) as info:
        Airflow(sandbox, "no-such-env").call("GET", "/dags")
    assert info.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_no_webserver_while_updating(tmp_path: Path, sandbox: Sandbox) -> None:
    api = _project(tmp_path, sandbox, {"hello.py": GOOD})
    sandbox.set_status(NAME, "UPDATING")
    code, status, problem = api.error("GET", "/dags")
    assert (code, status) == ("RestApiServerException", 503)
    assert problem["detail"] == "webserver unavailable"
    sandbox.set_status(NAME, "AVAILABLE")
    assert api.dag_ids() == ["hello"]


def test_variables_get_and_delete(tmp_path: Path, sandbox: Sandbox) -> None:
    api = _project(tmp_path, sandbox, {"hello.py": GOOD})
    assert api.error("GET", "/variables/colour")[1] == 404
    assert api.call("POST", "/variables", Body={"key": "colour", "value": "blue"})[0] == 200
    assert api.call("GET", "/variables/colour") == (
        200, {"key": "colour", "value": "blue", "description": None})  # fmt: skip
    assert api.call("DELETE", "/variables/colour") == (204, {})
    assert api.error("DELETE", "/variables/colour")[1] == 404


def test_list_pages_filters_and_delete(tmp_path: Path, sandbox: Sandbox) -> None:
    dags = {f"d{i}.py": GOOD.replace('"hello"', f'"dag_{i}"') for i in range(3)}
    api = _project(tmp_path, sandbox, dags)
    status, page = api.call("GET", "/dags", QueryParameters={"limit": 2, "offset": 1})
    assert status == 200
    assert [d["dag_id"] for d in page["dags"]] == ["dag_1", "dag_2"]
    assert page["total_entries"] == 3
    page = api.call("GET", "/dags", QueryParameters={"dag_id_pattern": "_2"})[1]
    assert [d["dag_id"] for d in page["dags"]] == ["dag_2"]
    assert api.call("DELETE", "/dags/dag_0") == (204, {})
    assert api.error("GET", "/dags/dag_0")[1] == 404
    api.put_dag("other.py", GOOD)  # the next parse finds dag_0's file again
    assert api.dag_ids() == ["dag_0", "dag_1", "dag_2", "hello"]


def test_discovery_dag_reports_the_installed_set(tmp_path: Path, sandbox: Sandbox) -> None:
    api = _project(tmp_path, sandbox, {"hello.py": GOOD, "mwaadeps_discover.py": DISCOVERY})
    api.deploy({"requirements.txt": b"requests==2.32.3\nhumanize==4.9.0\n"})
    api.call("PATCH", "/dags/mwaadeps_discover", Body={"is_paused": False})
    preinstalled = dict(
        line.split("==", 1)
        for line in shipped("2.9.2", "preinstalled").text().splitlines()  # type: ignore[union-attr]
        if "==" in line and not line.startswith("#")
    )

    def discover(run_id: str) -> dict[str, Any]:
        body = {"dag_run_id": run_id, "conf": {"variable": run_id}}
        api.call("POST", "/dags/mwaadeps_discover/dagRuns", Body=body)
        assert api.run_states("mwaadeps_discover", run_id, 2) == ["running", "success"]
        return json.loads(api.call("GET", f"/variables/{run_id}")[1]["value"])  # type: ignore[no-any-return]

    found = discover("plain")
    assert (found["format"], found["airflow"], found["python"]) == (1, "2.9.2", "3.11.9")
    assert found["packages"]["requests"] == "2.32.3"
    assert found["packages"]["humanize"] == "4.9.0"
    assert found["packages"]["apache-airflow"] == preinstalled["apache-airflow"]
    assert found["packages"]["pendulum"] == preinstalled["pendulum"]

    sandbox.faults(installed_drift={"requests": "2.0.0", "pendulum": None})
    drifted = discover("drifted")
    assert drifted["packages"]["requests"] == "2.0.0"
    assert "pendulum" not in drifted["packages"]
    assert drifted["packages"]["humanize"] == "4.9.0"


class _RecordingBackend:
    """An AirflowBackend that reports the files it is given and holds runs on an event."""

    name = "recording"

    def __init__(self) -> None:
        self.release = threading.Event()
        self.seen: list[tuple[str, list[str], str]] = []

    def parse(self, installed: Installed, dags_dir: Path) -> ParseResult:
        files = sorted(p.relative_to(dags_dir).as_posix() for p in dags_dir.rglob("*.py"))
        requirements = (installed.bundle / "requirements.txt").read_text()
        self.seen.append((installed.airflow_version, files, requirements))
        return ParseResult(tuple(DagInfo(f.removesuffix(".py"), f) for f in files), ())

    def run(
        self,
        installed: Installed,
        dags_dir: Path,
        dag_id: str,
        conf: Mapping[str, Any],
        variables: Mapping[str, str],
    ) -> RunResult:
        self.release.wait(timeout=60)
        return RunResult("failed", {"seen": f"{dag_id}:{conf['n']}:{variables.get('in')}"})


def test_a_backend_gets_the_bundle_and_dags_and_holds_the_run(tmp_path: Path) -> None:
    backend: _RecordingBackend = _RecordingBackend()
    with Sandbox(backend=backend) as box:
        root = tmp_path / "proj"
        (root / "dags").mkdir(parents=True)
        (root / "mwaadeps.toml").write_text(TOML)
        (root / "dags" / "one.py").write_text(GOOD)
        box.seed(root)
        api = Airflow(box)
        api.deploy({"requirements.txt": b"humanize==4.9.0\n"})
        assert api.dag_ids() == ["one"]
        assert backend.seen == [("2.9.2", ["one.py"], "humanize==4.9.0\n")]
        api.call("PATCH", "/dags/one", Body={"is_paused": False})
        api.call("POST", "/variables", Body={"key": "in", "value": "x"})
        api.call("POST", "/dags/one/dagRuns", Body={"dag_run_id": "r", "conf": {"n": 1}})
        assert api.run_states("one", "r", 2) == ["running", "running"]  # the backend holds it
        backend.release.set()
        assert api.run_states("one", "r", 1) == ["failed"]
        assert api.call("GET", "/variables/seen")[1]["value"] == "one:1:x"
        assert len(backend.seen) == 1  # nothing changed: no reparse


def test_new_dags_follow_dags_are_paused_at_creation(tmp_path: Path, sandbox: Sandbox) -> None:
    api = _project(tmp_path, sandbox, {"hello.py": GOOD})
    assert api.call("GET", "/dags/hello")[1]["is_paused"] is True
    options = {"core.dags_are_paused_at_creation": "False"}
    api.mwaa.update_environment(Name=NAME, AirflowConfigurationOptions=options)
    for _ in range(10):
        if api.mwaa.get_environment(Name=NAME)["Environment"]["Status"] != "UPDATING":
            break
    api.put_dag("second.py", GOOD.replace('"hello"', '"second"'))
    dags = {d["dag_id"]: d["is_paused"] for d in api.call("GET", "/dags")[1]["dags"]}
    assert dags == {"hello": True, "second": False}
