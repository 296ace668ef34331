"""dist/ is one unit: written whole or not at all, never over the user's inputs or files,
with fixed modes, and the same bytes whatever the umask."""

from __future__ import annotations

import hashlib
import json
import os
import resource
import shutil
import signal
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from advkit import run_spied
from buildkit import child_env, run_cli, write_project
from fakeworld import Server

pytest_plugins = ["buildfix"]  # the fake indexes of tests/build (fixtures)

LIMIT = 256 * 1024  # bytes any one file of the limited build may reach


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def _run_limited(project: Path, cache: Path, die: bool) -> subprocess.CompletedProcess[str]:
    """A build whose files may not grow past LIMIT: killed by SIGXFSZ when `die`, else the
    write fails with EFBIG (what a full disk looks like to the writer)."""
    code = (
        "import signal; signal.signal(signal.SIGXFSZ, signal.SIG_DFL)\n" if die else ""
    ) + "from mwaadeps.cli.app import main\nmain()\n"

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (LIMIT, LIMIT))

    return subprocess.run(
        [sys.executable, "-c", code, "build"],
        cwd=project, env=child_env(cache), capture_output=True, text=True, timeout=600,
        check=False, preexec_fn=limit,
    )  # fmt: skip


def _stray_zips(root: Path, dist: Path) -> list[Path]:
    """Valid zip files outside dist/ and outside mwaadeps' own temporary folders."""
    out = []
    for path in root.rglob("*"):
        ours = ".mwaadeps-new-" in str(path) or "cache" in path.parts
        if path.is_file() and path.parent != dist and not ours and zipfile.is_zipfile(path):
            out.append(path)
    return out


