"""discover against the sandbox over real HTTP: the discovery DAG runs through InvokeRestApi
on the emulator, whose model of the installed set carries a planted drift."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from mwaadeps.build.base import base_snapshot, read_override
from mwaadeps.build.constraints import load_constraints
from mwaadeps.build.shipped import shipped
from mwaadeps.config import load_settings
from mwaadeps.deploy import apply as deploy_apply
from mwaadeps.deploy import discover as core
from mwaadeps.deploy.aws import connect
from mwaadeps.deploy.restapi import AirflowApi
from mwaadeps.errors import DiscoverFailed, DiscoverTimeout
from mwaadeps.progress import RecordingReporter
from mwaadeps.sandbox.emulator.webserver import DagInfo, ImportErrorInfo, ParseResult, RunResult
from mwaadeps.sandbox.server import Sandbox

from .conftest import FAST, Project, new_project, point_at_sandbox

BUCKET = "dsai-airflow-dags"
FAST_DISCOVER = core.DiscoverOptions(poll_interval=0.0, timeout=60.0)


def _preinstalled() -> dict[str, str]:
    """The emulator's model of the 2.9.2 image (the shipped preinstalled.txt)."""
    found = shipped("2.9.2", "preinstalled")
    assert found is not None
    out = {}
    for line in found.text().splitlines():
        name, sep, version = line.strip().partition("==")
        if sep and not name.startswith("#"):
            out[name.lower().replace("_", "-").replace(".", "-")] = version
    return out


def _predicted(project: Project) -> dict[str, str]:
    settings = load_settings({}, env={}, cwd=project.root)
    snapshot = base_snapshot(settings.target, load_constraints(settings))
    assert snapshot is not None
    return snapshot


def _agreeing(project: Project, count: int) -> list[str]:
    """Packages the image model and the prediction agree on (so only a plant can move them)."""
    image, predicted = _preinstalled(), _predicted(project)
    same = sorted(n for n, v in image.items() if predicted.get(n) == v and n != "apache-airflow")
    assert len(same) >= count
    return same[:count]


def _versions_under(project: Project, prefix: str) -> list[tuple[str, str]]:
    listed = project.client("s3").list_object_versions(Bucket=BUCKET, Prefix=prefix)
    rows = [(v["Key"], v["VersionId"]) for v in listed.get("Versions", [])]
    rows += [(d["Key"], "delete-marker") for d in listed.get("DeleteMarkers", [])]
    return sorted(rows)


def _api(project: Project) -> AirflowApi:
    return AirflowApi(connect(project.env()), "dsai-dev-mwaa")


def _assert_nothing_left(project: Project, before: list[tuple[str, str]], variable: str) -> None:
    assert _versions_under(project, "dags/") == before  # not even a version or delete marker
    api = _api(project)
    assert core.DAG_ID not in {d["dag_id"] for d in api.dags()}
    if variable:
        assert api.variable(variable) is None


def test_discover_reports_a_planted_difference_and_leaves_nothing(project: Project) -> None:
    changed, gone = _agreeing(project, 2)
    project.sandbox.faults(installed_drift={changed: "0.0.1", gone: None, "planted-extra": "1.2.3"})
    before = _versions_under(project, "dags/")
    run = project.cli("discover", "--env", "dev", "--json")
    assert run.returncode == 0, run.stdout + run.stderr
    data = json.loads(run.stdout)
    assert data["environment"] == "dsai-dev-mwaa"
    assert data["airflow_version"] == "2.9.2" and data["python_version"].startswith("3.11")
    diffs: dict[str, Any] = {d["name"]: d for d in data["prediction"]["differences"]}
    predicted = _predicted(project)
    assert diffs[changed] == {
        "name": changed,
        "kind": "changed",
        "predicted": predicted[changed],
        "live": "0.0.1",
    }
    assert diffs[gone] == {
        "name": gone,
        "kind": "missing",
        "predicted": predicted[gone],
        "live": None,
    }
    assert diffs["planted-extra"]["kind"] == "extra" and diffs["planted-extra"]["live"] == "1.2.3"
    assert data["packages"][changed] == "0.0.1" and gone not in data["packages"]
    # The image compiles psycopg2 itself: live, never predicted, and no difference.
    assert "psycopg2" in data["packages"] and "psycopg2" not in diffs
    assert data["bundle"] is None  # nothing deployed yet
    assert data["cleanup"] == []
    assert data["variable"].startswith("mwaadeps_discover_")
    _assert_nothing_left(project, before, data["variable"])


