"""Sdists MWAA compiles: bundled with their build requirements' wheels (fake index)."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import fakeworld
import pytest
from buildkit import ProjectFactory, run_cli

from mwaadeps.build.isolation import clean_env
from mwaadeps.build.sdist import TOOLCHAIN_IMAGE

WORLD = fakeworld.build_world()


def _docker_ready() -> bool:
    try:
        import docker

        client = docker.from_env(timeout=10)
        client.ping()
        client.images.get(TOOLCHAIN_IMAGE)
    except Exception:
        return False
    return True


# Where the trial build runs: this machine (Docker off), or the toolchain image.
WHERE = [
    pytest.param({"MWAADEPS_COMPILE_IMAGE": "none"}, "this machine", id="host"),
    pytest.param(
        {},
        f"image {TOOLCHAIN_IMAGE}",
        id="docker",
        marks=[
            pytest.mark.docker,
            pytest.mark.skipif(not _docker_ready(), reason=f"no engine or {TOOLCHAIN_IMAGE}"),
        ],
    ),
]


def _sha(project: str, filename: str) -> str:
    return hashlib.sha256(WORLD.projects[project][filename]).hexdigest()


@pytest.mark.parametrize(("env", "where"), WHERE)
def test_compiled_sdist_is_bundled_with_its_build_requirements(
    make_project: ProjectFactory, tmp_path: Path, env: dict[str, str], where: str
) -> None:
    project = make_project(["compiledsdist"])
    run = run_cli(project, ["build", "--json"], tmp_path / "cache", env=env)
    assert run.returncode == 0, run.output
    data = run.json()
    sdist_sha = _sha("compiledsdist", "compiledsdist-1.0.tar.gz")
    [item] = data["compiled_on_mwaa"]
    assert item["name"] == "compiledsdist" and item["version"] == "1.0"
    assert item["filename"] == "compiledsdist-1.0.tar.gz"
    assert item["sha256"] == sdist_sha
    assert item["checked"] == f"trial build in {where}" and item["trial_built"] is True
    # setuptools (pyproject), wheel (setuptools' own request) and what they need.
    build_names = {r.split("==")[0] for r in item["build_requires"]}
    assert {"setuptools", "wheel"} <= build_names
    kinds = {w["filename"]: w.get("kind", "wheel") for w in data["wheels"]}
    assert kinds["compiledsdist-1.0.tar.gz"] == "sdist"
    build_wheels = sorted(f for f, k in kinds.items() if k == "build")
    assert {f.split("-")[0] for f in build_wheels} == build_names
    # A cold cache: the sdist and the build requirements count as downloaded.
    extra = sum(w["size"] for w in data["wheels"] if w.get("kind") in ("sdist", "build"))
    assert data["downloaded_bytes"] >= extra

    dist = project / "dist"
    with zipfile.ZipFile(dist / "plugins.zip") as zf:
        names = zf.namelist()
        assert hashlib.sha256(zf.read("compiledsdist-1.0.tar.gz")).hexdigest() == sdist_sha
        zf.extractall(tmp_path / "plugins")
    assert "compiledsdist-1.0.tar.gz" in names and set(build_wheels) <= set(names)
    assert "compiledsdist==1.0" in (dist / "requirements.txt").read_text().splitlines()
    manifest = json.loads((dist / "manifest.json").read_text())
    assert manifest["compiled_on_mwaa"] == data["compiled_on_mwaa"]
    lock = (project / "mwaadeps.lock").read_text()
    assert f'"filename" = "compiledsdist-1.0.tar.gz", "sha256" = "{sdist_sha}"' in lock
    out = " ".join(run_cli(project, ["build"], tmp_path / "cache", env=env).output.split())
    assert "compiledsdist 1.0 compiles on MWAA from its sdist" in out
    # check (no resolution) says it too, from the lock and the build's verdict.
    checked = run_cli(project, ["check", "--json"], tmp_path / "cache", env=env)
    assert checked.returncode == 0, checked.output
    assert checked.json()["sdists"] == [{"name": "compiledsdist", "version": "1.0",
                                         "compiles_on_mwaa": True,
                                         "how": f"trial build in {where}"}]  # fmt: skip
    said = " ".join(run_cli(project, ["check"], tmp_path / "cache", env=env).output.split())
    assert f"compiledsdist 1.0 compiles on MWAA (trial build in {where})" in said

    # pip, as on a worker: offline, its isolated build fed from plugins.zip alone.
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-index", "--find-links",
         str(tmp_path / "plugins"), "--no-deps", "-w", str(tmp_path / "built"),
         "compiledsdist==1.0"],
        capture_output=True, text=True, env=clean_env(), check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    [built] = (tmp_path / "built").glob("compiledsdist-1.0-*.whl")
    assert "linux_x86_64" in built.name


@pytest.mark.parametrize(("env", "where"), WHERE)
def test_sdist_needing_a_library_mwaa_lacks_fails_with_the_remedy(
    make_project: ProjectFactory, tmp_path: Path, env: dict[str, str], where: str
) -> None:
    project = make_project(["fake-provider", "needsgdal"])
    run = run_cli(project, ["build"], tmp_path / "cache", env=env)
    assert run.returncode == 1, run.output
    assert "Traceback" not in run.output
    flat = " ".join(run.output.split())
    assert "needsgdal 1.0 has no wheel for MWAA" in flat
    assert "needs a system library MWAA's image lacks: the header gdal.h" in flat
    assert f"(build in {where})" in flat
    assert "startup script" in flat and "private index" in flat
    assert not (project / "dist" / "plugins.zip").exists()


@pytest.mark.parametrize(("env", "where"), WHERE)
def test_sdist_on_a_library_mwaa_has(
    make_project: ProjectFactory, tmp_path: Path, env: dict[str, str], where: str
) -> None:
    """MariaDB's client is in MWAA's image: bundled, trial-built where the library is."""
    project = make_project(["needsmariadb"])
    run = run_cli(project, ["build", "--json"], tmp_path / "cache", env=env)
    assert run.returncode == 0, run.output
    [item] = run.json()["compiled_on_mwaa"]
    assert item["name"] == "needsmariadb"
    host_has_it = Path("/usr/include/mariadb/mysql.h").is_file()
    if where == "this machine" and not host_has_it:
        assert item["trial_built"] is False
        assert item["checked"] == (
            "not trial-built: this machine lacks MariaDB client (mysqlclient), which MWAA's "
            "image has"
        )
        assert "bundled as an sdist for MWAA to compile" in " ".join(run.stderr.split())
        out = run_cli(project, ["build"], tmp_path / "cache", env=env).output
        assert "needsmariadb 1.0 is expected to compile on MWAA from its sdist" in " ".join(
            out.split()
        )
    else:
        assert item["trial_built"] is True
        assert item["checked"] == f"trial build in {where}"


@pytest.mark.parametrize(("env", "where"), WHERE)
def test_backend_asked_build_requirements_are_bundled(
    make_project: ProjectFactory, tmp_path: Path, env: dict[str, str], where: str
) -> None:
    """get_requires_for_build_wheel's answer (here build-helper) is bundled too."""
    project = make_project(["dynreqsdist"])
    run = run_cli(project, ["build", "--json"], tmp_path / "cache", env=env)
    assert run.returncode == 0, run.output
    [item] = run.json()["compiled_on_mwaa"]
    assert "build-helper==1.0" in item["build_requires"]
    assert item["checked"] == f"trial build in {where}"
    with zipfile.ZipFile(project / "dist" / "plugins.zip") as zf:
        assert "build_helper-1.0-py3-none-any.whl" in zf.namelist()


