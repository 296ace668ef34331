"""Fixtures of the CLI-level tests (helpers live in clikit.py, importable by the tests)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from clikit import Run, run_cli


@pytest.fixture
def cli(tmp_path: Path) -> Any:
    """cli(*args, cwd=tmp_path/"proj", env=None) -> Run."""
    project = tmp_path / "proj"
    project.mkdir()

    def _run(*args: str, cwd: Path | None = None, env: Mapping[str, str] | None = None) -> Run:
        return run_cli(cwd or project, args, tmp_path / "cache", env)

    return _run


@pytest.fixture
def project(tmp_path: Path, cli: Any) -> Path:
    """The working folder `cli` runs in (empty)."""
    return tmp_path / "proj"


# The hermetic package index of the build tests, for the commands that resolve.
from buildkit import fake_index  # noqa: E402, F401
