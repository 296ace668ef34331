"""`mwaadeps upgrade` against the public index with the real MWAA constraints (network)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from buildkit import MWAA_DATA, Run, run_cli

from mwaadeps.build import lockfile
from mwaadeps.build.constraints import parse_constraints
from mwaadeps.targets import resolve_target

pytestmark = pytest.mark.network


def constraints_file(version: str) -> Path:
    path = MWAA_DATA / version / "airflow-constraints.txt"
    if not path.is_file():
        pytest.skip(f"the real {version} constraints are absent ({path})")
    return path


def pin(version: str, name: str) -> str:
    path = constraints_file(version)
    found = parse_constraints(path.read_text(), resolve_target(version), path.name).pin(name)
    assert found, f"{name} is not pinned by the {version} constraints"
    return found


@pytest.fixture(scope="session")
def pypi_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("upgrade-cache")


def project(folder: Path, requirements: str, config: str) -> Path:
    """A project whose constraints live next to it (the config's relative paths)."""
    folder.mkdir(parents=True)
    (folder / "c").mkdir()
    for version in ("2.9.2", "2.10.3", "3.0.6"):
        shutil.copy(constraints_file(version), folder / "c" / f"{version}.txt")
    (folder / "requirements.txt").write_text(requirements)
    (folder / "mwaadeps.toml").write_text(config)
    return folder


def by_name(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {p["name"]: p for p in data["packages"]}


# --- 2.9.2 -> 2.10.3: versions move, nothing blocks --------------------------------------

SMALL = """# The team's requirements.
apache-airflow-providers-slack
pandas==2.1.4
requests>=2.31
"""


@pytest.fixture(scope="session")
def minor(tmp_path_factory: pytest.TempPathFactory, pypi_cache: Path) -> tuple[Path, Run]:
    folder = project(
        tmp_path_factory.mktemp("minor") / "proj",
        SMALL,
        'airflow-version = "2.9.2"\nconstraints = "c/2.9.2.txt"\n',
    )
    locked = run_cli(folder, ["lock", "--json"], pypi_cache)
    assert locked.returncode == 0, locked.output
    run = run_cli(
        folder,
        ["upgrade", "--to", "2.10.3", "--constraints-to", "c/2.10.3.txt", "--json"],
        pypi_cache,
    )
    return folder, run


def test_minor_upgrade_shows_the_changed_versions(minor: tuple[Path, Run]) -> None:
    _, run = minor
    assert run.returncode == 0, run.output
    data = run.json()
    assert data["ok"] is True and data["error"] is None
    assert data["from"]["airflow_version"] == "2.9.2"
    assert data["to"]["airflow_version"] == "2.10.3"
    got = by_name(data)
    slack = got["apache-airflow-providers-slack"]
    # The provider follows the constraints of each version.
    assert slack["old"] == pin("2.9.2", "apache-airflow-providers-slack")
    assert slack["new"] == pin("2.10.3", "apache-airflow-providers-slack")
    assert slack["status"] == "changed" and slack["top_level"] is True
    assert got["pandas"]["status"] == "same"
    assert got["apache-airflow"]["new"] == "2.10.3"
    assert not [p for p in data["packages"] if p["blocking"]]
    assert data["counts"]["changed"] == sum(p["status"] == "changed" for p in data["packages"])


def test_minor_upgrade_reads_the_current_side_from_the_lock(minor: tuple[Path, Run]) -> None:
    folder, run = minor
    data = run.json()
    assert data["old_source"] == "lock"
    lock = lockfile.read(folder / "mwaadeps.lock")
    versions = lock.versions()
    for pkg in data["packages"]:
        if pkg["old"] is not None:
            assert versions[pkg["name"]] == pkg["old"], pkg["name"]
    # The preflight never rewrites the user's lock (still the 2.9.2 one).
    assert lock.target["airflow_version"] == "2.9.2"


def test_minor_upgrade_table(minor: tuple[Path, Run], pypi_cache: Path) -> None:
    folder, _ = minor
    run = run_cli(
        folder, ["upgrade", "--to", "2.10.3", "--constraints-to", "c/2.10.3.txt"], pypi_cache
    )
    assert run.returncode == 0, run.output
    assert "MWAA 2.9.2 (Python 3.11) -> 2.10.3 (Python 3.11)" in run.stdout
    assert "apache-airflow-providers-slack" in run.stdout
    assert "The requirements resolve for MWAA 2.10.3" in run.stdout


# --- 2.9.2 -> 3.0.6: removed provider, constraint conflict, a pin without a cp312 wheel ---

MAJOR = """apache-airflow-providers-tabular
apache-airflow-providers-snowflake==5.5.1
numba==0.58.1
"""


@pytest.fixture(scope="session")
def major(tmp_path_factory: pytest.TempPathFactory, pypi_cache: Path) -> tuple[Path, Run]:
    folder = project(
        tmp_path_factory.mktemp("major") / "proj",
        MAJOR,
        'airflow-version = "2.9.2"\nconstraints = "c/2.9.2.txt"\n',
    )
    (folder / "dags").mkdir()
    (folder / "dags" / "etl.py").write_text(
        "from airflow import DAG\nfrom airflow.operators.bash import BashOperator\n"
    )
    run = run_cli(
        folder,
        ["upgrade", "--to", "3.0.6", "--constraints-to", "c/3.0.6.txt", "--json"],
        pypi_cache,
    )
    return folder, run


def test_major_upgrade_is_blocked(major: tuple[Path, Run]) -> None:
    _, run = major
    assert run.returncode == 1, run.output
    data = run.json()
    assert data["ok"] is False
    assert (data["from"]["python_version"], data["to"]["python_version"]) == ("3.11", "3.12")
    assert data["old_source"] == "resolved"
    assert any("3.12" in n for n in data["notes"])


def test_major_upgrade_flags_the_removed_provider(major: tuple[Path, Run]) -> None:
    tabular = by_name(major[1].json())["apache-airflow-providers-tabular"]
    assert tabular["status"] == "removed" and tabular["blocking"] is True
    assert tabular["old"] == pin("2.9.2", "apache-airflow-providers-tabular")
    assert "removed from the constraints" in tabular["reasons"][0]
    assert "apache-airflow-providers-apache-iceberg" in tabular["reasons"][0]


def test_major_upgrade_shows_the_constraint_conflict(major: tuple[Path, Run]) -> None:
    snow = by_name(major[1].json())["apache-airflow-providers-snowflake"]
    allowed = pin("3.0.6", "apache-airflow-providers-snowflake")
    assert snow["status"] == "conflict" and snow["blocking"] is True
    assert (snow["old"], snow["allowed"], snow["new"]) == ("5.5.1", allowed, allowed)


def test_major_upgrade_flags_a_pin_without_a_cp312_wheel(major: tuple[Path, Run]) -> None:
    numba = by_name(major[1].json())["numba"]
    assert numba["status"] == "conflict" and numba["old"] == "0.58.1"
    assert "cp312" in numba["reasons"][0]
    # The version the new target resolves instead (one with a cp312 wheel).
    assert numba["allowed"] and numba["allowed"] != "0.58.1"
    assert numba["new"] == numba["allowed"]


def test_major_upgrade_lists_moved_dag_imports(major: tuple[Path, Run]) -> None:
    imports = major[1].json()["dag_imports"]
    assert [(Path(d["file"]).name, d["line"], d["module"]) for d in imports] == [
        ("etl.py", 2, "airflow.operators.bash")
    ]
    assert imports[0]["provider"] == "apache-airflow-providers-standard"


def test_major_upgrade_refuses_to_write_a_removed_provider(
    major: tuple[Path, Run], pypi_cache: Path
) -> None:
    folder, _ = major
    before = (folder / "requirements.txt").read_text(), (folder / "mwaadeps.toml").read_text()
    run = run_cli(
        folder, ["upgrade", "--to", "3.0.6", "--constraints-to", "c/3.0.6.txt", "--write"],
        pypi_cache,
    )  # fmt: skip
    assert run.returncode == 1, run.output
    assert "apache-airflow-providers-tabular" in run.stderr
    assert "cannot be written" in run.stderr
    as_json = run_cli(
        folder,
        ["upgrade", "--to", "3.0.6", "--constraints-to", "c/3.0.6.txt", "--write", "--json"],
        pypi_cache,
    )
    assert as_json.returncode == 1, as_json.output
    data = as_json.json()  # one JSON object: the report, and why nothing was written
    assert data["written"] is None
    assert "apache-airflow-providers-tabular" in data["write_error"]["message"]
    after = (folder / "requirements.txt").read_text(), (folder / "mwaadeps.toml").read_text()
    assert after == before


# --- --write, then nothing left to change -------------------------------------------------

WRITABLE = """# The team's requirements.
apache-airflow-providers-snowflake==5.5.1  # warehouse
numba==0.58.1
requests>=2.31
"""
WRITABLE_TOML = """# The project.
airflow-version = "2.9.2"  # MWAA's version
python-version = "3.11"
constraints = "c/2.9.2.txt"

[environments.dev]
name = "dev-mwaa"
bucket = "dev-bucket"
"""


def test_write_then_upgrade_again_reports_nothing(tmp_path: Path, pypi_cache: Path) -> None:
    folder = project(tmp_path / "proj", WRITABLE, WRITABLE_TOML)
    run = run_cli(
        folder,
        ["upgrade", "--to", "3.0.6", "--constraints-to", "c/3.0.6.txt", "--write", "--json"],
        pypi_cache,
    )
    assert run.returncode == 0, run.output
    data = run.json()
    numba = by_name(data)["numba"]["allowed"]
    assert data["written"]["ok"] is True  # no error left for 3.0.6
    assert {Path(f).name for f in data["written"]["files"]} == {
        "requirements.txt", "mwaadeps.toml"
    }  # fmt: skip
    snow = pin("3.0.6", "apache-airflow-providers-snowflake")
    lines = (folder / "requirements.txt").read_text().splitlines()
    assert lines[0] == "# The team's requirements."
    assert lines[1].startswith(f"apache-airflow-providers-snowflake=={snow}")
    assert lines[1].endswith("# warehouse")
    assert lines[2] == f"numba=={numba}"
    assert lines[3] == "requests>=2.31"
    assert (folder / "mwaadeps.toml").read_text() == WRITABLE_TOML.replace(
        '"2.9.2"  #', '"3.0.6"  #'
    ).replace('"3.11"', '"3.12"').replace("c/2.9.2.txt", "c/3.0.6.txt")
    again = run_cli(folder, ["upgrade", "--to", "3.0.6", "--json"], pypi_cache)
    assert again.returncode == 0, again.output
    second = again.json()
    assert second["ok"] is True
    assert second["from"]["airflow_version"] == "3.0.6"
    assert [p for p in second["packages"] if p["status"] != "same"] == []
    text = run_cli(folder, ["upgrade", "--to", "3.0.6"], pypi_cache)
    assert text.returncode == 0, text.output
    assert "nothing to change" in text.stdout
    # The written project locks for 3.0.6 as it is.
    locked = run_cli(folder, ["lock", "--json"], pypi_cache)
    assert locked.returncode == 0, locked.output
    assert lockfile.read(folder / "mwaadeps.lock").versions()["numba"] == numba


# --- 2.10.3 -> 2.11.0: still Airflow 2, but Python 3.11 -> 3.12 -------------------------


def test_upgrade_to_2110_flags_the_python_change(tmp_path: Path, pypi_cache: Path) -> None:
    folder = project(
        tmp_path / "proj",
        "apache-airflow-providers-slack\nnumba==0.58.1\n",
        'airflow-version = "2.10.3"\nconstraints = "c/2.10.3.txt"\n',
    )
    shutil.copy(constraints_file("2.11.0"), folder / "c" / "2.11.0.txt")
    run = run_cli(
        folder,
        ["upgrade", "--to", "2.11.0", "--constraints-to", "c/2.11.0.txt", "--json"],
        pypi_cache,
    )
    assert run.returncode == 1, run.output
    data = run.json()
    assert (data["from"]["abi"], data["to"]["abi"]) == ("cp311", "cp312")
    got = by_name(data)
    assert got["numba"]["status"] == "conflict" and "cp312" in got["numba"]["reasons"][0]
    slack = got["apache-airflow-providers-slack"]
    assert (slack["old"], slack["new"]) == (
        pin("2.10.3", "apache-airflow-providers-slack"),
        pin("2.11.0", "apache-airflow-providers-slack"),
    )
    assert data["dag_imports"] == []  # no DAGs; and still Airflow 2
    assert not any("Airflow 3" in n for n in data["notes"])