def test_warm_rebuild_of_a_compiled_sdist_stays_offline(
    make_project: ProjectFactory, tmp_path: Path, fake_index: fakeworld.Server
) -> None:
    env = {"MWAADEPS_COMPILE_IMAGE": "none"}
    project = make_project(["compiledsdist"])
    first = run_cli(project, ["build", "--json"], tmp_path / "cache", env=env)
    assert first.returncode == 0, first.output
    (project / "dist" / "plugins.zip").unlink()
    seen = len(fake_index.log)
    second = run_cli(project, ["build", "--json"], tmp_path / "cache", env=env)
    assert second.returncode == 0, second.output
    assert fake_index.paths[seen:] == []
    assert second.json()["compiled_on_mwaa"] == first.json()["compiled_on_mwaa"]


def test_sdist_without_pyproject_gets_pep517_defaults(tmp_path: Path) -> None:
    from mwaadeps.build.sdist import build_system

    sdist = tmp_path / "old-1.0.tar.gz"
    with tarfile.open(sdist, "w:gz") as tar:
        data = b"from setuptools import setup\nsetup()\n"
        info = tarfile.TarInfo("old-1.0/setup.py")
        info.size = len(data)
        import io

        tar.addfile(info, io.BytesIO(data))
    assert build_system(sdist) == (["setuptools>=40.8.0", "wheel"],
                                   "setuptools.build_meta:__legacy__")  # fmt: skip
