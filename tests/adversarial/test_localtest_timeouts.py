"""--startup-timeout and --pip-timeout: a step past its limit is killed, as MWAA kills it."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from localtest_fixtures import *  # noqa: F403 (the engine fixtures)
from localtest_fixtures import MWAADEPS, SESSION_LABELS, TINY_REQUIREMENTS, write_bundle

from mwaadeps.localtest.run import STEPS

pytestmark = pytest.mark.docker


def _test_local(dist: Path, image: str, *options: str) -> tuple[int, dict[str, Any]]:
    ((key, value),) = SESSION_LABELS.items()
    label = ["--label", f"{key}={value}"]
    proc = subprocess.run(
        [
            *MWAADEPS,
            "test-local",
            "--dist",
            str(dist),
            "--image",
            image,
            "--json",
            *label,
            *options,
        ],
        cwd=dist.parent,
        capture_output=True,
        text=True,
        check=False,
    )
    return proc.returncode, json.loads(proc.stdout)


def _steps(payload: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["name"]: s for s in payload["steps"]}


def test_startup_script_waiting_forever_times_out(
    runner_image: str, tiny_wheels: Any, tmp_path: Path
) -> None:
    dist = write_bundle(
        tmp_path / "dist",
        wheels=tiny_wheels,
        requirements=TINY_REQUIREMENTS,
        startup="mkfifo /tmp/never\necho waiting for a line\nread line < /tmp/never\n",
    )
    code, payload = _test_local(dist, runner_image, "--startup-timeout", "2")
    assert code == 1 and payload["ok"] is False
    startup = _steps(payload)["startup script"]
    assert startup["status"] == "failed"
    assert "timed out after 2 s, as MWAA would kill it" in startup["message"]
    assert "waiting for a line" in startup["message"]
    assert startup["seconds"] < 120  # killed, not left to the 300 s default
    # MWAA goes on to pip after killing the startup script; so does test-local.
    assert _steps(payload)["pip install"]["status"] == "ok"


def test_pip_past_its_timeout_is_killed(
    runner_image: str, tiny_wheels: Any, tmp_path: Path
) -> None:
    # The startup script points pip at a config file that is a fifo nobody writes: pip
    # blocks opening it, as a pip waiting on an unreachable index would.
    dist = write_bundle(
        tmp_path / "dist",
        wheels=tiny_wheels,
        requirements=TINY_REQUIREMENTS,
        startup="mkfifo /tmp/pip.conf\nexport PIP_CONFIG_FILE=/tmp/pip.conf\n",
    )
    code, payload = _test_local(dist, runner_image, "--pip-timeout", "3")
    assert code == 1 and payload["ok"] is False
    steps = _steps(payload)
    assert steps["startup script"]["status"] == "ok"
    pip = steps["pip install"]
    assert pip["status"] == "failed"
    assert "timed out after 3 s, as MWAA would kill it" in pip["message"]
    later = list(STEPS)[list(STEPS).index("pip install") + 1 :]
    assert [steps[n]["status"] for n in later] == ["skipped"] * len(later)
    assert steps["DAG import"]["message"] == "skipped: pip install failed"
