"""The user's --hash lines are checked against what is downloaded; --require-hashes holds."""

from __future__ import annotations

import hashlib
from pathlib import Path

import advkit  # noqa: F401  (puts tests/build on sys.path)
from buildkit import run_cli, write_project
from fakeworld import Server

pytest_plugins = ["buildfix"]  # the fake indexes of tests/build (fixtures)

LINUXONLY = "linuxonly-1.0-cp311-cp311-manylinux_2_17_x86_64.whl"
WINONLY = "winonly-1.0-py3-none-any.whl"


def _sha(world_root: Path, filename: str, algo: str = "sha256") -> str:
    return hashlib.new(algo, (world_root / "files" / filename).read_bytes()).hexdigest()


def test_matching_hashes_build(tmp_path: Path, open_index: Server, world_root: Path) -> None:
    lines = [
        "--require-hashes",
        f"linuxonly==1.0 --hash=sha256:{'0' * 64} --hash=sha256:{_sha(world_root, LINUXONLY)}",
        f"winonly==1.0 --hash=sha512:{_sha(world_root, WINONLY, 'sha512')}",
    ]
    proj = write_project(tmp_path / "p", f"{open_index.url}/simple", lines)
    run = run_cli(proj, ["build", "--json"], tmp_path / "cache")
    assert run.returncode == 0, run.output
    assert {w["filename"] for w in run.json()["wheels"]} == {LINUXONLY, WINONLY}


def test_a_wrong_hash_fails_with_its_line(
    tmp_path: Path, open_index: Server, world_root: Path
) -> None:
    wrong = hashlib.sha256(b"another file").hexdigest()
    lines = [
        f"winonly==1.0 --hash=sha256:{_sha(world_root, WINONLY)}",
        f"linuxonly==1.0 --hash=sha256:{wrong}",
    ]
    proj = write_project(tmp_path / "p", f"{open_index.url}/simple", lines)
    run = run_cli(proj, ["build"], tmp_path / "cache")
    assert run.returncode != 0
    flat = " ".join(run.output.split())
    assert f"{proj / 'requirements.txt'}:2" in flat.replace("\n", "")
    assert LINUXONLY in flat and _sha(world_root, LINUXONLY) in flat
    assert "Traceback" not in run.output
    assert not (proj / "dist").exists()


def test_a_wrong_hash_fails_in_index_mode_too(
    tmp_path: Path, open_index: Server, world_root: Path
) -> None:
    proj = write_project(tmp_path / "p", f"{open_index.url}/simple",
                         [f"linuxonly==1.0 --hash=sha256:{'a' * 64}"])  # fmt: skip
    run = run_cli(proj, ["build", "--mode", "index"], tmp_path / "cache")
    assert run.returncode != 0
    assert "requirements.txt:1" in run.output and "Traceback" not in run.output


def test_require_hashes_needs_pins_and_hashes(tmp_path: Path, open_index: Server) -> None:
    lines = ["--require-hashes", "linuxonly", f"winonly>=1.0 --hash=sha256:{'b' * 64}"]
    proj = write_project(tmp_path / "p", f"{open_index.url}/simple", lines)
    run = run_cli(proj, ["lock"], tmp_path / "cache")
    assert run.returncode != 0
    flat = " ".join(run.output.split())
    req = proj / "requirements.txt"
    assert f"{req}:2: linuxonly is not pinned with ==" in flat
    assert f"{req}:2: linuxonly has no --hash" in flat
    assert f"{req}:3: winonly is not pinned with ==" in flat
    assert "Traceback" not in run.output


def test_one_hash_turns_hash_checking_on_for_every_line(
    tmp_path: Path, open_index: Server, world_root: Path
) -> None:
    """As in pip: a single --hash makes every requirement need one."""
    lines = [f"linuxonly==1.0 --hash=sha256:{_sha(world_root, LINUXONLY)}", "winonly==1.0"]
    proj = write_project(tmp_path / "p", f"{open_index.url}/simple", lines)
    run = run_cli(proj, ["build"], tmp_path / "cache")
    assert run.returncode != 0
    assert "requirements.txt:2: winonly has no --hash" in " ".join(run.output.split())


def test_a_wrong_hash_stops_the_lock(tmp_path: Path, open_index: Server) -> None:
    """The index's sha256 is known at lock time: no lock is written against a bad pin."""
    proj = write_project(
        tmp_path / "p", f"{open_index.url}/simple", [f"linuxonly==1.0 --hash=sha256:{'c' * 64}"]
    )
    run = run_cli(proj, ["lock"], tmp_path / "cache")
    assert run.returncode != 0
    assert "requirements.txt:1" in run.output and LINUXONLY in " ".join(run.output.split())
    assert not (proj / "mwaadeps.lock").exists()