def _grow_inputs(project: Path) -> None:
    """New plugins (a new zip) and a startup script larger than LIMIT."""
    (project / "plugins" / "hooks" / "my_hook.py").write_text("HOOK = 2\n")
    (project / "startup.sh").write_text("#!/bin/sh\n" + "# padding\n" * (LIMIT // 5))


def test_a_build_killed_mid_write_leaves_the_old_bundle_whole(
    tmp_path: Path, open_index: Server
) -> None:
    cache = tmp_path / "cache"
    proj = write_project(tmp_path / "p", f"{open_index.url}/simple", ["linuxonly"])
    assert run_cli(proj, ["build"], cache).returncode == 0
    before = _snapshot(proj / "dist")
    _grow_inputs(proj)
    killed = _run_limited(proj, cache, die=True)
    assert killed.returncode == -signal.SIGXFSZ, killed.stderr
    assert _snapshot(proj / "dist") == before  # not a new zip beside an old manifest
    assert not _stray_zips(tmp_path, proj / "dist")
    # The next build finishes the job and clears what the killed one left.
    (proj / "startup.sh").write_text("#!/bin/sh\necho again\n")
    run = run_cli(proj, ["build", "--json"], cache)
    assert run.returncode == 0, run.output
    assert [p.name for p in proj.iterdir() if p.name.startswith(".")] == []
    manifest = json.loads((proj / "dist" / "manifest.json").read_text())
    for name, described in manifest["outputs"].items():
        data = (proj / "dist" / name).read_bytes()
        assert hashlib.sha256(data).hexdigest() == described["sha256"], name
    with zipfile.ZipFile(proj / "dist" / "plugins.zip") as zf:
        assert zf.read("hooks/my_hook.py") == b"HOOK = 2\n"


def test_a_full_disk_fails_cleanly_and_keeps_the_old_bundle(
    tmp_path: Path, open_index: Server
) -> None:
    cache = tmp_path / "cache"
    proj = write_project(tmp_path / "p", f"{open_index.url}/simple", ["linuxonly"])
    assert run_cli(proj, ["build"], cache).returncode == 0
    before = _snapshot(proj / "dist")
    _grow_inputs(proj)
    failed = _run_limited(proj, cache, die=False)
    assert failed.returncode != 0
    assert "Traceback" not in failed.stderr
    assert "was left as it was" in " ".join(failed.stderr.split())
    assert _snapshot(proj / "dist") == before
    assert [p.name for p in proj.iterdir() if p.name.startswith(".")] == []
    assert not _stray_zips(tmp_path, proj / "dist")


def test_out_dot_is_refused_and_keeps_requirements(tmp_path: Path, open_index: Server) -> None:
    cache = tmp_path / "cache"
    proj = write_project(tmp_path / "p", f"{open_index.url}/simple", ["linuxonly"])
    inputs = {p.name: p.read_bytes() for p in proj.iterdir() if p.is_file()}
    run = run_cli(proj, ["build", "-o", "."], cache)
    assert run.returncode != 0
    flat = " ".join(run.output.split())
    assert "requirements file" in flat and "Traceback" not in run.output
    assert {p.name: p.read_bytes() for p in proj.iterdir() if p.is_file()} == inputs
    assert not (proj / "plugins.zip").exists()


def test_out_into_another_project_deletes_nothing(tmp_path: Path, open_index: Server) -> None:
    cache = tmp_path / "cache"
    ours = write_project(tmp_path / "ours", f"{open_index.url}/simple", ["linuxonly"])
    (ours / "startup.sh").unlink()  # no startup script here: the old code deleted theirs
    theirs = write_project(tmp_path / "x", f"{open_index.url}/simple", ["winonly"])
    files = {p: p.read_bytes() for p in theirs.rglob("*") if p.is_file()}
    run = run_cli(ours, ["build", "-o", "../x"], cache)
    assert run.returncode != 0
    flat = " ".join(run.output.split())
    assert "did not write" in flat and "refuses" in flat
    assert {p: p.read_bytes() for p in theirs.rglob("*") if p.is_file()} == files


def test_a_file_of_the_user_in_dist_is_kept(tmp_path: Path, open_index: Server) -> None:
    cache = tmp_path / "cache"
    proj = write_project(tmp_path / "p", f"{open_index.url}/simple", ["linuxonly"])
    assert run_cli(proj, ["build"], cache).returncode == 0
    (proj / "dist" / "NOTES.md").write_text("my notes\n")
    before = _snapshot(proj / "dist")
    run = run_cli(proj, ["build"], cache)
    assert run.returncode != 0
    assert "NOTES.md" in run.output and "Traceback" not in run.output
    assert _snapshot(proj / "dist") == before
    # Without it, the same folder rebuilds: mwaadeps replaces only what it wrote.
    (proj / "dist" / "NOTES.md").unlink()
    assert run_cli(proj, ["build"], cache).returncode == 0


def test_out_inside_the_plugins_folder_is_refused(tmp_path: Path, open_index: Server) -> None:
    proj = write_project(tmp_path / "p", f"{open_index.url}/simple", ["linuxonly"])
    run = run_cli(proj, ["build", "-o", "plugins/dist"], tmp_path / "cache")
    assert run.returncode != 0
    assert "plugins folder" in run.output
    assert not (proj / "plugins" / "dist").exists()


def test_dist_files_are_0644_whatever_the_umask(tmp_path: Path, open_index: Server) -> None:
    proj = write_project(tmp_path / "p", f"{open_index.url}/simple", ["linuxonly"])
    spied = run_spied(proj, ["build"], tmp_path / "cache", umask=0o077)
    assert spied.run.returncode == 0, spied.run.output
    for path in (proj / "dist").iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o644, path
    assert stat.S_IMODE((proj / "dist").stat().st_mode) == 0o755
    with zipfile.ZipFile(proj / "dist" / "plugins.zip") as zf:
        for info in zf.infolist():
            assert info.external_attr >> 16 == 0o100755, info.filename  # the documented mode


LOCAL_SETUP = {
    "pyproject.toml": '[build-system]\nrequires = ["setuptools"]\n'
    'build-backend = "setuptools.build_meta"\n\n[project]\nname = "umasklocal"\n'
    'version = "1.0"\n\n[tool.setuptools]\npackages = ["umasklocal"]\n',
    "umasklocal/__init__.py": '"""A local package built with setuptools."""\n',
    "umasklocal/more.py": "X = 1\n",
}


def _apply_umask(folder: Path, umask: int) -> None:
    """The modes a checkout made under `umask` would have."""
    for path in [folder, *folder.rglob("*")]:
        os.chmod(path, (0o777 if path.is_dir() else 0o666) & ~umask)


def test_built_wheels_are_byte_identical_whatever_the_umask(
    tmp_path: Path, open_index: Server
) -> None:
    zips = {}
    for umask in (0o002, 0o077):
        proj = write_project(tmp_path / f"p{umask:o}", f"{open_index.url}/simple",
                             ["setuppure", "umasklocal"],
                             toml_extra='local-packages = ["pkgs/umasklocal"]')  # fmt: skip
        for rel, text in LOCAL_SETUP.items():
            path = proj / "pkgs" / "umasklocal" / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        _apply_umask(proj / "pkgs", umask)
        spied = run_spied(proj, ["build"], tmp_path / f"cache{umask:o}", umask=umask)
        assert spied.run.returncode == 0, spied.run.output
        with zipfile.ZipFile(proj / "dist" / "plugins.zip") as zf:
            zips[umask] = {n: zf.read(n) for n in zf.namelist() if n.endswith(".whl")}
        shutil.rmtree(proj / "pkgs")
    assert set(zips[0o002]) == {"setuppure-1.0-py3-none-any.whl", "umasklocal-1.0-py3-none-any.whl"}
    for name in zips[0o002]:
        assert zips[0o002][name] == zips[0o077][name], name


def _can_mount() -> bool:
    if shutil.which("unshare") is None or os.geteuid() != 0:
        return False
    probe = subprocess.run(
        ["unshare", "-m", "sh", "-c", "mount -t tmpfs none /mnt"], capture_output=True, check=False
    )
    return probe.returncode == 0


@pytest.mark.skipif(not _can_mount(), reason="needs root and mount namespaces (unshare -m)")
def test_a_mounted_out_folder_and_a_real_full_disk(tmp_path: Path, open_index: Server) -> None:
    """dist/ as a mount point (a container volume) cannot be renamed: its files are replaced,
    the manifest last. A tmpfs too small for the next bundle fails with ENOSPC and keeps the
    bundle there. All in a private mount namespace: the mount ends with the shell."""
    cache = tmp_path / "cache"
    proj = write_project(tmp_path / "p", f"{open_index.url}/simple", ["linuxonly"])
    (proj / "dist").mkdir()
    assert run_cli(proj, ["lock"], cache).returncode == 0  # warm: nothing to download below
    report = tmp_path / "report"
    report.mkdir()
    (tmp_path / "startup.big").write_text("#!/bin/sh\n" + "# padding\n" * 40_000)
    cli = f"{sys.executable} -c 'from mwaadeps.cli.app import main; main()'"
    script = f"""
set -u
mount -t tmpfs -o size=192k,mode=0755 none dist
{cli} build > {report}/first.out 2>&1; echo $? > {report}/first.rc
ls -A dist > {report}/first.ls
sha256sum dist/* > {report}/first.sha
cp {tmp_path}/startup.big startup.sh
{cli} build > {report}/full.out 2>&1; echo $? > {report}/full.rc
ls -A dist > {report}/full.ls
sha256sum dist/* > {report}/full.sha
"""
    env = child_env(cache)
    proc = subprocess.run(["unshare", "-m", "sh", "-c", script], cwd=proj, env=env,
                          capture_output=True, text=True, timeout=600, check=False)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    first_out = (report / "first.out").read_text()
    assert (report / "first.rc").read_text().strip() == "0", first_out
    names = (report / "first.ls").read_text().split()
    assert names == [
        "manifest.json",
        "plugins.zip",
        "requirements.txt",
        "sbom.cdx.json",
        "startup.sh",
    ]
    full_out = " ".join((report / "full.out").read_text().split())
    assert (report / "full.rc").read_text().strip() != "0"
    assert "No space left on device" in full_out and "was left as it was" in full_out
    assert "Traceback" not in full_out
    assert (report / "full.ls").read_text() == (report / "first.ls").read_text()
    assert (report / "full.sha").read_text() == (report / "first.sha").read_text()
