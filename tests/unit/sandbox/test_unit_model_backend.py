"""The model backend's DAG parser and installed set, on files in tmp_path (no server)."""

from __future__ import annotations

import ast
import io
import json
import zipfile
from pathlib import Path

from mwaadeps.build.shipped import shipped
from mwaadeps.sandbox.emulator.model import (
    DISCOVERY_MARKER,
    Environment,
    ModelBackend,
    check_file,
    dag_files,
    dags_in,
    environment,
    import_names,
    installed_set,
    might_contain_dag,
)
from mwaadeps.sandbox.emulator.webserver import Installed

NO_IMPORTS = Environment({}, frozenset({"airflow", "pendulum", "__future__"}))


def _ids(source: str) -> list[str]:
    return [d.dag_id for d in dags_in(ast.parse(source), "f.py")]


def test_dag_ids_from_every_form() -> None:
    source = """
from airflow import DAG, models
from airflow.decorators import dag

a = DAG("positional")
b = models.DAG(dag_id="keyword", tags=["x", "y"])
with DAG(dag_id="context"):
    pass

@dag(dag_id="decorated")
def build():
    pass

@dag
def by_name():
    pass

@dag(schedule=None)
def never_called():
    pass

DAG(dag_id=compute())
build()
by_name()
"""
    assert _ids(source) == ["positional", "keyword", "context", "decorated", "by_name"]


def test_tags_and_owners_when_literal() -> None:
    source = """
from airflow import DAG
ARGS = {"owner": "data-team", "retries": 1}
DAG("one", tags=["a", "b"], default_args=ARGS)
DAG("two", default_args={"owner": "x"})
DAG("three", tags=TAGS)
"""
    infos = {d.dag_id: d for d in dags_in(ast.parse(source), "sub/f.py")}
    assert (infos["one"].tags, infos["one"].owners) == (("a", "b"), ("data-team",))
    assert infos["two"].owners == ("x",)
    assert (infos["three"].tags, infos["three"].owners) == ((), ("airflow",))
    assert infos["one"].fileloc == "sub/f.py"


def test_syntax_error_is_an_import_error_with_a_python_like_trace() -> None:
    dags, trace = check_file("bad.py", b"from airflow import DAG\nDAG('x'\n", NO_IMPORTS)
    assert dags == [] and trace is not None
    assert trace.startswith("Traceback (most recent call last):")
    assert 'File "/usr/local/airflow/dags/bad.py", line 2' in trace
    assert "SyntaxError" in trace


def test_the_first_unimportable_top_level_import_is_reported() -> None:
    source = b"import pendulum\nimport missing_one\nimport missing_two\nfrom airflow import DAG\n"
    dags, trace = check_file("m.py", source, NO_IMPORTS)
    assert dags == [] and trace is not None
    assert trace.splitlines()[-2:] == [
        "    import missing_one",
        "ModuleNotFoundError: No module named 'missing_one'",
    ]


def test_guarded_and_relative_imports_are_not_checked() -> None:
    source = (
        b"from airflow import DAG\ntry:\n    import optional_thing\nexcept ImportError:\n"
        b"    pass\nif False:\n    import never\nfrom . import sibling\nDAG('ok')\n"
    )
    dags, trace = check_file("g.py", source, NO_IMPORTS)
    assert trace is None and [d.dag_id for d in dags] == ["ok"]


def test_providers_need_their_distribution() -> None:
    env = Environment({"apache-airflow-providers-common-sql": "1.0"}, frozenset({"airflow"}))
    assert env.missing("airflow.providers.common.sql.operators.sql") is None
    assert env.missing("airflow.providers.slack.operators.x") == "airflow.providers.slack"
    assert env.missing("airflow.operators.empty") is None


def test_safe_mode() -> None:
    assert might_contain_dag(b"from airflow import DAG")
    assert not might_contain_dag(b"import airflow  # no d-word")
    assert not might_contain_dag(b"def dag(): pass")


def test_import_names_heuristics() -> None:
    assert "yaml" in import_names("PyYAML")
    assert "dateutil" in import_names("python-dateutil")
    assert "google" in import_names("google-cloud-storage")
    assert "typing_extensions" in import_names("typing_extensions")


