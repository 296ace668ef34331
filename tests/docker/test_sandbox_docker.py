"""The sandbox's Docker side against a real engine: installs committed as images, and real
Airflow parsing and running DAGs in containers of those images (marked docker)."""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from localtest_helpers import (
    AIRFLOW,
    CONSTRAINTS,
    FIND_LINKS,
    SESSION_LABELS,
    TINY_REQUIREMENTS,
    session_containers,
    session_images,
    write_bundle,
)

from mwaadeps.localtest.run import run_bundle
from mwaadeps.progress import RecordingReporter
from mwaadeps.sandbox.docker_backend import DockerBackend, DockerInstaller, docker_backend
from mwaadeps.sandbox.emulator.webserver import Installed

pytestmark = pytest.mark.docker

STARTUP = 'export TINY_MODE="committed"\n'
MWAADEPS = [sys.executable, "-c", "from mwaadeps.cli.app import main; main()"]
ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "dsai-dev"

TINY_DAG = """\
import os

import pendulum
from airflow import DAG
from airflow.models import Variable
from airflow.operators.python import PythonOperator
from tinydep import VALUE


def _record(**context):
    conf = context["dag_run"].conf or {}
    seen = Variable.get("seed", "none")
    Variable.set(conf.get("key", "tiny"), f"{VALUE}:{seen}:{os.environ.get('TINY_MODE')}")


def _fail():
    raise RuntimeError("the task fails")


with DAG("tiny_record", start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), schedule=None,
         catchup=False, tags=["tiny", "abc"]):
    PythonOperator(task_id="record", python_callable=_record, owner="dsai")

with DAG("tiny_fail", start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), schedule=None,
         catchup=False):
    PythonOperator(task_id="fail", python_callable=_fail)
"""
BROKEN_DAG = "from airflow import DAG\nimport module_nobody_installed\n"


@pytest.fixture()
def committed_tag(docker_client: Any) -> Iterator[str]:
    """A fresh tag for a committed image; whatever carries it is removed afterwards."""
    tag = f"mwaadeps-sandbox-env:test-{uuid.uuid4().hex[:8]}"
    yield tag
    from docker.errors import ImageNotFound

    with contextlib.suppress(ImageNotFound):
        docker_client.images.remove(tag, force=True)


def _in_image(client: Any, image: str, code: str) -> str:
    """Run python3 code in a throwaway container of image (its default user, no network)."""
    out = client.containers.run(
        image, ["python3", "-c", code], network_mode="none", labels=SESSION_LABELS, remove=True
    )
    return str(out.decode().strip())


def test_commit_after_install_keeps_the_bundle(
    docker_client: Any, runner_image: str, tiny_wheels: Any, tmp_path: Path, committed_tag: str
) -> None:
    dist = write_bundle(
        tmp_path / "dist", wheels=tiny_wheels, requirements=TINY_REQUIREMENTS, startup=STARTUP
    )
    report = run_bundle(
        dist,
        image=runner_image,
        reporter=RecordingReporter(),
        labels=SESSION_LABELS,
        commit_as=committed_tag,
        commit_labels={"mwaadeps.sandbox": "1"},
    )
    assert report.ok, report.to_dict()
    assert report.committed == committed_tag
    image = docker_client.images.get(committed_tag)
    assert image.labels["mwaadeps.sandbox"] == "1"
    assert image.attrs["Config"]["User"] == "airflow"
    # The install is in the image: tinypkg imports as the airflow user, with no network.
    code = "import getpass, tinypkg; from tinydep import VALUE; print(getpass.getuser(), VALUE)"
    assert _in_image(docker_client, committed_tag, code) == "airflow 42"
    # The startup script's exports are kept for the probes.
    code = "print(open('/tmp/mwaadeps/state/startup_exports.json').read())"
    assert '"TINY_MODE": "committed"' in _in_image(docker_client, committed_tag, code)
    assert session_containers(docker_client) == []


