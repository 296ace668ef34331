"""Real-world builds against the public index with the real MWAA constraints (network)."""

from __future__ import annotations

import hashlib
import shutil
import zipfile
from pathlib import Path

import pytest
from buildkit import EXAMPLE, MWAA_DATA, run_cli
from packaging.utils import parse_wheel_filename

from mwaadeps.build import lockfile
from mwaadeps.targets import resolve_target

OUTPUTS = ("plugins.zip", "requirements.txt", "manifest.json")


def constraints_for(version: str) -> Path:
    path = MWAA_DATA / version / "airflow-constraints.txt"
    if not path.is_file():
        pytest.skip(f"the real {version} constraints are absent ({path})")
    return path


@pytest.fixture(scope="session")
def pypi_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pypi-cache")


def copy_example(dest: Path) -> Path:
    shutil.copytree(EXAMPLE, dest, ignore=shutil.ignore_patterns(
        "dist", "mwaadeps.lock", "build", "*.egg-info", "__pycache__"))  # fmt: skip
    return dest


def wheels_in(zip_path: Path) -> list[str]:
    with zipfile.ZipFile(zip_path) as zf:
        return sorted(n for n in zf.namelist() if n.endswith(".whl"))


def shas(dist: Path) -> dict[str, str]:
    return {n: hashlib.sha256((dist / n).read_bytes()).hexdigest() for n in OUTPUTS}


@pytest.fixture(scope="session")
def example_292(tmp_path_factory: pytest.TempPathFactory, pypi_cache: Path) -> Path:
    constraints = constraints_for("2.9.2")
    project = copy_example(tmp_path_factory.mktemp("example") / "dsai-dev")
    run = run_cli(project, ["build", "--constraints", str(constraints), "--json"], pypi_cache)
    assert run.returncode == 0, run.output
    assert run.json()["ok"] is True
    return project


@pytest.mark.network
def test_example_builds_with_target_wheels_only(example_292: Path) -> None:
    target = resolve_target("2.9.2")
    names = wheels_in(example_292 / "dist" / "plugins.zip")
    assert names
    for name in names:
        assert target.accepts(parse_wheel_filename(name)[3]), name
    assert [n for n in names if n.startswith("dsai_common-1.2.0-")], names
    assert [n for n in names if n.startswith("apache_airflow_providers_snowflake-")], names


@pytest.mark.network
def test_example_default_bundle_has_no_airflow(example_292: Path) -> None:
    names = wheels_in(example_292 / "dist" / "plugins.zip")
    assert not [n for n in names if n.startswith("apache_airflow-")]
    reqs = (example_292 / "dist" / "requirements.txt").read_text().splitlines()
    assert not [ln for ln in reqs if ln.startswith("apache-airflow==")]
    assert "--no-index" in reqs
    lock = lockfile.read(example_292 / "mwaadeps.lock")
    assert lock.versions()["apache-airflow"] == "2.9.2"
    assert lock.versions()["pandas"] == "2.1.4"


@pytest.mark.network
def test_example_builds_are_byte_identical(
    example_292: Path, tmp_path: Path, pypi_cache: Path
) -> None:
    project = copy_example(tmp_path / "again")
    run = run_cli(project, ["build", "--constraints", str(constraints_for("2.9.2")), "--json"],
                  pypi_cache)  # fmt: skip
    assert run.returncode == 0, run.output
    assert (project / "mwaadeps.lock").read_bytes() == (example_292 / "mwaadeps.lock").read_bytes()
    assert shas(project / "dist") == shas(example_292 / "dist")


@pytest.mark.network
def test_snowflake_provider_does_not_move_airflow(tmp_path: Path, pypi_cache: Path) -> None:
    constraints = constraints_for("2.9.2")
    (tmp_path / "requirements.txt").write_text("apache-airflow-providers-snowflake\n")
    run = run_cli(tmp_path, ["lock", "--airflow-version", "2.9.2", "--constraints",
                             str(constraints), "--json"], pypi_cache)  # fmt: skip
    assert run.returncode == 0, run.output
    versions = {p["name"]: p["version"] for p in run.json()["packages"]}
    assert versions["apache-airflow"] == "2.9.2"
    assert "apache-airflow-providers-snowflake" in versions


@pytest.mark.network
def test_airflow3_target_gets_cp312_wheels_on_a_311_host(tmp_path: Path, pypi_cache: Path) -> None:
    constraints = constraints_for("3.0.6")
    (tmp_path / "requirements.txt").write_text("apache-airflow-providers-slack\npandas\n")
    run = run_cli(tmp_path, ["build", "--airflow-version", "3.0.6", "--constraints",
                             str(constraints), "--json"], pypi_cache)  # fmt: skip
    assert run.returncode == 0, run.output
    target = resolve_target("3.0.6")
    assert target.abi == "cp312"
    names = wheels_in(tmp_path / "dist" / "plugins.zip")
    compiled = []
    for name in names:
        wheel_tags = parse_wheel_filename(name)[3]
        assert target.accepts(wheel_tags), name
        if any(t.abi != "none" for t in wheel_tags):
            compiled.append(name)
            assert all(t.interpreter == "cp312" or t.abi == "abi3" for t in wheel_tags), name
    assert [n for n in compiled if n.startswith("pandas-") and "-cp312-cp312-" in n], names
    assert not [n for n in names if "cp311" in n]


def test_pip_tools_refuses_another_python(tmp_path: Path, pypi_cache: Path) -> None:
    """pip-compile resolves for the host (3.11 here): it cannot lock a Python 3.12 target."""
    import sys

    if sys.version_info[:2] == (3, 12):
        pytest.skip("the host runs the target's Python")
    constraints = constraints_for("3.0.6")
    (tmp_path / "requirements.txt").write_text("apache-airflow-providers-slack\n")
    run = run_cli(tmp_path, ["lock", "--airflow-version", "3.0.6", "--resolver", "pip-tools",
                             "--constraints", str(constraints)], pypi_cache)  # fmt: skip
    assert run.returncode != 0
    assert "Traceback" not in run.output
    flat = " ".join(run.output.split())
    assert "pip-tools" in flat
    assert f"Python {sys.version_info.major}.{sys.version_info.minor}" in flat
    assert "Python 3.12" in flat
    assert "--resolver uv" in flat
    assert not (tmp_path / "mwaadeps.lock").exists()
