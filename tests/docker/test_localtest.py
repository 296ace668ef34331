"""test-local and runner build against a real Docker engine (marked docker)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
from localtest_helpers import (
    AIRFLOW,
    BASE_IMAGE,
    CONSTRAINTS,
    FIND_LINKS,
    SESSION_LABELS,
    TINY_REQUIREMENTS,
    make_wheel,
    session_containers,
    write_bundle,
)

from mwaadeps.errors import DockerError
from mwaadeps.localtest.run import LocalTestReport, StepResult, run_bundle
from mwaadeps.progress import RecordingReporter

pytestmark = pytest.mark.docker

# The console script, run in a child process (as a user runs it).
MWAADEPS = [sys.executable, "-c", "from mwaadeps.cli.app import main; main()"]

GOOD_DAG = """\
import pendulum
from airflow import DAG
from airflow.operators.empty import EmptyOperator
import tinypkg

with DAG("tiny", start_date=pendulum.datetime(2024, 1, 1), schedule=None):
    EmptyOperator(task_id="noop")
"""


def _step(report: LocalTestReport, name: str) -> StepResult:
    return next(s for s in report.steps if s.name == name)


def _run(dist: Path, image: str, **kwargs: Any) -> LocalTestReport:
    return run_bundle(
        dist, image=image, reporter=RecordingReporter(), labels=SESSION_LABELS, **kwargs
    )


def test_small_bundle_passes(runner_image: str, tiny_wheels: Any, tmp_path: Path) -> None:
    dist = write_bundle(
        tmp_path / "dist",
        wheels=tiny_wheels,
        requirements=TINY_REQUIREMENTS,
        pinned={"tinypkg": "1.0", "tinydep": "1.0"},
    )
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "tiny_dag.py").write_text(GOOD_DAG)
    report = _run(dist, runner_image, dags=dags)
    assert report.ok, report.to_dict()
    assert [s.name for s in report.steps] == [
        "startup script",
        "bundle check",
        "pip install",
        "pinned versions",
        "imports",
        "pip check",
        "DAG import",
    ]
    assert report.installed["tinypkg"] == "1.0"
    assert report.installed["apache-airflow"] == AIRFLOW
    assert any("Successfully installed" in line for line in report.pip_output)
    assert "loaded 1 DAGs" in _step(report, "DAG import").message
    assert report.dag_import_errors == {}


def test_missing_wheel_is_named_before_pip(
    runner_image: str, tiny_wheels: Any, tmp_path: Path
) -> None:
    dist = write_bundle(
        tmp_path / "dist",
        wheels=tiny_wheels[:1],
        requirements=TINY_REQUIREMENTS,
        pinned={"tinypkg": "1.0", "tinydep": "1.0"},
    )
    report = _run(dist, runner_image)
    assert not report.ok
    check = _step(report, "bundle check")
    assert not check.ok and not check.skipped
    assert "no wheel for tinydep==1.0 in plugins.zip" in check.message
    assert report.failed == [check]
    assert _step(report, "pinned versions").status == "skipped"


def test_internet_requirement_fails_offline_and_says_why(runner_image: str, tmp_path: Path) -> None:
    dist = write_bundle(tmp_path / "dist", wheels=[], requirements="pyfiglet==1.0.2\n")
    report = _run(dist, runner_image)
    pip = _step(report, "pip install")
    assert not report.ok and not pip.ok
    assert "pyfiglet==1.0.2" in pip.message
    assert "no network" in pip.message
    assert "--no-index" in pip.message


def test_dag_import_error_names_the_file(
    runner_image: str, tiny_wheels: Any, tmp_path: Path
) -> None:
    dist = write_bundle(tmp_path / "dist", wheels=tiny_wheels, requirements=TINY_REQUIREMENTS)
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "tiny_dag.py").write_text(GOOD_DAG)
    (dags / "broken_dag.py").write_text("from airflow import DAG\nimport not_bundled_pkg\n")
    (dags / "helper.py").write_text("import also_missing\n")  # safe mode would skip it
    report = _run(dist, runner_image, dags=dags)
    dag_step = _step(report, "DAG import")
    assert not report.ok and not dag_step.ok
    assert set(report.dag_import_errors) == {"broken_dag.py", "helper.py"}
    assert "No module named 'not_bundled_pkg'" in report.dag_import_errors["broken_dag.py"]
    assert (
        "broken_dag.py: ModuleNotFoundError: No module named 'not_bundled_pkg'" in dag_step.message
    )
    assert "safe mode would not parse: helper.py" in dag_step.message
    assert _step(report, "pip install").ok


def test_wrong_platform_wheel_fails(runner_image: str, tmp_path: Path) -> None:
    arm = make_wheel(
        "tinynative",
        "1.0",
        {"tinynative/__init__.py": ""},
        tag="cp311-cp311-manylinux_2_17_aarch64",
    )
    dist = write_bundle(
        tmp_path / "dist",
        wheels=[arm],
        requirements=FIND_LINKS + "tinynative==1.0\n",
        pinned={"tinynative": "1.0"},
    )
    report = _run(dist, runner_image)
    check = _step(report, "bundle check")
    assert not report.ok and not check.ok
    assert "tinynative-1.0-cp311-cp311-manylinux_2_17_aarch64.whl" in check.message
    assert _step(report, "pip install").status == "skipped"


def test_startup_script_failure_is_reported(
    runner_image: str, tiny_wheels: Any, tmp_path: Path
) -> None:
    dist = write_bundle(
        tmp_path / "dist",
        wheels=tiny_wheels,
        requirements=TINY_REQUIREMENTS,
        startup="echo preparing things\nexit 3\n",
    )
    report = _run(dist, runner_image)
    startup = _step(report, "startup script")
    assert not report.ok and not startup.ok
    assert "exited with code 3" in startup.message
    assert "preparing things" in startup.message
    assert _step(report, "pip install").ok  # MWAA goes on to pip, and so do we


def test_startup_script_running_too_long_is_killed(
    runner_image: str, tiny_wheels: Any, tmp_path: Path
) -> None:
    dist = write_bundle(
        tmp_path / "dist",
        wheels=tiny_wheels,
        requirements=TINY_REQUIREMENTS,
        startup="echo starting\nsleep 600\n",
    )
    report = _run(dist, runner_image, startup_timeout=2)
    startup = _step(report, "startup script")
    assert not report.ok and not startup.ok
    assert "timed out after 2 s, as MWAA would kill it" in startup.message
    assert startup.seconds < 600


def test_startup_exports_reach_pip(runner_image: str, tiny_wheels: Any, tmp_path: Path) -> None:
    dist = write_bundle(
        tmp_path / "dist",
        wheels=tiny_wheels,
        requirements=TINY_REQUIREMENTS,
        startup="export PIP_NO_DEPS=1\n",
    )
    report = _run(dist, runner_image)
    assert "exports PIP_NO_DEPS" in _step(report, "startup script").message
    assert report.ok, report.to_dict()


def test_pinned_version_mismatch_fails(runner_image: str, tiny_wheels: Any, tmp_path: Path) -> None:
    dist = write_bundle(
        tmp_path / "dist",
        wheels=tiny_wheels,
        requirements=TINY_REQUIREMENTS,
        pinned={"tinypkg": "2.0"},
    )
    report = _run(dist, runner_image)
    pinned = _step(report, "pinned versions")
    assert not report.ok and not pinned.ok
    assert "tinypkg: 1.0 installed, manifest pins 2.0" in pinned.message


def test_broken_import_fails(runner_image: str, tmp_path: Path) -> None:
    bad = make_wheel("tinybad", "1.0", {"tinybad/__init__.py": "import not_declared_dep\n"})
    dist = write_bundle(tmp_path / "dist", wheels=[bad], requirements=FIND_LINKS + "tinybad==1.0\n")
    report = _run(dist, runner_image)
    imports = _step(report, "imports")
    assert not report.ok and not imports.ok
    assert "tinybad: import tinybad failed" in imports.message
    assert "not_declared_dep" in imports.message


def test_interrupt_removes_the_container(
    runner_image: str, docker_client: Any, tiny_wheels: Any, tmp_path: Path
) -> None:
    class Interrupting(RecordingReporter):
        def log(self, line: str) -> None:
            raise KeyboardInterrupt

    dist = write_bundle(tmp_path / "dist", wheels=tiny_wheels, requirements=TINY_REQUIREMENTS)
    with pytest.raises(KeyboardInterrupt):
        run_bundle(
            dist,
            image=runner_image,
            reporter=Interrupting(),
            client=docker_client,
            labels=SESSION_LABELS,
        )
    assert session_containers(docker_client) == []


def test_missing_image_says_how_to_get_one(docker_client: Any) -> None:
    from mwaadeps.localtest.docker import pick_image

    with pytest.raises(DockerError) as info:
        pick_image(docker_client, "9.9.9")
    assert "mwaadeps-runner:9.9.9" in info.value.message
    assert "amazon/mwaa-local:9_9" in info.value.message
    assert info.value.hint is not None
    assert "mwaadeps runner build --airflow-version 9.9.9" in info.value.hint
    assert "aws-mwaa-local-runner" in info.value.hint


def test_cli_json_exits_1_on_failure(runner_image: str, tiny_wheels: Any, tmp_path: Path) -> None:
    dist = write_bundle(tmp_path / "dist", wheels=tiny_wheels[:1], requirements=TINY_REQUIREMENTS)
    proc = subprocess.run(
        [
            *MWAADEPS,
            "test-local",
            "--dist",
            str(dist),
            "--image",
            runner_image,
            "--json",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert proc.returncode == 1, proc.stderr
    payload = json.loads(proc.stdout)
    assert payload["ok"] is False and payload["image"] == runner_image
    assert {"name", "ok", "status", "seconds", "message"} <= set(payload["steps"][1])
    assert payload["steps"][1]["name"] == "bundle check"
    assert payload["steps"][1]["status"] == "failed"
    assert payload["steps"][2]["name"] == "pip install"
    assert payload["steps"][2]["status"] == "skipped"
    assert set(payload) == {"ok", "error", "image", "steps", "installed", "dag_import_errors"}
    assert payload["error"]["code"] == "test_failed"
    assert "bundle check" in payload["error"]["message"]


def test_runner_build_is_a_noop_when_unchanged(runner_image: str) -> None:
    proc = subprocess.run(
        [
            *MWAADEPS,
            "runner",
            "build",
            "--airflow-version",
            AIRFLOW,
            "--constraints",
            str(CONSTRAINTS),
            "--base-image",
            BASE_IMAGE,
            "--json",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    payload = json.loads(proc.stdout)
    assert payload["built"] is False and payload["tag"] == runner_image
    assert payload["pip_version"] == "24.0"


@pytest.mark.slow
def test_example_bundle_passes(runner_image: str, tmp_path: Path) -> None:
    example = Path(__file__).resolve().parents[2] / "examples" / "dsai-dev"
    if not (example / "mwaadeps.toml").is_file():
        pytest.skip("examples/dsai-dev is not there")
    out = tmp_path / "dist"
    project = tmp_path / "dsai-dev"
    shutil.copytree(example, project)  # build rewrites the lock: not in the repository
    proc = subprocess.run(
        [*MWAADEPS, "build", "--constraints", str(CONSTRAINTS), "--out", str(out)],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    report = _run(out, runner_image, dags=example / "dags")
    assert report.ok, report.to_dict()
    assert "exports DSAI_DATA_BUCKET, DSAI_ENVIRONMENT" in _step(report, "startup script").message
    assert report.installed["pandas"] == "2.1.4"
    assert "loaded 2 DAGs" in _step(report, "DAG import").message
    with zipfile.ZipFile(out / "plugins.zip") as zf:
        assert "constraints.txt" in zf.namelist()