def test_no_commit_when_pip_fails(
    docker_client: Any, runner_image: str, tmp_path: Path, committed_tag: str
) -> None:
    dist = write_bundle(tmp_path / "dist", wheels=[], requirements=FIND_LINKS + "absentpkg==1.0\n")
    report = run_bundle(
        dist,
        image=runner_image,
        reporter=RecordingReporter(),
        labels=SESSION_LABELS,
        commit_as=committed_tag,
    )
    assert not report.ok
    assert report.committed is None
    assert session_images(docker_client) == []


# -- the sandbox's installer and backend ----------------------------------------------
@pytest.fixture()
def installer(docker_client: Any, runner_image: str) -> Iterator[DockerInstaller]:
    """The sandbox's Docker installer; its images are removed afterwards, and checked gone."""
    made = DockerInstaller(docker_client, runner_image, labels=dict(SESSION_LABELS))
    yield made
    made.close()
    assert session_images(docker_client) == []


@pytest.fixture()
def backend(installer: DockerInstaller) -> DockerBackend:
    found = docker_backend(installer)
    assert found is not None
    return found


def _dags(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True)
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    return folder


def _installed(dist: Path, image: str | None) -> Installed:
    return Installed("2.9.2", "3.11", dist, image)


def test_installer_commits_and_backend_parses_in_the_image(
    docker_client: Any, installer: DockerInstaller, backend: DockerBackend, tiny_wheels: Any,
    tmp_path: Path,
) -> None:  # fmt: skip
    dist = write_bundle(
        tmp_path / "dist", wheels=tiny_wheels, requirements=TINY_REQUIREMENTS, startup=STARTUP
    )
    outcome = installer(dist)
    assert outcome.ok, outcome.lines
    assert outcome.image is not None
    labels = docker_client.images.get(outcome.image).labels
    assert labels["mwaadeps.sandbox.session"] == installer.session
    dags = _dags(tmp_path / "dags", {"tiny.py": TINY_DAG, "sub/broken.py": BROKEN_DAG})
    parsed = backend.parse(_installed(dist, outcome.image), dags)
    by_id = {d.dag_id: d for d in parsed.dags}
    assert set(by_id) == {"tiny_record", "tiny_fail"}
    assert by_id["tiny_record"].fileloc == "tiny.py"
    assert by_id["tiny_record"].tags == ("abc", "tiny")
    assert by_id["tiny_record"].owners == ("dsai",)
    assert [e.filename for e in parsed.import_errors] == ["sub/broken.py"]
    assert "No module named 'module_nobody_installed'" in parsed.import_errors[0].stack_trace
    # Without the install (the runner image alone), tinydep is missing: tiny.py fails too.
    bare = backend.parse(_installed(dist, None), dags)
    assert bare.dags == ()
    assert {e.filename for e in bare.import_errors} == {"tiny.py", "sub/broken.py"}
    assert session_containers(docker_client) == []


def test_backend_runs_a_dag_and_reports_variables(
    docker_client: Any, installer: DockerInstaller, backend: DockerBackend, tiny_wheels: Any,
    tmp_path: Path,
) -> None:  # fmt: skip
    dist = write_bundle(
        tmp_path / "dist", wheels=tiny_wheels, requirements=TINY_REQUIREMENTS, startup=STARTUP
    )
    outcome = installer(dist)
    assert outcome.ok and outcome.image, outcome.lines
    installed = _installed(dist, outcome.image)
    dags = _dags(tmp_path / "dags", {"tiny.py": TINY_DAG})
    result = backend.run(installed, dags, "tiny_record", {"key": "answer"}, {"seed": "s1"})
    assert result.state == "success", result.log
    # The task saw the seeded Variable, the bundle's package and the startup script's export.
    assert result.variables == {"seed": "s1", "answer": "42:s1:committed"}
    failed = backend.run(installed, dags, "tiny_fail", {}, {"seed": "s2"})
    assert failed.state == "failed"
    assert any("the task fails" in line for line in failed.log)
    assert failed.variables == {"seed": "s2"}
    missing = backend.run(installed, dags, "no_such_dag", {}, {})
    assert missing.state == "failed"
    assert any("no_such_dag" in line for line in missing.log)
    assert session_containers(docker_client) == []


