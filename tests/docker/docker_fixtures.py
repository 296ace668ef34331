"""Fixtures for the tests that need a Docker engine: the engine, the runner image, bundles.

tests/docker/conftest.py re-exports them; other folders import them by name (with this
folder on sys.path, see tests/adversarial/localtest_fixtures.py).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from localtest_helpers import AIRFLOW, BASE_IMAGE, CONSTRAINTS, make_wheel, session_containers

from mwaadeps.progress import RecordingReporter


def _ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _unavailable(reason: str) -> None:
    if _ci():
        pytest.fail(f"CI=true and {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def docker_client() -> Any:
    """A client of an engine that answers; skip (fail under CI=true) when there is none."""
    try:
        import docker

        client = docker.from_env()
        client.ping()
    except Exception as exc:
        _unavailable(f"no Docker engine answers ({exc}); run scripts/ensure-docker.sh")
    return client


@pytest.fixture(scope="session")
def runner_image(docker_client: Any, request: pytest.FixtureRequest) -> str:
    """mwaadeps-runner:2.9.2 built from the bookworm base (a no-op when unchanged)."""
    from docker.errors import ImageNotFound

    from mwaadeps.config import load_settings
    from mwaadeps.localtest.image import build_runner_image

    if not CONSTRAINTS.is_file():
        _unavailable(f"the Airflow {AIRFLOW} constraints file {CONSTRAINTS} is missing")
    try:
        docker_client.images.get(BASE_IMAGE)
    except ImageNotFound:
        _unavailable(f"base image {BASE_IMAGE} is missing; run scripts/ensure-docker.sh")
    store = getattr(request.config, "cache", None)  # absent under -p no:cacheprovider
    cache = Path(
        store.mkdir("mwaadeps-docker")
        if store is not None
        else request.getfixturevalue("tmp_path_factory").mktemp("mwaadeps-docker")
    )
    settings = load_settings(
        {"airflow_version": AIRFLOW, "constraints": str(CONSTRAINTS), "cache_dir": cache / "c"},
        env={},
    )
    # mwaadeps' own downloader, resolving for the base's Python (3.11.2 on bookworm).
    image = build_runner_image(
        settings,
        base_image=BASE_IMAGE,
        reporter=RecordingReporter(),
        client=docker_client,
    )
    return image.tag


@pytest.fixture(autouse=True)
def no_container_left(request: pytest.FixtureRequest) -> Iterator[None]:
    """After every test that used the engine, none of its containers may remain."""
    yield
    if "docker_client" not in request.fixturenames:
        return
    client = request.getfixturevalue("docker_client")
    assert session_containers(client) == []


@pytest.fixture()
def tiny_wheels() -> list[tuple[str, bytes]]:
    """tinypkg 1.0 (needs tinydep) and tinydep 1.0: pure Python."""
    return [
        make_wheel(
            "tinypkg",
            "1.0",
            {"tinypkg/__init__.py": "from tinydep import VALUE\n"},
            requires=("tinydep==1.0",),
        ),
        make_wheel("tinydep", "1.0", {"tinydep/__init__.py": "VALUE = 42\n"}),
    ]
