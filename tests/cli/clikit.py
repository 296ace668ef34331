"""Helpers of the CLI tests: the build tests' runner (buildkit) with COLUMNS unset, and checks."""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
MWAA_DATA = REPO / "src" / "mwaadeps" / "data" / "mwaa"
CONSTRAINTS_292 = MWAA_DATA / "2.9.2" / "airflow-constraints.txt"
# The fake package index of the build tests (fakeworld, buildkit) is reused here.
sys.path.insert(0, str(REPO / "tests" / "build"))

import buildkit  # noqa: E402
from buildkit import ENTRY, Run  # noqa: E402

__all__ = ["ENTRY", "Run", "assert_plain_failure", "clean_env", "run_cli"]


def clean_env(cache_dir: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """buildkit's child environment with COLUMNS unset: the CLI's own width in a pipe."""
    return buildkit.child_env(cache_dir, extra, columns=None)


def run_cli(
    cwd: Path,
    args: Sequence[str],
    cache_dir: Path,
    env: Mapping[str, str] | None = None,
    **popen: Any,
) -> Run:
    """buildkit.run_cli with COLUMNS unset."""
    return buildkit.run_cli(cwd, args, cache_dir, env, columns=None, **popen)


def assert_plain_failure(run: Run, *fragments: str) -> None:
    """Non-zero, no traceback, one `error:` message naming each fragment."""
    assert run.returncode != 0, run.output
    assert "Traceback" not in run.output, run.output
    assert run.stderr.count("error:") == 1, run.stderr
    for fragment in fragments:
        assert fragment in run.stderr, (fragment, run.stderr)
