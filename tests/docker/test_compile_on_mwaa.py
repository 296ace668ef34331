"""apache-airflow-providers-mysql for MWAA 2.9.2: mysqlclient is sdist-only on Linux, so the
bundle carries its sdist and build requirements, and pip compiles it offline in the runner
(MWAA's toolchain), as on a worker. Real PyPI for the build, no network in the container."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
from localtest_helpers import AIRFLOW, BASE_IMAGE, CONSTRAINTS, SESSION_LABELS

from mwaadeps.localtest.run import run_bundle
from mwaadeps.progress import RecordingReporter

pytestmark = [pytest.mark.docker, pytest.mark.network]

# Not mwaadeps-runner:<version>: other runs on the engine may hold that tag for another base.
TAG = f"mwaadeps-runner:{AIRFLOW}-toolchain"

MYSQL_DAG = """\
import pendulum
from airflow import DAG
from airflow.operators.empty import EmptyOperator
from airflow.providers.mysql.hooks.mysql import MySqlHook
import MySQLdb
from MySQLdb import _mysql

assert _mysql.__file__.endswith(".so"), _mysql.__file__
assert MySqlHook.conn_type == "mysql"

with DAG("mysql_compiled", start_date=pendulum.datetime(2024, 1, 1), schedule=None):
    EmptyOperator(task_id="noop")
"""


def _cache(request: pytest.FixtureRequest, name: str) -> Path:
    store = getattr(request.config, "cache", None)
    if store is not None:
        return Path(store.mkdir(name))
    return Path(request.getfixturevalue("tmp_path_factory").mktemp(name))


@pytest.fixture(scope="module")
def toolchain_runner(docker_client: Any, request: pytest.FixtureRequest) -> str:
    """The runner image for 2.9.2 from the toolchain base (a no-op when unchanged)."""
    from docker.errors import ImageNotFound

    from mwaadeps.config import load_settings
    from mwaadeps.localtest.image import build_runner_image

    if not CONSTRAINTS.is_file():
        pytest.skip(f"the Airflow {AIRFLOW} constraints file {CONSTRAINTS} is missing")
    try:
        docker_client.images.get(BASE_IMAGE)
    except ImageNotFound:
        pytest.skip(f"base image {BASE_IMAGE} is missing; run scripts/ensure-docker.sh")
    settings = load_settings(
        {"airflow_version": AIRFLOW, "constraints": str(CONSTRAINTS),
         "cache_dir": _cache(request, "mwaadeps-docker") / "c"},
        env={},
    )  # fmt: skip
    image = build_runner_image(
        settings, base_image=BASE_IMAGE, tag=TAG, reporter=RecordingReporter(),
        client=docker_client,
    )  # fmt: skip
    return image.tag


def test_mysql_provider_compiles_offline_on_the_runner(
    toolchain_runner: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    project = tmp_path / "proj"
    project.mkdir()
    (project / "requirements.txt").write_text("apache-airflow-providers-mysql\n")
    (project / "mwaadeps.toml").write_text(
        f'airflow-version = "{AIRFLOW}"\nconstraints = "{CONSTRAINTS}"\n'
    )
    cache = _cache(request, "mwaadeps-compile") / "c"
    # Downloads stay cached across runs; the verdict does not: the trial build runs each time.
    shutil.rmtree(cache / "sdist", ignore_errors=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_", "MWAADEPS_"))}
    env.update({"MWAADEPS_CACHE_DIR": str(cache), "MWAADEPS_COMPILE_IMAGE": BASE_IMAGE,
                "NO_COLOR": "1"})  # fmt: skip
    proc = subprocess.run(
        [sys.executable, "-c", "from mwaadeps.cli.app import main; main()", "build", "--json"],
        cwd=project, env=env, capture_output=True, text=True, timeout=1800, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    data = json.loads(proc.stdout)
    compiled = {c["name"]: c for c in data["compiled_on_mwaa"]}
    assert set(compiled) == {"mysqlclient"}, compiled
    mysqlclient = compiled["mysqlclient"]
    assert mysqlclient["trial_built"] is True
    assert mysqlclient["checked"] == f"trial build in image {BASE_IMAGE}"
    assert any(r.startswith("setuptools==") for r in mysqlclient["build_requires"])
    version = mysqlclient["version"]
    dist = project / "dist"
    with zipfile.ZipFile(dist / "plugins.zip") as zf:
        names = zf.namelist()
    assert mysqlclient["filename"] in names and mysqlclient["filename"].endswith(".tar.gz")
    assert any(n.startswith("setuptools-") and n.endswith(".whl") for n in names)
    assert f"mysqlclient=={version}" in (dist / "requirements.txt").read_text().splitlines()

    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "mysql_dag.py").write_text(MYSQL_DAG)
    report = run_bundle(
        dist, image=toolchain_runner, dags=dags, reporter=RecordingReporter(),
        labels=SESSION_LABELS,
    )  # fmt: skip
    assert report.ok, report.to_dict()
    assert report.network is False
    assert report.installed["mysqlclient"] == version
    assert any("Building wheel for mysqlclient" in line for line in report.pip_output), (
        report.pip_output[-20:]
    )
    assert report.dag_import_errors == {}
    dag_step = next(s for s in report.steps if s.name == "DAG import")
    assert "loaded 1 DAGs" in dag_step.message