def test_discover_compares_with_the_deployed_bundle(project: Project) -> None:
    result = deploy_apply.deploy(project.env(), project.dist, FAST)
    assert result.ok
    project.sandbox.faults(installed_drift={"requests": "2.31.0"})
    settings = load_settings({}, env={}, cwd=project.root)
    slept: list[float] = []
    options = replace(FAST_DISCOVER, poll_interval=7.0, sleep=slept.append)
    report = core.discover(settings, "dev", options, RecordingReporter())
    assert slept and set(slept) == {7.0}  # the injected sleep, never a real one
    assert report.bundle is not None
    assert report.bundle.source == f"deployment record {result.record_id}"
    assert [(d.name, d.kind, d.expected, d.live) for d in report.bundle.differences] == [
        ("requests", "changed", "2.32.3", "2.31.0")
    ]
    # requests is the bundle's: its image version is the prediction's, not the live one.
    assert report.base["requests"] == _predicted(project)["requests"]
    assert report.packages["requests"] == "2.31.0"


def test_write_records_the_override_and_lock_uses_it(project: Project) -> None:
    (changed,) = _agreeing(project, 1)
    project.sandbox.faults(installed_drift={changed: "0.0.1"})
    toml_before = (project.root / "mwaadeps.toml").read_text()
    run = project.cli("discover", "--env", "dev", "--write")
    assert run.returncode == 0, run.stdout + run.stderr
    override = project.root / "mwaadeps-installed-dev.txt"
    assert f"Wrote {override}" in " ".join(run.stdout.split())
    found = read_override(override, "dev")
    assert found.environment == "dsai-dev-mwaa" and found.airflow_version == "2.9.2"
    assert found.packages[changed] == "0.0.1"
    assert (
        override.read_text()
        .splitlines()[0]
        .startswith("# mwaadeps discover: environment dsai-dev-mwaa, Airflow 2.9.2, Python 3.11")
    )
    toml_after = (project.root / "mwaadeps.toml").read_text()
    assert toml_after == toml_before.replace(
        "[environments.dev]\n", '[environments.dev]\ninstalled = "mwaadeps-installed-dev.txt"\n'
    )
    assert load_settings({}, env={}, cwd=project.root).environment("dev").installed == override

    # The next discovery compares with the committed override too: the same set matches it,
    # a new drift is named against it.
    settings = load_settings({}, env={}, cwd=project.root)
    same = core.discover(settings, "dev", FAST_DISCOVER)
    assert same.override is not None and same.override.differences == ()
    assert same.override.compared == len(found.packages)
    project.sandbox.faults(installed_drift={changed: "0.0.2"})
    moved = core.discover(settings, "dev", FAST_DISCOVER)
    assert moved.override is not None
    assert [(d.name, d.kind, d.expected, d.live) for d in moved.override.differences] == [
        (changed, "changed", "0.0.1", "0.0.2")
    ]
    again = project.cli("discover", "--env", "dev")
    assert "to update the override" in " ".join(again.stdout.split())


def test_timeout_is_exit_75_and_cleans_up(project: Project) -> None:
    before = _versions_under(project, "dags/")
    run = project.cli("discover", "--env", "dev", "--timeout", "0")
    assert run.returncode == 75, run.stdout + run.stderr
    assert "Traceback" not in run.stderr
    assert "--timeout" in run.stdout + run.stderr
    _assert_nothing_left(project, before, "")
    settings = load_settings({}, env={}, cwd=project.root)
    with pytest.raises(DiscoverTimeout):
        core.discover(
            settings, "dev", core.DiscoverOptions(poll_interval=0.0, timeout=0.0, token="t1")
        )
    _assert_nothing_left(project, before, "mwaadeps_discover_t1")


