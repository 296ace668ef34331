"""A discovery run whose Variable holds an implausible snapshot (no packages, or no
apache-airflow: a broken worker, or another DAG wrote it) is a failure, never an override:
`discover --write` must not record an empty base install for lock/build/check to trust.
The emulator is real; only the Airflow backend's run result is planted."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from deploy.conftest import new_project, point_at_sandbox
from mwaadeps.sandbox.emulator.model import ModelBackend
from mwaadeps.sandbox.emulator.webserver import Installed, RunResult
from mwaadeps.sandbox.server import Sandbox


class _PlantedSnapshot(ModelBackend):
    """The model backend, but the discovery run writes ``packages`` as its snapshot."""

    def __init__(self) -> None:
        super().__init__()
        self.packages: dict[str, str] = {}

    def run(
        self,
        installed: Installed,
        dags_dir: Path,
        dag_id: str,
        conf: Mapping[str, Any],
        variables: Mapping[str, str],
    ) -> RunResult:
        snapshot = {"format": 1, "python": "3.11.9", "airflow": "2.9.2", "packages": self.packages}
        return RunResult("success", {str(conf["variable"]): json.dumps(snapshot)})


@pytest.fixture(scope="module")
def planted() -> Iterator[tuple[Sandbox, _PlantedSnapshot]]:
    backend = _PlantedSnapshot()
    box = Sandbox("127.0.0.1", 0, update_polls=2, backend=backend)
    box.start()
    yield box, backend
    box.stop()


@pytest.mark.parametrize(
    "packages", [{}, {"requests": "2.32.3", "pip": "24.0"}], ids=["empty", "no-airflow"]
)
def test_an_implausible_snapshot_is_refused_and_nothing_written(
    planted: tuple[Sandbox, _PlantedSnapshot],
    packages: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    box, backend = planted
    backend.packages = packages
    point_at_sandbox(box, monkeypatch, tmp_path)
    project = new_project(tmp_path, box)
    config = project.root / "mwaadeps.toml"
    before = config.read_bytes()
    run = project.cli("discover", "--env", "dev", "--write", "--json")
    assert run.returncode != 0, run.stdout + run.stderr
    error = json.loads(run.stdout)["error"]
    assert error["code"] == "discover_failed" and "apache-airflow" in error["message"]
    assert config.read_bytes() == before
    assert not list(project.root.glob("mwaadeps-installed-*"))
