"""The Docker fixtures (defined in docker_fixtures.py, so other folders can reuse them)."""

from docker_fixtures import docker_client, no_container_left, runner_image, tiny_wheels

__all__ = ["docker_client", "no_container_left", "runner_image", "tiny_wheels"]
