"""pip's "Requirement already satisfied" stream is one summary line unless --verbose."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from localtest_fixtures import *  # noqa: F403 (the engine fixtures)
from localtest_fixtures import MWAADEPS, SESSION_LABELS, TINY_REQUIREMENTS, write_bundle

pytestmark = pytest.mark.docker


def test_already_satisfied_lines_are_folded(
    runner_image: str, tiny_wheels: Any, tmp_path: Path
) -> None:
    # apache-airflow is in the image: pip walks its tree and says so for every package.
    dist = write_bundle(
        tmp_path / "dist",
        wheels=tiny_wheels,
        requirements=TINY_REQUIREMENTS + "apache-airflow==2.9.2\n",
    )
    ((key, value),) = SESSION_LABELS.items()
    label = ["--label", f"{key}={value}"]
    proc = subprocess.run(
        [*MWAADEPS, "test-local", "--dist", str(dist), "--image", runner_image, *label],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "CI": "true", "COLUMNS": "200"},
    )
    assert proc.returncode == 0, proc.stderr
    assert "Requirement already satisfied" not in proc.stderr
    counts = [int(n) for n in re.findall(r"(\d+) requirements already satisfied", proc.stderr)]
    assert len(counts) == 1 and counts[0] > 10, proc.stderr
    assert "Successfully installed" in proc.stderr  # the rest of pip's output still streams
