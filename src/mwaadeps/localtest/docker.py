"""The Docker engine side of local tests: the client, the runner image, labelled containers
and images, and the tar archives that put files into a container.

Every container mwaadeps starts carries the label ``LABEL`` and a per-run label, so it can be
removed by label whatever state it stopped in (even one whose create call was cut short).
"""

from __future__ import annotations

import contextlib
import io
import os
import tarfile
import time
from pathlib import Path
from typing import Any

from mwaadeps.errors import DockerError

LABEL = "mwaadeps.localtest"
RUN_LABEL = f"{LABEL}.run"
RUNNER_REPO = "mwaadeps-runner"
LOCAL_RUNNER_REPO = "amazon/mwaa-local"


# -- the engine and the image --------------------------------------------------------------
def docker_client(timeout: int | None = None) -> Any:
    """A Docker SDK client that answers, or a DockerError saying how to get one."""
    import docker
    from docker.errors import DockerException

    try:
        client = docker.from_env() if timeout is None else docker.from_env(timeout=timeout)
        client.ping()
    except DockerException as exc:
        where = os.environ.get("DOCKER_HOST") or "the default socket"
        raise DockerError(
            f"Cannot reach the Docker engine at {where}: {exc}.",
            hint="Start Docker (or set DOCKER_HOST to a running engine) and retry.",
        ) from None
    return client


def local_runner_tag(airflow_version: str) -> str:
    """The tag aws-mwaa-local-runner builds for a version: amazon/mwaa-local:2_9."""
    major, minor = airflow_version.split(".")[:2]
    return f"{LOCAL_RUNNER_REPO}:{major}_{minor}"


def image_exists(client: Any, tag: str) -> bool:
    """True when the engine has an image by that tag or id."""
    from docker.errors import ImageNotFound

    try:
        client.images.get(tag)
    except ImageNotFound:
        return False
    return True


def how_to_get(airflow_version: str | None) -> str:
    """The hint for a missing runner image."""
    version = airflow_version or "<version>"
    tag = local_runner_tag(airflow_version) if airflow_version else "amazon/mwaa-local:X_Y"
    return (
        f"Build one with `mwaadeps runner build --airflow-version {version}` (no other "
        f"repository needed), or build aws-mwaa-local-runner for that version (its "
        f"`./mwaa-local-env build-image` tags {tag}), "
        "or pass --image with an image you have."
    )


def pick_image(
    client: Any,
    airflow_version: str | None,
    *,
    explicit: str | None = None,
    configured: str | None = None,
) -> str:
    """--image, else the configured image, else mwaadeps' runner, else the local-runner tag."""
    for tag, what in ((explicit, "--image"), (configured, "runner-image in the settings")):
        if tag:
            if not image_exists(client, tag):
                raise DockerError(
                    f"Image {tag} (from {what}) is not in the local Docker engine.",
                    hint=how_to_get(airflow_version),
                )
            return tag
    if not airflow_version:
        raise DockerError(
            "No runner image given and no Airflow version to choose one by.",
            hint="Pass --image, or --airflow-version (or build a bundle with a manifest.json).",
        )
    candidates = [f"{RUNNER_REPO}:{airflow_version}", local_runner_tag(airflow_version)]
    for tag in candidates:
        if image_exists(client, tag):
            return tag
    raise DockerError(
        f"No runner image for Airflow {airflow_version}: neither {' nor '.join(candidates)} "
        "is in the local Docker engine.",
        hint=how_to_get(airflow_version),
    )


# -- labelled containers and images ----------------------------------------------------------
def remove_containers(client: Any, label: str) -> None:
    """Remove every container carrying ``label`` ("key" or "key=value"), whatever its state."""
    from docker.errors import DockerException, NotFound

    try:
        found = client.containers.list(all=True, filters={"label": label})
    except DockerException:
        return
    for container in found:
        with contextlib.suppress(NotFound, DockerException):
            container.remove(force=True)


def remove_run(client: Any, run_id: str) -> None:
    """Remove every container of one run (label ``RUN_LABEL=run_id``)."""
    remove_containers(client, f"{RUN_LABEL}={run_id}")


def leftover_containers(client: Any) -> list[str]:
    """Ids of containers mwaadeps started that still exist (there should be none)."""
    return [c.id for c in client.containers.list(all=True, filters={"label": LABEL})]


def remove_images(client: Any, label: str) -> list[str]:
    """Remove the images carrying ``label`` ("key" or "key=value"); the ids removed."""
    from docker.errors import DockerException, NotFound

    try:
        found = client.images.list(filters={"label": label})
    except DockerException:
        return []
    removed = []
    for image in found:
        with contextlib.suppress(NotFound, DockerException):
            client.images.remove(image.id, force=True)
            removed.append(str(image.id))
    return removed


# -- archives for put_archive ------------------------------------------------------------
def add_file(tar: tarfile.TarFile, name: str, data: bytes, mode: int = 0o644) -> None:
    """A regular file in a tar being written."""
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = mode
    info.mtime = int(time.time())
    tar.addfile(info, io.BytesIO(data))


def add_dir(tar: tarfile.TarFile, name: str) -> None:
    """A directory in a tar being written."""
    info = tarfile.TarInfo(name)
    info.type = tarfile.DIRTYPE
    info.mode = 0o755
    info.mtime = int(time.time())
    tar.addfile(info)


def add_tree(tar: tarfile.TarFile, folder: Path, prefix: str, *, top: bool = True) -> None:
    """A folder's files and subfolders under ``prefix`` (no __pycache__); ``top`` adds the
    ``prefix`` directory itself."""
    if top:
        add_dir(tar, prefix)
    for path in sorted(Path(folder).rglob("*")):
        rel = path.relative_to(folder).as_posix()
        if "__pycache__" in rel.split("/"):
            continue
        if path.is_dir():
            add_dir(tar, f"{prefix}/{rel}")
        elif path.is_file():
            add_file(tar, f"{prefix}/{rel}", path.read_bytes())
