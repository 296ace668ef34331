"""`mwaadeps build` against the fake index on 127.0.0.1: selection, errors, outputs, secrets."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest
from buildkit import (
    Built,
    ProjectFactory,
    copy_project,
    run_cli,
    write_project,
)
from fakeworld import CONSTRAINTS, Server
from packaging import tags
from packaging.utils import parse_wheel_filename

from mwaadeps.build import lockfile
from mwaadeps.targets import resolve_target

TARGET = resolve_target("2.9.2")

EXPECTED_WHEELS = [
    "boto3_stubs-1.34.0-py3-none-any.whl",  # unpinned base package a bundled one needs
    "fake_provider-1.0.0-py3-none-any.whl",
    "linuxonly-1.0-cp311-cp311-manylinux_2_17_x86_64.whl",
    "manyplat-1.0-cp311-cp311-manylinux_2_28_x86_64.whl",
    "puresdist-1.0-py3-none-any.whl",  # built from its sdist
    "stubs_user-1.0-py3-none-any.whl",
    "twoarch-1.0-cp311-cp311-manylinux_2_17_x86_64.whl",
    "winmarker-1.0-py3-none-any.whl",
]
EXPECTED_PINS = [
    "fake-provider==1.0.0",
    "linuxonly==1.0",
    "manyplat==1.0",
    "puresdist==1.0",
    "stubs-user==1.0",
    "twoarch==1.0",
    "winmarker==1.0",
]
PLUGIN_FILES = [
    "README.md",
    "hooks/my_hook.py",
    "operators/__init__.py",
    "operators/sub/deep/my_operator.py",
    "sensors/__init__.py",
]
OUTPUT_FILES = ("plugins.zip", "requirements.txt", "startup.sh", "sbom.cdx.json", "manifest.json")


def _shas(dist: Path) -> dict[str, str]:
    return {n: hashlib.sha256((dist / n).read_bytes()).hexdigest() for n in OUTPUT_FILES}


def _closed_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- target-platform selection ----------------------------------------------------------


def test_bundle_holds_exactly_the_target_wheels(happy_build: Built) -> None:
    assert happy_build.wheel_names() == EXPECTED_WHEELS
    for name in happy_build.wheel_names():
        assert TARGET.accepts(parse_wheel_filename(name)[3]), name


def test_other_platform_wheels_on_the_index_are_not_picked(happy_build: Built) -> None:
    names = happy_build.zip_names()
    assert not [n for n in names if "aarch64" in n or "macosx" in n or "win_amd64" in n]
    assert not [n for n in names if "musllinux" in n or "cp312" in n]
    # A win32-only dependency is neither bundled nor locked.
    assert not [n for n in names if n.startswith("winonly")]
    lock = lockfile.read(happy_build.project / "mwaadeps.lock")
    assert "winonly" not in lock.versions()
    assert "winmarker" in lock.versions()


def test_pure_sdist_is_built_into_a_pure_wheel(happy_build: Built) -> None:
    with zipfile.ZipFile(happy_build.dist / "plugins.zip") as zf:
        inner = zipfile.ZipFile(zf.open("puresdist-1.0-py3-none-any.whl"))
        assert "puresdist/__init__.py" in inner.namelist()
    assert not [n for n in happy_build.zip_names() if n.endswith((".tar.gz", ".zip"))]


def test_airflow_does_not_drift_to_the_newer_release_on_the_index(happy_build: Built) -> None:
    lock = lockfile.read(happy_build.project / "mwaadeps.lock")
    assert lock.versions()["apache-airflow"] == "2.9.2"  # 2.9.3 is on the index too
    assert lock.versions()["fake-provider"] == "1.0.0"


def test_default_bundle_leaves_out_mwaa_base_install(happy_build: Built) -> None:
    names = happy_build.wheel_names()
    for base in ("apache_airflow-", "apache_airflow_providers_amazon", "celery", "requests",
                 "shared_util", "watchtower", "fluent_logger", "virtualenv", "kombu"):  # fmt: skip
        assert not [n for n in names if n.startswith(base)], base
    reqs = (happy_build.dist / "requirements.txt").read_text()
    assert "apache-airflow" not in reqs
    assert "requests==" not in reqs
    # The unpinned base package is bundled as a fallback but never pinned.
    assert "boto3-stubs" not in reqs


def test_host_platform_never_leaks_in(
    happy_build: Built, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Build in-process while every host probe claims macOS arm64: same bytes."""
    import platform

    from buildkit import FAST_PATH

    from mwaadeps.build import pipeline as build_mod
    from mwaadeps.build.isolation import uv_binary
    from mwaadeps.config import load_settings

    monkeypatch.setenv("PATH", FAST_PATH)
    for name in [k for k in os.environ if k.startswith(("PIP_", "UV_"))]:
        monkeypatch.delenv(name)

    uv_binary()  # locating uv's binary reads sysconfig, which a fake sys.platform breaks
    mac = [tags.Tag("cp311", "cp311", "macosx_11_0_arm64"), tags.Tag("py3", "none", "any")]
    monkeypatch.setattr(tags, "sys_tags", lambda **_: iter(mac))
    monkeypatch.setattr(tags, "platform_tags", lambda: iter(["macosx_11_0_arm64"]))
    monkeypatch.setattr(platform, "machine", lambda: "arm64")
    monkeypatch.setattr(platform, "system", lambda: "Darwin")
    monkeypatch.setattr(sysconfig, "get_platform", lambda: "macosx-11.0-arm64")
    monkeypatch.setattr(sys, "platform", "darwin")
    project = copy_project(happy_build.project, tmp_path / "mac")
    settings = load_settings({}, env={"MWAADEPS_CACHE_DIR": str(tmp_path / "cache")}, cwd=project)
    result = build_mod.build(settings)
    monkeypatch.undo()
    assert sorted(w.filename for w in result.wheels) == EXPECTED_WHEELS
    assert _shas(project / "dist") == _shas(happy_build.dist)