def test_a_foreign_file_of_that_name_is_refused(project: Project) -> None:
    s3 = project.client("s3")
    s3.put_object(Bucket=BUCKET, Key="dags/mwaadeps_discover.py", Body=b"# my own DAG\n")
    before = _versions_under(project, "dags/")
    settings = load_settings({}, env={}, cwd=project.root)
    with pytest.raises(DiscoverFailed, match="is not mwaadeps' discovery DAG"):
        core.discover(settings, "dev", FAST_DISCOVER)
    assert _versions_under(project, "dags/") == before


class _BrokenAirflow:
    """An Airflow backend that goes wrong in one chosen way (the emulator stays real)."""

    name = "broken"

    def __init__(self) -> None:
        self.mode = "import"

    def parse(self, installed: Any, dags_dir: Any) -> ParseResult:
        files = sorted(p.name for p in dags_dir.glob("*.py"))
        if self.mode == "import":
            trace = "Traceback (most recent call last):\nModuleNotFoundError: No module named 'x'"
            return ParseResult((), tuple(ImportErrorInfo(f, trace) for f in files))
        return ParseResult(tuple(DagInfo(core.DAG_ID, f) for f in files if f == core.DAG_FILE), ())

    def run(
        self, installed: Any, dags_dir: Any, dag_id: str, conf: Any, variables: Any
    ) -> RunResult:
        return RunResult("failed" if self.mode == "fail" else "success", {}, ("boom",))


@pytest.fixture(scope="module")
def broken() -> Iterator[tuple[Sandbox, _BrokenAirflow]]:
    backend = _BrokenAirflow()
    box = Sandbox("127.0.0.1", 0, update_polls=2, backend=backend)
    box.start()
    yield box, backend
    box.stop()


@pytest.mark.parametrize(
    ("mode", "message"),
    [
        ("import", "cannot import the discovery DAG.*ModuleNotFoundError: No module named 'x'"),
        ("fail", "The discovery run mwaadeps_discover_b1 of mwaadeps_discover failed"),
        ("novar", "succeeded but Airflow Variable mwaadeps_discover_b1 .* is not set"),
    ],
)
def test_a_broken_airflow_is_reported_and_cleaned_up(
    broken: tuple[Sandbox, _BrokenAirflow],
    mode: str,
    message: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    box, backend = broken
    backend.mode = mode
    point_at_sandbox(box, monkeypatch, tmp_path)
    project = new_project(tmp_path, box)
    before = _versions_under(project, "dags/")
    settings = load_settings({}, env={}, cwd=project.root)
    with pytest.raises(DiscoverFailed, match=re.compile(message, re.S)) as exc:
        core.discover(settings, "dev", replace(FAST_DISCOVER, token="b1"))
    assert not isinstance(exc.value, DiscoverTimeout)
    assert exc.value.hint
    _assert_nothing_left(project, before, "mwaadeps_discover_b1")


def test_an_updating_environment_is_refused_before_any_upload(project: Project) -> None:
    project.sandbox.set_status("dsai-dev-mwaa", "UPDATING")
    before = _versions_under(project, "dags/")
    run = project.cli("discover", "--env", "dev", "--json")
    assert run.returncode == 5, run.stdout + run.stderr
    error = json.loads(run.stdout)["error"]
    assert error["code"] == "discover_failed"
    assert "dsai-dev-mwaa is UPDATING" in error["message"] and "AVAILABLE" in error["hint"]
    assert _versions_under(project, "dags/") == before


def test_a_leftover_discovery_dag_is_kept_and_named(project: Project) -> None:
    from importlib import resources

    dag = resources.files("mwaadeps").joinpath("data/mwaadeps_discover.py").read_bytes()
    project.client("s3").put_object(Bucket=BUCKET, Key="dags/mwaadeps_discover.py", Body=dag)
    before = _versions_under(project, "dags/")
    settings = load_settings({}, env={}, cwd=project.root)
    report = core.discover(settings, "dev", FAST_DISCOVER)
    assert any("was there before" in note for note in report.notes)
    assert report.packages and report.cleanup == ()
    assert _versions_under(project, "dags/") == before  # only the version discover wrote went
