"""Deploy fixtures for tests/adversarial/test_deploy_*.py (nothing autouse: the other
adversarial suites never start a sandbox). The sandbox is moto's server plus the MWAA
emulator on 127.0.0.1, reached over real HTTP, as in tests/deploy."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# tests/adversarial is a package (its deploy suites import deploy.conftest), so pytest puts
# tests/ on sys.path, not this folder: the other suites import advkit, buildfix and
# localtest_fixtures by name.
_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

from deploy.conftest import Project, new_project, point_at_sandbox  # noqa: E402
from mwaadeps.sandbox.server import Sandbox  # noqa: E402


@pytest.fixture(scope="session")
def deploy_sandbox() -> Iterator[Sandbox]:
    box = Sandbox("127.0.0.1", 0, update_polls=2)
    box.start()
    yield box
    box.stop()


@pytest.fixture
def deploy_project(
    deploy_sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Project:
    """A seeded project (dev and prod environments, a hand-made dist/) on a reset sandbox."""
    point_at_sandbox(deploy_sandbox, monkeypatch, tmp_path)
    return new_project(tmp_path, deploy_sandbox)


def spawn(project: Project, *args: str, **env: str) -> subprocess.Popen[str]:
    """The real `mwaadeps` console script as a child, stdout and stderr merged, line by line."""
    exe = Path(sys.executable).with_name("mwaadeps")
    return subprocess.Popen(
        [str(exe), *args],
        cwd=project.root,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        bufsize=1,
        env={**os.environ, "COLUMNS": "200", **env},
    )


def read_until(proc: subprocess.Popen[str], needle: str) -> list[str]:
    """Lines of the child's output up to the first containing ``needle`` (fails at EOF)."""
    assert proc.stdout is not None
    seen = []
    for line in proc.stdout:
        seen.append(line)
        if needle in line:
            return seen
    raise AssertionError(f"{needle!r} never appeared; output:\n{''.join(seen)}")
