"""Helpers of the CLI tests: run the real `mwaadeps` entry point in a subprocess, cleanly."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
MWAA_DATA = REPO / "src" / "mwaadeps" / "data" / "mwaa"
CONSTRAINTS_292 = MWAA_DATA / "2.9.2" / "airflow-constraints.txt"
# The fake package index of the build tests (fakeworld, buildkit) is reused here.
sys.path.insert(0, str(REPO / "tests" / "build"))

ENTRY = "from mwaadeps.cli.app import main; main()"


@dataclass
class Run:
    """One finished CLI run."""

    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def json(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.stdout)
        return data


def clean_env(cache_dir: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """No host pip/uv/mwaadeps/CI settings; colours off, so output is plain text."""
    env = {
        k: v for k, v in os.environ.items()
        if not k.startswith(("PIP_", "UV_", "MWAADEPS_", "CI", "COLUMNS"))
    }  # fmt: skip
    env["MWAADEPS_CACHE_DIR"] = str(cache_dir)
    env["NO_COLOR"] = "1"
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env.update(extra or {})
    return env


def run_cli(
    cwd: Path,
    args: Sequence[str],
    cache_dir: Path,
    env: Mapping[str, str] | None = None,
    **popen: Any,
) -> Run:
    proc = subprocess.run(
        [*popen.pop("wrapper", ()), sys.executable, "-c", ENTRY, *args],
        cwd=cwd,
        env=clean_env(cache_dir, env),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        **popen,
    )
    return Run(tuple(args), proc.returncode, proc.stdout, proc.stderr)


def assert_plain_failure(run: Run, *fragments: str) -> None:
    """Non-zero, no traceback, one `error:` message naming each fragment."""
    assert run.returncode != 0, run.output
    assert "Traceback" not in run.output, run.output
    assert run.stderr.count("error:") == 1, run.stderr
    for fragment in fragments:
        assert fragment in run.stderr, (fragment, run.stderr)
