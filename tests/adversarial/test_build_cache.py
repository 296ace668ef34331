"""The cache is never trusted blindly: a damaged file is fetched or built again, or refused."""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path

import advkit  # noqa: F401  (puts tests/build on sys.path)
from buildkit import run_cli, write_project
from fakeworld import Server, serve

from mwaadeps.build import lockfile

pytest_plugins = ["buildfix"]  # the fake indexes of tests/build (fixtures)

LINUXONLY = "linuxonly-1.0-cp311-cp311-manylinux_2_17_x86_64.whl"


def _lock_artifact(project: Path, name: str) -> lockfile.Artifact:
    lock = lockfile.read(project / "mwaadeps.lock")
    pkg = next(p for p in lock.packages if p.name == name)
    artifact = pkg.wheel or pkg.sdist
    assert artifact is not None
    return artifact


def _cached_file(cache: Path, artifact: lockfile.Artifact) -> Path:
    path = cache / "files" / artifact.sha256[:2] / artifact.sha256 / artifact.filename
    assert path.is_file(), path
    return path


def _bundled(project: Path, name: str) -> bytes:
    with zipfile.ZipFile(project / "dist" / "plugins.zip") as zf:
        return zf.read(name)


def test_truncated_cached_wheel_is_fetched_again(tmp_path: Path, open_index: Server) -> None:
    cache = tmp_path / "cache"
    proj = write_project(tmp_path / "p", f"{open_index.url}/simple", ["linuxonly"])
    assert run_cli(proj, ["build"], cache).returncode == 0
    artifact = _lock_artifact(proj, "linuxonly")
    cached = _cached_file(cache, artifact)
    original = cached.read_bytes()
    cached.write_bytes(original[: len(original) // 2])  # a kill mid-download (old version)
    before = len(open_index.log)
    run = run_cli(proj, ["build", "--json"], cache)
    assert run.returncode == 0, run.output
    data = _bundled(proj, LINUXONLY)
    assert hashlib.sha256(data).hexdigest() == artifact.sha256
    assert data == original
    wheel = next(w for w in run.json()["wheels"] if w["filename"] == LINUXONLY)
    assert wheel["size"] == len(original)
    assert any(r.path.endswith(LINUXONLY) for r in open_index.log[before:])
    assert "failed its sha256 check" in " ".join(run.stderr.split())


def test_swapped_cached_wheel_offline_is_refused(tmp_path: Path, world_root: Path) -> None:
    cache = tmp_path / "cache"
    with serve(world_root) as index:  # an index that goes away: the rebuild is offline
        proj = write_project(tmp_path / "p", f"{index.url}/simple", ["linuxonly", "winonly"])
        assert run_cli(proj, ["build"], cache).returncode == 0
    dist_before = {p.name: p.read_bytes() for p in (proj / "dist").iterdir()}
    linux = _cached_file(cache, _lock_artifact(proj, "linuxonly"))
    other = _cached_file(cache, _lock_artifact(proj, "winonly"))
    linux.write_bytes(other.read_bytes())  # the same kind of file, the wrong content
    run = run_cli(proj, ["build", "--json"], cache)
    assert run.returncode != 0
    flat = " ".join(run.output.split())
    assert LINUXONLY in flat and "did not match the lock's sha256" in flat
    assert "Traceback" not in run.output
    assert {p.name: p.read_bytes() for p in (proj / "dist").iterdir()} == dist_before
    assert not linux.exists()  # the bad copy is gone, never bundled


def test_damaged_wheel_built_from_an_sdist_is_built_again(
    tmp_path: Path, open_index: Server
) -> None:
    cache = tmp_path / "cache"
    proj = write_project(tmp_path / "p", f"{open_index.url}/simple", ["puresdist"])
    assert run_cli(proj, ["build"], cache).returncode == 0
    good = _bundled(proj, "puresdist-1.0-py3-none-any.whl")
    sdist = _lock_artifact(proj, "puresdist")
    built = cache / "built" / sdist.sha256 / "puresdist-1.0-py3-none-any.whl"
    assert built.is_file()
    built.write_bytes(good[: len(good) // 3])
    run = run_cli(proj, ["build"], cache)
    assert run.returncode == 0, run.output
    assert _bundled(proj, "puresdist-1.0-py3-none-any.whl") == good
    assert built.read_bytes() == good


LOCAL_BACKEND = '''\
"""In-tree PEP 517 backend of a local package (standard library only)."""
import base64, hashlib, os, zipfile

def _row(name, data):
    d = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={d},{len(data)}\\n"

def get_requires_for_build_wheel(config_settings=None):
    return []

def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    di = "mylocal-1.0.dist-info"
    files = {"mylocal/__init__.py": open("mylocal/__init__.py", "rb").read()}
    files[di + "/METADATA"] = b"Metadata-Version: 2.1\\nName: mylocal\\nVersion: 1.0\\n\\n"
    files[di + "/WHEEL"] = (b"Wheel-Version: 1.0\\nGenerator: inline\\n"
                            b"Root-Is-Purelib: true\\nTag: py3-none-any\\n\\n")
    files[di + "/RECORD"] = ("".join(_row(n, files[n]) for n in sorted(files))
                             + di + "/RECORD,,\\n").encode()
    fn = "mylocal-1.0-py3-none-any.whl"
    with zipfile.ZipFile(os.path.join(wheel_directory, fn), "w") as zf:
        for n in sorted(files):
            zf.writestr(zipfile.ZipInfo(n, (1980, 1, 1, 0, 0, 0)), files[n])
    return fn
'''


def local_package(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "pyproject.toml").write_text(
        '[build-system]\nrequires = []\nbuild-backend = "_backend"\nbackend-path = ["."]\n\n'
        '[project]\nname = "mylocal"\nversion = "1.0"\n'
    )
    (folder / "_backend.py").write_text(LOCAL_BACKEND)
    (folder / "mylocal").mkdir(exist_ok=True)
    (folder / "mylocal" / "__init__.py").write_text('"""A local package."""\n')
    return folder


def test_damaged_local_package_wheel_is_built_again(tmp_path: Path, open_index: Server) -> None:
    cache = tmp_path / "cache"
    proj = write_project(tmp_path / "p", f"{open_index.url}/simple", ["mylocal"],
                         toml_extra='local-packages = ["pkgs/mylocal"]')  # fmt: skip
    local_package(proj / "pkgs" / "mylocal")
    first = run_cli(proj, ["build"], cache)
    assert first.returncode == 0, first.output
    good = _bundled(proj, "mylocal-1.0-py3-none-any.whl")
    [built] = [p for p in (cache / "local").glob("*/mylocal-1.0-py3-none-any.whl")
               if p.parent.name != "links"]  # fmt: skip
    built.write_bytes(b"PK\x03\x04 not a wheel any more")
    (cache / "local" / "links" / built.name).write_bytes(b"also damaged")
    run = run_cli(proj, ["build"], cache)
    assert run.returncode == 0, run.output
    assert _bundled(proj, "mylocal-1.0-py3-none-any.whl") == good
    assert built.read_bytes() == good


def test_truncated_base_resolution_cache_is_a_miss(tmp_path: Path, open_index: Server) -> None:
    cache = tmp_path / "cache"
    proj = write_project(tmp_path / "p", f"{open_index.url}/simple", ["linuxonly"])
    first = run_cli(proj, ["build", "--full", "--json"], cache)
    assert first.returncode == 0, first.output
    [base] = list((cache / "base").glob("*.json"))
    whole = base.read_text()
    base.write_text(whole[: len(whole) // 2])  # killed mid-write
    run = run_cli(proj, ["build", "--full", "--json"], cache)
    assert run.returncode == 0, run.output
    assert "Traceback" not in run.output and "internal error" not in run.output.lower()
    assert sorted(w["filename"] for w in run.json()["wheels"]) == sorted(
        w["filename"] for w in first.json()["wheels"]
    )
    assert json.loads(base.read_text()) == json.loads(whole)  # rewritten whole
    assert not [p for p in base.parent.iterdir() if p.name != base.name]  # no temp left


def test_a_cached_file_must_have_the_known_size_and_sha256(tmp_path: Path) -> None:
    from mwaadeps.build.wheels import Downloader

    path = tmp_path / "x.whl"
    path.write_bytes(b"wheel bytes")
    sha = hashlib.sha256(b"wheel bytes").hexdigest()
    assert Downloader.intact(path, lockfile.Artifact("x.whl", None, sha, 11))
    assert Downloader.intact(path, lockfile.Artifact("x.whl", None, sha, None))
    assert not Downloader.intact(path, lockfile.Artifact("x.whl", None, sha, 12))
    assert not Downloader.intact(path, lockfile.Artifact("x.whl", None, "0" * 64, 11))
    assert not Downloader.intact(path, lockfile.Artifact("x.whl", None, "", 11))
