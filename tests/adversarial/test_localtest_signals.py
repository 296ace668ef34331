"""`mwaadeps test-local` stopped by SIGTERM (a CI job cancelled) leaves no container behind."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from localtest_fixtures import *  # noqa: F403 (the engine fixtures)
from localtest_fixtures import (
    MWAADEPS,
    SESSION_LABELS,
    TINY_REQUIREMENTS,
    session_containers,
    write_bundle,
)

pytestmark = pytest.mark.docker

# A startup script that waits for a line that never comes: the run stays in the container.
WAITS_FOREVER = "mkfifo /tmp/never\necho waiting\nread line < /tmp/never\n"


def _wait_for(condition: Any, what: str, limit_s: float = 180.0) -> Any:
    """Poll until condition() is truthy (a bounded loop on a condition, not a timed sleep)."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    pytest.fail(f"gave up waiting for {what} after {limit_s:g} s")


def _running(docker_client: Any) -> list[str]:
    ((key, value),) = SESSION_LABELS.items()
    found = docker_client.containers.list(filters={"label": f"{key}={value}", "status": "running"})
    return [c.id for c in found]


def test_sigterm_removes_the_container(
    runner_image: str, docker_client: Any, tiny_wheels: Any, tmp_path: Path
) -> None:
    dist = write_bundle(
        tmp_path / "dist",
        wheels=tiny_wheels,
        requirements=TINY_REQUIREMENTS,
        startup=WAITS_FOREVER,
    )
    ((key, value),) = SESSION_LABELS.items()
    proc = subprocess.Popen(
        [
            *MWAADEPS,
            "test-local",
            "--dist",
            str(dist),
            "--image",
            runner_image,
            "--label",
            f"{key}={value}",
        ],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "CI": "true"},
    )
    try:
        _wait_for(lambda: _running(docker_client), "the test-local container to run")
        assert proc.poll() is None
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=120)
        left = session_containers(docker_client)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for cid in session_containers(docker_client):  # don't leave ours behind on failure
            docker_client.containers.get(cid).remove(force=True)
    assert left == []
    assert proc.returncode in (143, 130), err
    assert "Traceback" not in err
    assert "container was removed" in err