def _wheel(name: str, version: str, top: str | None, module: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr(f"{module}/__init__.py", "")
        if top is not None:
            zf.writestr(f"{name}-{version}.dist-info/top_level.txt", top + "\n")
        zf.writestr(f"{name}-{version}.dist-info/RECORD", f"{module}/__init__.py,,\n")
    return buf.getvalue()


def _bundle(tmp_path: Path, requirements: str, plugins: dict[str, bytes]) -> Installed:
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    (bundle / "requirements.txt").write_text(requirements)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in plugins.items():
            zf.writestr(name, data)
    (bundle / "plugins.zip").write_bytes(buf.getvalue())
    return Installed("2.9.2", "3.11.9", bundle)


def test_the_environment_knows_plugins_wheels_and_requirements(tmp_path: Path) -> None:
    installed = _bundle(
        tmp_path,
        "humanize==4.9.0\nsome-lib\n",
        {
            "operators/x.py": b"",
            "flat_helper.py": b"",
            "wheels/dsai_common-1.2.0-py3-none-any.whl": _wheel(
                "dsai_common", "1.2.0", "dsai_tools", "dsai_tools"
            ),
            "plain-0.1-py3-none-any.whl": _wheel("plain", "0.1", None, "plainmod"),
        },
    )
    dags = tmp_path / "dags"
    (dags / "shared").mkdir(parents=True)
    env = environment(installed, dags)
    for module in ("operators", "flat_helper", "dsai_tools", "plainmod", "humanize",
                   "some_lib", "shared", "json", "yaml"):  # fmt: skip
        assert env.missing(module) is None, module
    assert env.missing("not_here") == "not_here"
    packages = installed_set(installed)
    assert packages["humanize"] == "4.9.0" and packages["dsai-common"] == "1.2.0"
    assert packages["plain"] == "0.1" and packages["some-lib"] == ""


def test_parse_reports_duplicates_and_skips_non_dag_files(tmp_path: Path) -> None:
    installed = _bundle(tmp_path, "", {})
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "a.py").write_text("from airflow import DAG\nDAG('same')\n")
    (dags / "b.py").write_text("from airflow import DAG\nDAG('same')\n")
    (dags / "helper.py").write_text("import not_installed_anywhere\n")
    (dags / ".hidden").mkdir()
    (dags / ".hidden" / "c.py").write_text("from airflow import DAG\nDAG('hidden')\n")
    result = ModelBackend().parse(installed, dags)
    assert [(d.dag_id, d.fileloc) for d in result.dags] == [("same", "a.py")]
    assert [e.filename for e in result.import_errors] == ["b.py"]
    assert "AirflowDagDuplicatedIdException" in result.import_errors[0].stack_trace


def test_discovery_run_sets_the_variable_with_drift(tmp_path: Path) -> None:
    installed = _bundle(tmp_path, "requests==2.32.3\n", {})
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "disc.py").write_text(
        f"{DISCOVERY_MARKER}\nfrom airflow import DAG\nDAG('mwaadeps_discover')\n"
    )
    (dags / "plain.py").write_text("from airflow import DAG\nDAG('plain')\n")
    backend = ModelBackend(drift=lambda: {"Requests": "1.0", "pendulum": None})
    plain = backend.run(installed, dags, "plain", {}, {})
    assert (plain.state, dict(plain.variables)) == ("success", {})
    assert backend.run(installed, dags, "absent", {}, {}).state == "failed"
    result = backend.run(installed, dags, "mwaadeps_discover", {"variable": "v"}, {})
    assert result.state == "success" and set(result.variables) == {"v"}
    value = json.loads(result.variables["v"])
    preinstalled = shipped("2.9.2", "preinstalled")
    assert preinstalled is not None and "pendulum==" in preinstalled.text()
    assert value["packages"]["requests"] == "1.0"
    assert "pendulum" not in value["packages"]
    assert (value["format"], value["airflow"], value["python"]) == (1, "2.9.2", "3.11.9")


def test_airflowignore_and_hidden_files_are_not_parsed(tmp_path: Path) -> None:
    dags = tmp_path / "dags"
    for rel in ("keep.py", "scratch_one.py", "team/keep2.py", "team/old/x.py",
                "vendor/lib.py", ".hidden.py", "notes.txt"):  # fmt: skip
        (dags / rel).parent.mkdir(parents=True, exist_ok=True)
        (dags / rel).write_text("")
    (dags / ".airflowignore").write_text("scratch_.*\n^vendor  # third-party code\n")
    (dags / "team" / ".airflowignore").write_text("^old\n")
    assert [rel for rel, _ in dag_files(dags)] == ["keep.py", "team/keep2.py"]


def test_compile_time_errors_show_their_line() -> None:
    source = b"from airflow import DAG\nDAG('x')\nreturn 1\n"
    _, trace = check_file("r.py", source, NO_IMPORTS)
    assert trace is not None
    assert trace.splitlines()[-4:-2] == [
        '  File "/usr/local/airflow/dags/r.py", line 3',
        "    return 1",
    ]
    assert trace.rstrip().endswith("SyntaxError: 'return' outside function")