def test_a_run_past_its_timeout_is_killed(
    docker_client: Any, backend: DockerBackend, tmp_path: Path
) -> None:
    dags = _dags(tmp_path / "dags", {"slow.py": SLOW_DAG})
    slow = DockerBackend(docker_client, backend.runner_image, labels=backend.labels,
                         run_timeout=1.0)  # fmt: skip
    result = slow.run(_installed(tmp_path, None), dags, "slow", {}, {})
    assert result.state == "failed"
    assert "killed" in result.log[-1]
    assert session_containers(docker_client) == []


SLOW_DAG = """\
import time

import pendulum
from airflow import DAG
from airflow.operators.python import PythonOperator

with DAG("slow", start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), schedule=None):
    PythonOperator(task_id="wait", python_callable=lambda: time.sleep(3600))
"""


def test_discovery_dag_reports_the_image(
    docker_client: Any, backend: DockerBackend, tmp_path: Path
) -> None:
    source = ROOT / "src" / "mwaadeps" / "data" / "mwaadeps_discover.py"
    if not source.is_file():
        pytest.skip("the discovery DAG (data/mwaadeps_discover.py) is not in this tree")
    dags = _dags(tmp_path / "dags", {"mwaadeps_discover.py": source.read_text()})
    result = backend.run(_installed(tmp_path, None), dags, "mwaadeps_discover",
                         {"variable": "found"}, {})  # fmt: skip
    assert result.state == "success", result.log
    report = json.loads(result.variables["found"])
    assert report["airflow"] == AIRFLOW
    assert report["packages"]["apache-airflow"] == AIRFLOW
    assert report["packages"]["apache-airflow-providers-amazon"]


