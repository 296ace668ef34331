"""tests/docker's engine fixtures and bundle helpers, for the test-local tests here.

Test modules take the fixtures with ``from localtest_fixtures import *`` (only fixtures are
exported that way) and the helpers by name. tests/docker is put on sys.path for this.
"""

from __future__ import annotations

import sys
from pathlib import Path

_DOCKER_TESTS = str(Path(__file__).resolve().parents[1] / "docker")
if _DOCKER_TESTS not in sys.path:
    sys.path.insert(0, _DOCKER_TESTS)

from docker_fixtures import (  # noqa: E402
    docker_client,
    no_container_left,
    runner_image,
    tiny_wheels,
)
from localtest_helpers import (  # noqa: E402, F401 (re-exported for the tests)
    FIND_LINKS,
    SESSION_LABELS,
    TINY_REQUIREMENTS,
    make_sdist,
    make_wheel,
    session_containers,
    write_bundle,
)

# The console script, run in a child process (as a user runs it).
MWAADEPS = [sys.executable, "-c", "from mwaadeps.cli.app import main; main()"]

__all__ = ["docker_client", "no_container_left", "runner_image", "tiny_wheels"]
