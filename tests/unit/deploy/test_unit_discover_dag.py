"""The shipped discovery DAG: its marker, and its task under Airflow 2's and 3's module layouts.

Airflow is not installed here, so each test runs the DAG file in a child Python whose
``airflow`` package is a minimal stand-in with only the names of one layout: the import
fallbacks and the task's JSON are what is under test, not Airflow.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from importlib import resources
from pathlib import Path

import pytest

DAG_TEXT = resources.files("mwaadeps").joinpath("data/mwaadeps_discover.py").read_text()

_COMMON = {
    "airflow/__init__.py": """
        __version__ = "{version}"
        {dag_in_root}
    """,
    "airflow/_stub.py": """
        import json, os
        class DAG:
            def __init__(self, dag_id, **kw):
                self.dag_id, self.kw, self.tasks = dag_id, kw, []
            def __enter__(self):
                DAG.current = self
                return self
            def __exit__(self, *a):
                DAG.current = None
        class PythonOperator:
            def __init__(self, task_id, python_callable):
                self.task_id, self.python_callable = task_id, python_callable
                DAG.current.tasks.append(self)
        class Variable:
            @classmethod
            def set(cls, key, value):
                with open(os.environ["VARIABLES_OUT"], "a") as f:
                    row = {{"key": key, "value": value, "via": "{variable_home}"}}
                    f.write(json.dumps(row) + "\\n")
    """,
}
_AIRFLOW2 = {
    "airflow/operators/__init__.py": "",
    "airflow/operators/python.py": "from airflow._stub import PythonOperator\n",
    "airflow/models/__init__.py": "from airflow._stub import Variable\n",
}
_AIRFLOW3 = {
    "airflow/sdk/__init__.py": "from airflow._stub import DAG, Variable\n",
    "airflow/providers/__init__.py": "",
    "airflow/providers/standard/__init__.py": "",
    "airflow/providers/standard/operators/__init__.py": "",
    "airflow/providers/standard/operators/python.py": "from airflow._stub import PythonOperator\n",
}

_RUN = """
import json, sys, types
sys.path.insert(0, sys.argv[1])
ns = {"__name__": "mwaadeps_discover"}
exec(compile(open(sys.argv[2]).read(), sys.argv[2], "exec"), ns)
dag = ns["dag"]
run = types.SimpleNamespace(conf=json.loads(sys.argv[3]))
task = dag.tasks[0]
key = task.python_callable(dag_run=run, ti=None)
print(json.dumps({"dag_id": dag.dag_id, "task_id": task.task_id, "key": key,
                  "tags": dag.kw.get("tags"), "schedule": dag.kw.get("schedule", "unset"),
                  "catchup": dag.kw.get("catchup")}))
"""


def _fake_airflow(root: Path, major: int) -> None:
    files = dict(_COMMON)
    files.update(_AIRFLOW3 if major == 3 else _AIRFLOW2)
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        body = textwrap.dedent(text).format(
            version="3.0.6" if major == 3 else "2.9.2",
            dag_in_root="" if major == 3 else "from airflow._stub import DAG",
            variable_home="airflow.sdk" if major == 3 else "airflow.models",
        )
        path.write_text(body)


def _run_dag(
    tmp_path: Path, major: int, conf: dict[str, str]
) -> tuple[dict[str, object], list[dict[str, str]]]:
    site = tmp_path / f"site{major}"
    _fake_airflow(site, major)
    dag_file = tmp_path / "mwaadeps_discover.py"
    dag_file.write_text(DAG_TEXT)
    out = tmp_path / f"vars{major}.jsonl"
    proc = subprocess.run(
        [sys.executable, "-c", _RUN, str(site), str(dag_file), json.dumps(conf)],
        capture_output=True,
        text=True,
        env={"VARIABLES_OUT": str(out), "PATH": "/usr/bin:/bin"},
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    sets = [json.loads(line) for line in out.read_text().splitlines()]
    return json.loads(proc.stdout), sets


def test_first_line_is_the_marker() -> None:
    assert DAG_TEXT.splitlines()[0] == "# mwaadeps: discovery-dag v1"
    # Airflow's safe-mode DagBag skips files lacking both words.
    assert "airflow" in DAG_TEXT.lower() and "dag" in DAG_TEXT.lower()


@pytest.mark.parametrize(("major", "home"), [(2, "airflow.models"), (3, "airflow.sdk")])
def test_task_writes_the_named_variable(tmp_path: Path, major: int, home: str) -> None:
    info, sets = _run_dag(tmp_path, major, {"variable": "mwaadeps_discover_abc"})
    assert info["dag_id"] == "mwaadeps_discover"
    assert info["task_id"] == "freeze"
    assert info["tags"] == ["mwaadeps"]
    assert info["schedule"] is None and info["catchup"] is False
    assert info["key"] == "mwaadeps_discover_abc"
    assert len(sets) == 1 and sets[0]["key"] == "mwaadeps_discover_abc"
    assert sets[0]["via"] == home
    doc = json.loads(sets[0]["value"])
    assert doc["format"] == 1
    assert doc["airflow"] == ("3.0.6" if major == 3 else "2.9.2")
    assert doc["python"] == ".".join(map(str, sys.version_info[:3]))
    packages = doc["packages"]
    # The child runs this interpreter: pytest is installed, names are canonical.
    assert packages["pytest"] == pytest.__version__
    assert all(name == name.lower() and "_" not in name and "." not in name for name in packages)
    assert list(packages) == sorted(packages)


def test_default_variable_without_conf(tmp_path: Path) -> None:
    info, sets = _run_dag(tmp_path, 2, {})
    assert info["key"] == "mwaadeps_discover"
    assert sets[0]["key"] == "mwaadeps_discover"