# --- outputs ------------------------------------------------------------------------------


def test_json_shape(happy_build: Built) -> None:
    data = happy_build.data
    assert data["ok"] is True
    assert data["target"] == TARGET.to_dict()
    assert isinstance(data["seconds"], float)
    assert set(data["outputs"]) == set(OUTPUT_FILES)
    for name, info in data["outputs"].items():
        path = Path(info["path"])
        assert path == happy_build.dist / name
        assert info["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
        assert info["size"] == path.stat().st_size
    assert sorted(w["filename"] for w in data["wheels"]) == EXPECTED_WHEELS
    for wheel in data["wheels"]:
        assert set(wheel) == {"name", "version", "filename", "sha256", "size"}
    assert data["lock_reused"] is False
    assert data["downloaded_bytes"] > 0


def test_manifest(happy_build: Built) -> None:
    manifest = json.loads((happy_build.dist / "manifest.json").read_text())
    assert manifest["mode"] == "bundle"
    assert manifest["full"] is False
    assert manifest["target"] == TARGET.to_dict()
    assert manifest["constraints"] == {
        "source": "constraints.txt",
        "sha256": hashlib.sha256(CONSTRAINTS.encode()).hexdigest(),
        "file": "constraints.txt",
    }
    assert set(manifest["inputs"]) >= {"requirements.txt", "mwaadeps.lock", "plugins", "startup.sh"}
    assert (
        manifest["inputs"]["requirements.txt"]
        == hashlib.sha256((happy_build.project / "requirements.txt").read_bytes()).hexdigest()
    )
    assert sorted(f"{k}=={v}" for k, v in manifest["pinned"].items()) == EXPECTED_PINS
    assert manifest["locked"]["apache-airflow"] == "2.9.2"
    assert manifest["provided"]["apache-airflow"] == "2.9.2"
    assert manifest["provided"]["requests"] == "2.32.3"
    assert "fake-provider" not in manifest["provided"]
    # Every wheel entry matches the bytes inside plugins.zip.
    with zipfile.ZipFile(happy_build.dist / "plugins.zip") as zf:
        for wheel in manifest["wheels"]:
            data = zf.read(wheel["filename"])
            assert wheel["sha256"] == hashlib.sha256(data).hexdigest()
            assert wheel["size"] == len(data)
    for name in ("plugins.zip", "requirements.txt", "startup.sh"):
        data = (happy_build.dist / name).read_bytes()
        assert manifest["outputs"][name] == {
            "sha256": hashlib.sha256(data).hexdigest(),
            "size": len(data),
        }
    # Nothing of this machine's paths is recorded.
    assert str(happy_build.project) not in json.dumps(manifest)


def test_plugins_zip_layout(happy_build: Built) -> None:
    with zipfile.ZipFile(happy_build.dist / "plugins.zip") as zf:
        infos = zf.infolist()
        names = [i.filename for i in infos]
        assert names == sorted(names)
        assert sorted(n for n in names if not n.endswith(".whl") and n != "constraints.txt") == (
            PLUGIN_FILES
        )
        assert "constraints.txt" in names
        assert zf.read("constraints.txt").decode() == CONSTRAINTS
        assert (
            zf.read("operators/sub/deep/my_operator.py")
            == (happy_build.project / "plugins/operators/sub/deep/my_operator.py").read_bytes()
        )
        for info in infos:
            assert "/" not in info.filename or not info.filename.startswith("plugins/")
            assert info.date_time == (1980, 1, 1, 0, 0, 0), info.filename
            assert info.external_attr >> 16 == 0o100755, info.filename
        assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
        # Wheels sit at the zip root, where --find-links points.
        assert all("/" not in n for n in names if n.endswith(".whl"))


def test_requirements_txt(happy_build: Built) -> None:
    lines = (happy_build.dist / "requirements.txt").read_text().splitlines()
    body = [ln for ln in lines if ln and not ln.startswith("#")]
    assert body[:3] == [
        "--find-links /usr/local/airflow/plugins",
        "--no-index",
        "--constraint /usr/local/airflow/plugins/constraints.txt",
    ]
    assert body[3:] == EXPECTED_PINS
    assert "://" not in "\n".join(body)


def test_startup_script_is_shipped(happy_build: Built) -> None:
    assert (happy_build.dist / "startup.sh").read_bytes() == (
        happy_build.project / "startup.sh"
    ).read_bytes()


def test_full_bundle_holds_the_base_install(
    make_project: ProjectFactory, shared_cache: Path
) -> None:
    project = make_project(["fake-provider", "linuxonly"])
    run = run_cli(project, ["build", "--full", "--json"], shared_cache)
    assert run.returncode == 0, run.output
    names = {w["filename"] for w in run.json()["wheels"]}
    assert "apache_airflow-2.9.2-py3-none-any.whl" in names
    assert "apache_airflow-2.9.3-py3-none-any.whl" not in names
    assert {"requests-2.32.3-py3-none-any.whl", "celery-5.4.0-py3-none-any.whl",
            "linuxonly-1.0-cp311-cp311-manylinux_2_17_x86_64.whl"} <= names  # fmt: skip
    reqs = (project / "dist" / "requirements.txt").read_text().splitlines()
    assert "apache-airflow==2.9.2" in reqs
    assert "fake-provider==1.0.0" in reqs
    for name in names:
        assert TARGET.accepts(parse_wheel_filename(name)[3]), name
    assert json.loads((project / "dist" / "manifest.json").read_text())["full"] is True


# --- reproducibility and the warm path ----------------------------------------------------


def test_cold_rebuild_is_byte_identical(
    happy_build: Built, tmp_path: Path, shared_cache: Path
) -> None:
    """Another folder, then again without dist/ and the lock: the same bytes every time."""
    project = copy_project(happy_build.project, tmp_path / "elsewhere")
    first = run_cli(project, ["build", "--json"], shared_cache)
    assert first.returncode == 0, first.output
    assert _shas(project / "dist") == _shas(happy_build.dist)
    lock_bytes = (project / "mwaadeps.lock").read_bytes()
    import shutil

    shutil.rmtree(project / "dist")
    (project / "mwaadeps.lock").unlink()
    second = run_cli(project, ["build", "--json"], shared_cache)
    assert second.returncode == 0, second.output
    assert second.json()["lock_reused"] is False
    assert (project / "mwaadeps.lock").read_bytes() == lock_bytes
    assert _shas(project / "dist") == _shas(happy_build.dist)


def test_warm_rebuild_reuses_the_lock_and_touches_no_network(
    happy_build: Built, fake_index: Server, tmp_path: Path, shared_cache: Path
) -> None:
    project = copy_project(happy_build.project, tmp_path / "warm")
    cold = run_cli(project, ["build", "--json"], shared_cache)
    assert cold.returncode == 0, cold.output
    before = len(fake_index.log)
    warm = run_cli(project, ["build", "--json"], shared_cache)
    assert warm.returncode == 0, warm.output
    data = warm.json()
    assert data["lock_reused"] is True
    assert data["downloaded_bytes"] == 0
    assert fake_index.log[before:] == []
    assert _shas(project / "dist") == _shas(happy_build.dist)
    # A changed input makes the lock stale again.
    (project / "requirements.txt").write_text("fake-provider\n")
    changed = run_cli(project, ["build", "--json"], shared_cache)
    assert changed.returncode == 0, changed.output
    assert changed.json()["lock_reused"] is False
    assert changed.json()["pins"] == ["fake-provider==1.0.0"]


def test_host_pip_and_uv_settings_do_not_leak_in(happy_build: Built, tmp_path: Path) -> None:
    bogus_index = f"http://127.0.0.1:{_closed_port()}/simple"
    bad_constraints = tmp_path / "host-constraints.txt"
    bad_constraints.write_text("fake-provider==9.9.9\nrequests==2.33.0\nlinuxonly==0.1\n")
    pip_conf = tmp_path / "pip.conf"
    pip_conf.write_text(f"[global]\nindex-url = {bogus_index}\nconstraint = {bad_constraints}\n")
    env = {
        "PIP_CONSTRAINT": str(bad_constraints),
        "PIP_FIND_LINKS": str(tmp_path / "nowhere"),
        "PIP_INDEX_URL": bogus_index,
        "PIP_EXTRA_INDEX_URL": bogus_index,
        "PIP_CONFIG_FILE": str(pip_conf),
        "PIP_NO_BINARY": ":all:",
        "UV_INDEX_URL": bogus_index,
        "UV_DEFAULT_INDEX": bogus_index,
        "UV_CONSTRAINT": str(bad_constraints),
        "UV_FIND_LINKS": str(tmp_path / "nowhere"),
        "UV_OFFLINE": "1",
    }
    project = copy_project(happy_build.project, tmp_path / "leaky")
    run = run_cli(project, ["build", "--json"], tmp_path / "fresh-cache", env=env)
    assert run.returncode == 0, run.output
    assert sorted(w["filename"] for w in run.json()["wheels"]) == EXPECTED_WHEELS
    assert _shas(project / "dist") == _shas(happy_build.dist)


# --- errors: through the CLI, never a traceback -------------------------------------------


@pytest.mark.parametrize(
    ("requirement", "expected"),
    [
        ("needsgdal", ["needsgdal", "needs a system library MWAA's image lacks", "gdal.h"]),
        ("newglibc", ["newglibc", "manylinux_2_39_x86_64"]),
        ("maconly", ["maconly", "macosx_11_0_arm64"]),
        ("needs-new-airflow", ["needs-new-airflow", "apache-airflow>=2.9.3"]),
        ("no-such-package-xyz", ["no-such-package-xyz"]),
    ],
)
def test_errors_name_the_package(
    make_project: ProjectFactory, shared_cache: Path, requirement: str, expected: list[str]
) -> None:
    project = make_project(["fake-provider", requirement])
    run = run_cli(project, ["build"], shared_cache)
    assert run.returncode != 0
    assert "Traceback" not in run.output
    assert "internal error" not in run.output
    flat = " ".join(run.output.split())
    for text in expected:
        assert text in flat, (text, run.output)
    assert not (project / "dist" / "plugins.zip").exists()


@pytest.mark.parametrize(("requirement", "code"), [("needsgdal", "wheel"),
                                                   ("newglibc", "resolution")])  # fmt: skip
def test_error_json_shape(
    make_project: ProjectFactory, shared_cache: Path, requirement: str, code: str
) -> None:
    project = make_project([requirement])
    run = run_cli(project, ["build", "--json"], shared_cache)
    assert run.returncode != 0
    assert "Traceback" not in run.output
    data = run.json()
    assert data["ok"] is False
    assert data["error"]["code"] == code
    assert requirement in data["error"]["message"]


def test_compiled_sdist_builds_with_the_configured_index_only(
    make_project: ProjectFactory, fake_index: Server, tmp_path: Path
) -> None:
    """The sdist's build backend (setuptools) comes from the configured index."""
    project = make_project(["compiledsdist"])
    run = run_cli(project, ["build"], tmp_path / "cache", env={"MWAADEPS_COMPILE_IMAGE": "none"})
    assert run.returncode == 0, run.output
    assert "compiledsdist 1.0 compiles on MWAA from its sdist" in " ".join(run.output.split())
    # (uv may answer later builds from its own cache: the whole session counts.)
    assert "/simple/setuptools/" in fake_index.paths


def test_optional_c_speedups_become_a_pure_wheel(
    make_project: ProjectFactory, tmp_path: Path
) -> None:
    """An sdist whose C part is optional is built without a compiler into py3-none-any."""
    project = make_project(["optionalext"])
    run = run_cli(project, ["build", "--json"], tmp_path / "cache")
    assert run.returncode == 0, run.output
    names = [w["filename"] for w in run.json()["wheels"]]
    assert "optionalext-1.0-py3-none-any.whl" in names
    with zipfile.ZipFile(project / "dist" / "plugins.zip") as zf:
        inner = zf.read("optionalext-1.0-py3-none-any.whl")
    (tmp_path / "w.whl").write_bytes(inner)
    with zipfile.ZipFile(tmp_path / "w.whl") as wheel:
        listing = wheel.namelist()
        meta = wheel.read("optionalext-1.0.dist-info/WHEEL").decode()
    assert not [n for n in listing if n.endswith(".so")]
    assert "Tag: py3-none-any" in meta and "Root-Is-Purelib: true" in meta
    assert "without the optional C speed-ups" in " ".join(run.stderr.split())


# --- index mode and credentials -----------------------------------------------------------

USER, SECRET = "mwaa-builder-7f3k", "s3cr3t-Zq9-DoNotLeak-41"
CRED_ENV = {"IDX_USER": USER, "IDX_TOKEN": SECRET}
CRED_TOML = 'username-env = "IDX_USER"\npassword-env = "IDX_TOKEN"\n'


def _assert_no_secret(project: Path, *texts: str) -> None:
    for text in texts:
        assert SECRET not in text
        assert USER not in text
    for path in project.rglob("*"):
        if not path.is_file():
            continue
        data = path.read_bytes()
        assert SECRET.encode() not in data, path
        assert USER.encode() not in data, path
        if path.suffix == ".zip":
            with zipfile.ZipFile(path) as zf:
                for name in zf.namelist():
                    assert SECRET.encode() not in zf.read(name), (path, name)


def test_index_mode_writes_placeholders_never_secrets(tmp_path: Path, fake_index: Server) -> None:
    project = write_project(tmp_path / "idx", f"{fake_index.url}/simple",
                            ["fake-provider", "linuxonly"], index_extra=CRED_TOML)  # fmt: skip
    run = run_cli(project, ["build", "--mode", "index", "--json"], tmp_path / "cache",
                  env=CRED_ENV)  # fmt: skip
    assert run.returncode == 0, run.output
    data = run.json()
    assert data["mode"] == "index"
    assert data["wheels"] == []
    reqs = (project / "dist" / "requirements.txt").read_text().splitlines()
    body = [ln for ln in reqs if ln and not ln.startswith("#")]
    assert body == [
        f"--index-url http://${{IDX_USER}}:${{IDX_TOKEN}}@127.0.0.1:{fake_index.port}/simple",
        "--constraint /usr/local/airflow/plugins/constraints.txt",
        "fake-provider==1.0.0",
        "linuxonly==1.0",
    ]
    with zipfile.ZipFile(project / "dist" / "plugins.zip") as zf:
        assert not [n for n in zf.namelist() if n.endswith(".whl")]
        assert "constraints.txt" in zf.namelist()
    _assert_no_secret(project, run.stdout, run.stderr)


def test_credentials_are_used_but_never_written(tmp_path: Path, fake_index: Server) -> None:
    project = write_project(tmp_path / "cred", f"{fake_index.url}/simple",
                            ["fake-provider", "linuxonly"], index_extra=CRED_TOML)  # fmt: skip
    before = len(fake_index.log)
    run = run_cli(project, ["build", "--json"], tmp_path / "cache", env=CRED_ENV)
    assert run.returncode == 0, run.output
    _assert_no_secret(project, run.stdout, run.stderr)
    token = "Basic " + base64.b64encode(f"{USER}:{SECRET}".encode()).decode()
    seen = [r for r in fake_index.log[before:] if r.path.startswith("/files/linuxonly")]
    assert seen and all(r.authorization == token for r in seen)
    # An error naming the index must not show the credentials either.
    (project / "requirements.txt").write_text("no-such-package-xyz\n")
    failed = run_cli(project, ["build"], tmp_path / "cache", env=CRED_ENV)
    assert failed.returncode != 0
    assert "no-such-package-xyz" in failed.output
    _assert_no_secret(project, failed.stdout, failed.stderr)


def test_missing_credential_variable_is_a_config_error(tmp_path: Path, fake_index: Server) -> None:
    project = write_project(tmp_path / "nocred", f"{fake_index.url}/simple", ["linuxonly"],
                            index_extra=CRED_TOML)  # fmt: skip
    run = run_cli(project, ["build"], tmp_path / "cache", env={"IDX_USER": USER})
    assert run.returncode == 2
    assert "IDX_TOKEN" in run.output
    assert "Traceback" not in run.output


def test_check_names_the_sdist_mwaadeps_built_pure(happy_build: Built, shared_cache: Path) -> None:
    """After a build, check (no resolution) says what happens to each sdist-only package."""
    run = run_cli(happy_build.project, ["check", "--json"], shared_cache)
    assert run.returncode == 0, run.output
    by_name = {s["name"]: s for s in run.json()["sdists"]}
    assert by_name["puresdist"]["compiles_on_mwaa"] is False
    assert "pure-Python wheel" in by_name["puresdist"]["how"]
