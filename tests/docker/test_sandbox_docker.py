"""The sandbox's Docker side against a real engine: installs committed as images, and real
Airflow parsing and running DAGs in containers of those images (marked docker)."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from localtest_helpers import (
    FIND_LINKS,
    SESSION_LABELS,
    TINY_REQUIREMENTS,
    session_containers,
    session_images,
    write_bundle,
)

from mwaadeps.localtest.run import run_bundle
from mwaadeps.progress import RecordingReporter

pytestmark = pytest.mark.docker

STARTUP = 'export TINY_MODE="committed"\n'


@pytest.fixture()
def committed_tag(docker_client: Any) -> Iterator[str]:
    """A fresh tag for a committed image; whatever carries it is removed afterwards."""
    tag = f"mwaadeps-sandbox-env:test-{uuid.uuid4().hex[:8]}"
    yield tag
    from docker.errors import ImageNotFound

    with contextlib.suppress(ImageNotFound):
        docker_client.images.remove(tag, force=True)


def _in_image(client: Any, image: str, code: str) -> str:
    """Run python3 code in a throwaway container of image (its default user, no network)."""
    out = client.containers.run(
        image, ["python3", "-c", code], network_mode="none", labels=SESSION_LABELS, remove=True
    )
    return str(out.decode().strip())


def test_commit_after_install_keeps_the_bundle(
    docker_client: Any, runner_image: str, tiny_wheels: Any, tmp_path: Path, committed_tag: str
) -> None:
    dist = write_bundle(
        tmp_path / "dist", wheels=tiny_wheels, requirements=TINY_REQUIREMENTS, startup=STARTUP
    )
    report = run_bundle(
        dist,
        image=runner_image,
        reporter=RecordingReporter(),
        labels=SESSION_LABELS,
        commit_as=committed_tag,
        commit_labels={"mwaadeps.sandbox": "1"},
    )
    assert report.ok, report.to_dict()
    assert report.committed == committed_tag
    image = docker_client.images.get(committed_tag)
    assert image.labels["mwaadeps.sandbox"] == "1"
    assert image.attrs["Config"]["User"] == "airflow"
    # The install is in the image: tinypkg imports as the airflow user, with no network.
    code = "import getpass, tinypkg; from tinydep import VALUE; print(getpass.getuser(), VALUE)"
    assert _in_image(docker_client, committed_tag, code) == "airflow 42"
    # The startup script's exports are kept for the probes.
    code = "print(open('/tmp/mwaadeps/state/startup_exports.json').read())"
    assert '"TINY_MODE": "committed"' in _in_image(docker_client, committed_tag, code)
    assert session_containers(docker_client) == []


def test_no_commit_when_pip_fails(
    docker_client: Any, runner_image: str, tmp_path: Path, committed_tag: str
) -> None:
    dist = write_bundle(tmp_path / "dist", wheels=[], requirements=FIND_LINKS + "absentpkg==1.0\n")
    report = run_bundle(
        dist,
        image=runner_image,
        reporter=RecordingReporter(),
        labels=SESSION_LABELS,
        commit_as=committed_tag,
    )
    assert not report.ok
    assert report.committed is None
    assert session_images(docker_client) == []
