"""An unwritable or full place becomes one plain message naming the file; never a traceback."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from buildkit import write_project
from clikit import assert_plain_failure, run_cli
from fakeworld import Server

NOBODY = 65534


def test_full_disk_names_the_file(cli: Any) -> None:
    """/dev/full answers every write with ENOSPC, as a full disk does."""
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full on this system")
    run = cli("init", "--path", "/dev/full", "--force")
    assert_plain_failure(run, "Cannot write /dev/full", "no space left", "Free some disk space")
    assert run.returncode == 1


# Root writes anywhere: as root, the CLI runs without the capabilities that override
# file permissions (setpriv drops them from the bounding and inheritable sets).
DROP = "-dac_override,-dac_read_search"


def _unprivileged() -> dict[str, Any]:
    """run_cli arguments under which a folder's permissions hold."""
    if os.geteuid() != 0:
        return {}
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: permissions cannot be enforced")
    return {"wrapper": (setpriv, f"--bounding-set={DROP}", f"--inh-caps={DROP}", "--")}


@pytest.fixture
def locked(tmp_path: Path) -> Iterator[Path]:
    """A folder the CLI cannot write into."""
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o555)
    yield folder
    folder.chmod(0o755)


def test_permission_denied_in_init(tmp_path: Path, locked: Path) -> None:
    target = locked / "mwaadeps.toml"
    run = run_cli(tmp_path, ["init", "--path", str(target)], tmp_path / "cache",
                  **_unprivileged())  # fmt: skip
    assert_plain_failure(run, f"Cannot access {target}", "permission denied", "permissions")
    assert not target.exists()


@pytest.mark.parametrize("as_json", [False, True])
def test_build_into_an_unwritable_out_folder(
    tmp_path: Path, locked: Path, fake_index: Server, as_json: bool
) -> None:
    project = write_project(tmp_path / "proj", f"{fake_index.url}/simple", ["fake-provider"])
    out = locked / "dist"
    args = ["build", "--out", str(out), *(["--json"] if as_json else [])]
    run = run_cli(project, args, tmp_path / "cache", **_unprivileged())
    assert run.returncode != 0, run.output
    assert "Traceback" not in run.output, run.output
    if as_json:
        data = run.json()
        assert data["ok"] is False and data["error"]["hint"]
        assert str(locked) in data["error"]["message"], data
    else:
        assert_plain_failure(run, str(locked), "permissions")
    assert not out.exists()


@pytest.mark.parametrize(
    ("where", "fragments"),
    [
        ("lock-file", ["mwaadeps.lock", "permission denied", "permissions"]),
        ("cache", ["cache folder", "Permission denied", "MWAADEPS_CACHE_DIR"]),
    ],
)
def test_build_with_an_unwritable_lock_or_cache(
    tmp_path: Path, locked: Path, fake_index: Server, where: str, fragments: list[str]
) -> None:
    """Raw OSErrors from anywhere in a build are mapped at the CLI boundary."""
    extra = f'lock-file = "{locked / "mwaadeps.lock"}"' if where == "lock-file" else ""
    project = write_project(tmp_path / "proj", f"{fake_index.url}/simple", ["fake-provider"],
                            toml_extra=extra)  # fmt: skip
    cache = locked / "cache" if where == "cache" else tmp_path / "cache"
    run = run_cli(project, ["build"], cache, **_unprivileged())
    assert_plain_failure(run, str(locked), *fragments)