@pytest.fixture(scope="module")
def example_dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example's bundle, built by `mwaadeps build` in a copy of examples/dsai-dev (build
    rewrites the lock, which must not change in the repository)."""
    if not (EXAMPLE / "mwaadeps.toml").is_file():
        pytest.skip("examples/dsai-dev is not there")
    tmp = tmp_path_factory.mktemp("example")
    project = tmp / "dsai-dev"
    shutil.copytree(EXAMPLE, project)
    proc = subprocess.run(
        [*MWAADEPS, "build", "--constraints", str(CONSTRAINTS), "--out", str(tmp / "dist")],
        cwd=project, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return tmp / "dist"


@pytest.mark.slow
def test_example_dags_parse_in_the_installed_example(
    installer: DockerInstaller, backend: DockerBackend, example_dist: Path, tmp_path: Path
) -> None:
    outcome = installer(example_dist)
    assert outcome.ok and outcome.image, outcome.lines
    dags = tmp_path / "dags"
    shutil.copytree(EXAMPLE / "dags", dags)
    (dags / "planted_broken.py").write_text(BROKEN_DAG)
    parsed = backend.parse(_installed(example_dist, outcome.image), dags)
    assert {d.dag_id for d in parsed.dags} == {"dsai_daily_summary", "dsai_warehouse_load"}
    assert {d.fileloc for d in parsed.dags} == {"daily_summary.py", "slack_alerts.py"}
    assert [e.filename for e in parsed.import_errors] == ["planted_broken.py"]


class _Signalled:
    """An installer that sets an event when an install ends (the test waits on it)."""

    def __init__(self, inner: DockerInstaller) -> None:
        self.inner = inner
        self.done = threading.Event()

    def __call__(self, dist: Path) -> Any:
        try:
            return self.inner(dist)
        finally:
            self.done.set()


@pytest.mark.slow
def test_sandbox_serves_the_example_with_real_airflow(
    installer: DockerInstaller, backend: DockerBackend, example_dist: Path, tmp_path: Path
) -> None:
    from mwaadeps.sandbox.server import Sandbox

    project = tmp_path / "dsai-dev"
    shutil.copytree(EXAMPLE, project)
    signalled = _Signalled(installer)
    with Sandbox(installer=signalled, backend=backend) as box:
        # moto's backends live in the process: another suite's sandbox may have left a bucket
        # of the same name (seed keeps an existing bucket as it is).
        box.reset()
        env = next(e for e in box.seed(project) if e.key == "dev")
        assert env.status == "AVAILABLE"
        mwaa, s3 = box.client("mwaa", env.region), box.client("s3", env.region)

        def api(method: str, path: str, **kw: Any) -> tuple[int, Any]:
            out = mwaa.invoke_rest_api(Name=env.name, Method=method, Path=path, **kw)
            return out["RestApiStatusCode"], out["RestApiResponse"]

        # Before the bundle: real Airflow cannot import the example's DAGs.
        status, errors = api("GET", "/importErrors")
        assert status == 200
        assert {e["filename"] for e in errors["import_errors"]} == {
            "/usr/local/airflow/dags/daily_summary.py",
            "/usr/local/airflow/dags/slack_alerts.py",
        }
        args: dict[str, str] = {}
        for name, arg in (("requirements.txt", "Requirements"), ("plugins.zip", "Plugins"),
                          ("startup.sh", "StartupScript")):  # fmt: skip
            data = (example_dist / name).read_bytes()
            put = s3.put_object(Bucket=env.bucket, Key=name, Body=data)
            args[f"{arg}S3Path"], args[f"{arg}S3ObjectVersion"] = name, put["VersionId"]
        mwaa.update_environment(Name=env.name, **args)
        assert signalled.done.wait(900), "the install did not end"
        # The emulator's own install thread ends after the installer returns.
        assert box.emulator.effects.install_finished.wait(60), "the install thread did not end"
        statuses = [mwaa.get_environment(Name=env.name)["Environment"]["Status"]
                    for _ in range(box.emulator.update_polls + 2)]  # fmt: skip
        assert statuses[-1] == "AVAILABLE", statuses

        status, body = api("GET", "/dags")
        assert status == 200
        by_id = {d["dag_id"]: d for d in body["dags"]}
        assert set(by_id) == {"dsai_daily_summary", "dsai_warehouse_load"}
        assert by_id["dsai_daily_summary"]["tags"] == [{"name": "dsai"}]
        assert by_id["dsai_daily_summary"]["fileloc"] == "/usr/local/airflow/dags/daily_summary.py"
        assert api("GET", "/importErrors")[1]["import_errors"] == []

        # A real run: the sensor and the plugin's operator (pandas, dsai_common) in dag.test.
        api("PATCH", "/dags/dsai_daily_summary", Body={"is_paused": False})
        api("POST", "/dags/dsai_daily_summary/dagRuns", Body={"dag_run_id": "r1"})
        states = []
        for _ in range(600):  # each GET of a running run waits on the run for a while
            states.append(api("GET", "/dags/dsai_daily_summary/dagRuns/r1")[1]["state"])
            if states[-1] in ("success", "failed"):
                break
        assert states[-1] == "success", states[-3:]
    assert session_containers(installer.client) == []


def test_factories_fall_back_when_there_is_no_image(docker_client: Any, runner_image: str) -> None:
    from mwaadeps.sandbox.docker_backend import make_installer
    from mwaadeps.sandbox.server import docker_installer

    assert docker_backend(None, airflow_version="9.9.9") is None
    none, why = make_installer("9.9.9")
    assert none is None and "No runner image for Airflow 9.9.9" in why
    found = docker_backend(None, airflow_version=AIRFLOW)
    assert found is not None and found.runner_image == runner_image
    made, why = docker_installer(AIRFLOW, runner_image)
    assert isinstance(made, DockerInstaller) and made.image == runner_image
    assert why == f"bundles are installed in {runner_image}"
    backend = docker_backend(made)
    assert backend is not None and backend.client is made.client
