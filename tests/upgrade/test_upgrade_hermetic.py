"""`mwaadeps upgrade` on the fake index (127.0.0.1): 2.9.2 -> 2.11.0, Python 3.11 -> 3.12."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import fakeworld
import pytest
from buildkit import run_cli
from fakeworld import Server

OLD_CONSTRAINTS = fakeworld.CONSTRAINTS + (
    "apache-airflow-providers-tabular==1.5.1\nfake-provider==1.0.0\n"
)
# 2.11.0's: tabular gone, fake-provider moved on, the rest as in 2.9.2.
NEW_CONSTRAINTS = "# Fake Airflow 2.11.0 constraints.\n" + "".join(
    f"{n}=={v}\n" for n, v in sorted({**fakeworld.PINS, "fake-provider": "2.0.0"}.items())
)


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    world = fakeworld.build_world(with_build_backend=False)
    world.wheel("apache-airflow", "2.11.0", requires=[
        "requests>=2.27", "shared-util>=1.0",
        'celery>=5.3; extra == "celery"', 'statsd>=4; extra == "statsd"',
    ], extras=["celery", "statsd"])  # fmt: skip
    world.wheel("fake-provider", "2.0.0", requires=["apache-airflow>=2.9.0", "shared-util"])
    for version in ("1.5.1", "1.6.1"):
        world.wheel("apache-airflow-providers-tabular", version, requires=["apache-airflow>=2.7"])
    # linuxonly 1.0 is built for CPython 3.11 only; 1.1 for 3.12 too.
    for tag in ("cp311-cp311-manylinux_2_17_x86_64", "cp312-cp312-manylinux_2_17_x86_64"):
        world.wheel("linuxonly", "1.1", tag=tag)
    root = world.write(tmp_path_factory.mktemp("upgrade-index"))
    with fakeworld.serve(root) as server:
        yield server


def make_project(folder: Path, index: Server, requirements: str) -> Path:
    folder.mkdir(parents=True)
    (folder / "old.txt").write_text(OLD_CONSTRAINTS)
    (folder / "new.txt").write_text(NEW_CONSTRAINTS)
    (folder / "requirements.txt").write_text(requirements)
    (folder / "mwaadeps.toml").write_text(
        '# fake project\nairflow-version = "2.9.2"\nconstraints = "old.txt"  # 2.9.2\n\n'
        f'[index]\nurl = "{index.url}/simple"\n'
    )
    return folder


def packages(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {p["name"]: p for p in data["packages"]}


def test_upgrade_flags_removed_conflicting_and_unbuilt(tmp_path: Path, index: Server) -> None:
    folder = make_project(
        tmp_path / "proj", index,
        "apache-airflow-providers-tabular\nfake-provider==1.0.0\nlinuxonly==1.0\nrequests\n",
    )  # fmt: skip
    run = run_cli(
        folder, ["upgrade", "--to", "2.11.0", "--constraints-to", "new.txt", "--json"],
        tmp_path / "cache",
    )  # fmt: skip
    assert run.returncode == 1, run.output
    data = run.json()
    assert (data["from"]["abi"], data["to"]["abi"]) == ("cp311", "cp312")
    got = packages(data)
    tabular = got["apache-airflow-providers-tabular"]
    assert (tabular["status"], tabular["blocking"], tabular["old"]) == ("removed", True, "1.5.1")
    assert "apache-iceberg" in tabular["reasons"][0]
    provider = got["fake-provider"]
    assert (provider["status"], provider["allowed"], provider["new"]) == (
        "conflict", "2.0.0", "2.0.0"
    )  # fmt: skip
    # linuxonly 1.0 has no cp312 wheel: the resolver says so, and picks 1.1 instead.
    linux = got["linuxonly"]
    assert (linux["status"], linux["old"], linux["allowed"]) == ("conflict", "1.0", "1.1")
    assert "linuxonly" in linux["reasons"][0]
    assert got["apache-airflow"]["old"] == "2.9.2" and got["apache-airflow"]["new"] == "2.11.0"
    assert got["requests"]["status"] == "same"
    assert data["error"] is None


def test_upgrade_that_resolves_exits_0(tmp_path: Path, index: Server) -> None:
    folder = make_project(tmp_path / "proj", index, "requests\nshared-util\n")
    run = run_cli(
        folder, ["upgrade", "--to", "2.11.0", "--constraints-to", "new.txt"], tmp_path / "cache"
    )
    assert run.returncode == 0, run.output
    assert "The requirements resolve for MWAA 2.11.0" in run.stdout
    assert "Python changes from 3.11 to 3.12" in run.stdout


def test_upgrade_to_an_unknown_version_needs_its_python(tmp_path: Path, index: Server) -> None:
    folder = make_project(tmp_path / "proj", index, "requests\n")
    run = run_cli(folder, ["upgrade", "--to", "9.9.9"], tmp_path / "cache")
    assert run.returncode == 2, run.output
    assert "9.9.9" in run.stderr and "Traceback" not in run.output


def test_requirements_already_edited_for_the_new_version(tmp_path: Path, index: Server) -> None:
    folder = make_project(tmp_path / "proj", index, "fake-provider==2.0.0\n")
    run = run_cli(
        folder, ["upgrade", "--to", "2.11.0", "--constraints-to", "new.txt"], tmp_path / "cache"
    )
    assert run.returncode == 1, run.output
    assert "fake-provider" in run.stderr
    assert "compares with MWAA 2.9.2" in run.stderr
    assert "mwaadeps check -a 2.11.0" in run.stderr


def test_write_moves_the_project(tmp_path: Path, index: Server) -> None:
    folder = make_project(
        tmp_path / "proj", index, "fake-provider==1.0.0  # ours\nlinuxonly==1.0\nrequests\n"
    )
    cache = tmp_path / "cache"
    run = run_cli(
        folder, ["upgrade", "--to", "2.11.0", "--constraints-to", "new.txt", "--write"], cache
    )
    assert run.returncode == 0, run.output
    assert "Moved to MWAA 2.11.0" in run.stdout
    assert (folder / "requirements.txt").read_text().splitlines() == [
        "fake-provider==2.0.0  # ours", "linuxonly==1.1", "requests",
    ]  # fmt: skip
    toml = (folder / "mwaadeps.toml").read_text()
    assert toml.startswith('# fake project\nairflow-version = "2.11.0"\n')
    assert 'constraints = "new.txt"  # 2.9.2\n' in toml
    again = run_cli(folder, ["upgrade", "--to", "2.11.0", "--json"], cache)
    assert again.returncode == 0, again.output
    assert [p for p in again.json()["packages"] if p["status"] != "same"] == []
    locked = run_cli(folder, ["lock", "--json"], cache)
    assert locked.returncode == 0, locked.output
