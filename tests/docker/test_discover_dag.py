"""The shipped discovery DAG under real Airflow (the runner image): DagBag loads it, and
dag.test() with conf {"variable": ...} leaves that Variable holding the installed set."""

from __future__ import annotations

import io
import json
import tarfile
from importlib import resources
from typing import Any

import pytest
from localtest_helpers import SESSION_LABELS

pytestmark = [pytest.mark.docker, pytest.mark.slow]

SCRIPT = r"""
set -e
export AIRFLOW__CORE__LOAD_EXAMPLES=False
export AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=sqlite:////tmp/discover/airflow.db
export AIRFLOW__CORE__DAGS_FOLDER=/tmp/discover/dags
airflow db migrate > /tmp/discover/db.log 2>&1 || { tail -20 /tmp/discover/db.log; exit 1; }
python3 - <<'PY'
import json, platform
from airflow.models import DagBag, Variable
bag = DagBag("/tmp/discover/dags", include_examples=False, safe_mode=True)
dag = bag.get_dag("mwaadeps_discover")
run = dag.test(run_conf={"variable": "mwaadeps_discover_docker"})
print("@@result@@" + json.dumps({
    "errors": {k: str(v) for k, v in bag.import_errors.items()},
    "tasks": [t.task_id for t in dag.tasks], "tags": sorted(dag.tags),
    "state": str(run.state), "python": platform.python_version(),
    "value": Variable.get("mwaadeps_discover_docker"),
}))
PY
"""


def _archive() -> bytes:
    """/tmp/discover (writable by the airflow user) holding dags/mwaadeps_discover.py."""
    data = resources.files("mwaadeps").joinpath("data/mwaadeps_discover.py").read_bytes()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for folder in ("discover", "discover/dags"):
            info = tarfile.TarInfo(folder)
            info.type, info.mode = tarfile.DIRTYPE, 0o777
            tar.addfile(info)
        info = tarfile.TarInfo("discover/dags/mwaadeps_discover.py")
        info.size, info.mode = len(data), 0o644
        tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def test_discovery_dag_runs_on_real_airflow(docker_client: Any, runner_image: str) -> None:
    container = docker_client.containers.create(
        runner_image,
        command=["bash", "-c", SCRIPT],
        user="airflow",
        network_disabled=True,
        labels=SESSION_LABELS,
    )
    try:
        container.put_archive("/tmp", _archive())
        container.start()
        status = container.wait(timeout=600)
        logs = container.logs().decode("utf-8", "replace")
    finally:
        container.remove(force=True)
    assert status["StatusCode"] == 0, logs[-3000:]
    line = next(ln for ln in logs.splitlines() if ln.startswith("@@result@@"))
    result = json.loads(line[len("@@result@@") :])
    assert result["errors"] == {}
    assert result["tasks"] == ["freeze"] and result["tags"] == ["mwaadeps"]
    assert result["state"].endswith("success")
    doc = json.loads(result["value"])
    assert doc["format"] == 1 and doc["airflow"] == "2.9.2"
    assert doc["python"] == result["python"]
    assert doc["packages"]["apache-airflow"] == "2.9.2"
    assert all(n == n.lower() and "_" not in n for n in doc["packages"])
