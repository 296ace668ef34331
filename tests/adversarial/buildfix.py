"""Fixtures of the adversarial build tests (loaded with `pytest_plugins = ["buildfix"]`):
the fake world of tests/build plus a setuptools sdist, served open and behind Basic auth.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import advkit  # first: it puts tests/build on sys.path
import fakeworld
import pytest
from fakeworld import Server


@pytest.fixture(scope="session")
def world_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fake world of tests/build plus a setuptools sdist, and constraints at the root."""
    world = fakeworld.build_world()
    world.add("setuppure", fakeworld.make_sdist("setuppure", "1.0", advkit.SETUPPURE))
    root = world.write(tmp_path_factory.mktemp("adv-index"))
    (root / "constraints.txt").write_text(fakeworld.CONSTRAINTS)
    return root


@pytest.fixture(scope="session")
def open_index(world_root: Path) -> Iterator[Server]:
    with fakeworld.serve(world_root) as server:
        yield server


@pytest.fixture(scope="session")
def locked_index(world_root: Path) -> Iterator[Server]:
    """The same world behind HTTP Basic auth (401 without USER:PASSWORD)."""
    with fakeworld.serve(world_root, auth=(advkit.USER, advkit.PASSWORD)) as server:
        yield server
