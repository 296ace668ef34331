"""Fixtures for the build tests: a fake package index on 127.0.0.1, projects, a CLI runner."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import fakeworld
import pytest
from fakeworld import Server

REPO = Path(__file__).resolve().parents[2]
# The per-version MWAA data shipped inside mwaadeps (the repository's own copy).
MWAA_DATA = REPO / "src" / "mwaadeps" / "data" / "mwaa"
EXAMPLE = REPO / "examples" / "dsai-dev"

# uv looks for a Python of the target's minor version on PATH (for builds); finding this
# interpreter first spares it a slow walk through version-manager shims.
FAST_PATH = str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", "")

# The happy-path requirements of the fake world.
HAPPY = [
    "fake-provider",
    "linuxonly",
    "twoarch",
    "manyplat",
    "winmarker",
    "puresdist",
    "stubs-user",
    "requests",  # in MWAA's base install and pinned: provided, never bundled
]


@dataclass
class Run:
    """One CLI run."""

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


ENTRY = "from mwaadeps.cli.app import main; main()"


def child_env(
    cache_dir: Path, extra: Mapping[str, str] | None = None, *, columns: str | None = "200"
) -> dict[str, str]:
    """The environment of a CLI subprocess: no host pip/uv/mwaadeps/CI settings leak in;
    colours off, so output is plain text; COLUMNS as given (None: unset)."""
    env = {
        k: v for k, v in os.environ.items()
        if not k.startswith(("PIP_", "UV_", "MWAADEPS_", "CI", "COLUMNS"))
    }  # fmt: skip
    env["MWAADEPS_CACHE_DIR"] = str(cache_dir)
    env["PATH"] = FAST_PATH
    env["NO_COLOR"] = "1"
    if columns is not None:
        env["COLUMNS"] = columns
    env.update(extra or {})
    return env


def run_cli(
    cwd: Path,
    args: Sequence[str],
    cache_dir: Path,
    env: Mapping[str, str] | None = None,
    *,
    columns: str | None = "200",
    wrapper: Sequence[str] = (),
    **popen: Any,
) -> Run:
    """Run the real `mwaadeps` entry point in a subprocess (``wrapper``: a command before it)."""
    proc = subprocess.run(
        [*wrapper, sys.executable, "-c", ENTRY, *args],
        cwd=cwd, env=child_env(cache_dir, env, columns=columns), capture_output=True,
        text=True, timeout=600, check=False, **popen,
    )  # fmt: skip
    return Run(tuple(args), proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture(scope="session")
def fake_index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The fake world as a PEP 503 index on 127.0.0.1 (random port), for the session."""
    root = fakeworld.build_world().write(tmp_path_factory.mktemp("index"))
    with fakeworld.serve(root) as server:
        yield server


@pytest.fixture(scope="session")
def shared_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cache")


def write_project(
    folder: Path,
    index_url: str,
    requirements: Sequence[str],
    *,
    toml_extra: str = "",
    index_extra: str = "",
) -> Path:
    """A project folder: mwaadeps.toml, requirements.txt, nested plugins, startup.sh."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "requirements.txt").write_text("\n".join(requirements) + "\n")
    # The constraints live next to the project: the config's relative path must resolve
    # against the config file's folder, not the working directory.
    (folder / "world").mkdir(exist_ok=True)
    (folder / "world" / "constraints.txt").write_text(fakeworld.CONSTRAINTS)
    plugins = folder / "plugins"
    for rel, text in {
        "README.md": "# plugins\n",
        "operators/__init__.py": "",
        "operators/sub/deep/my_operator.py": "class MyOperator:\n    pass\n",
        "hooks/my_hook.py": "HOOK = 1\n",
        "sensors/__init__.py": "",
    }.items():
        path = plugins / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    (plugins / "hooks" / "__pycache__").mkdir(exist_ok=True)
    (plugins / "hooks" / "__pycache__" / "my_hook.cpython-311.pyc").write_bytes(b"junk")
    (folder / "startup.sh").write_text("#!/bin/sh\necho started\n")
    (folder / "mwaadeps.toml").write_text(
        'airflow-version = "2.9.2"\n'
        'constraints = "world/constraints.txt"\n'
        f"{toml_extra}\n"
        "[index]\n"
        f'url = "{index_url}"\n'
        f"{index_extra}\n"
    )
    return folder


ProjectFactory = Callable[..., Path]


@pytest.fixture
def make_project(tmp_path: Path, fake_index: Server) -> ProjectFactory:
    def _make(requirements: Sequence[str], name: str = "proj", **kw: Any) -> Path:
        return write_project(tmp_path / name, f"{fake_index.url}/simple", requirements, **kw)

    return _make


@dataclass
class Built:
    """A finished build of the happy-path project, shared by many tests."""

    project: Path
    run: Run
    data: dict[str, Any]

    @property
    def dist(self) -> Path:
        return self.project / "dist"

    def zip_names(self) -> list[str]:
        with zipfile.ZipFile(self.dist / "plugins.zip") as zf:
            return zf.namelist()

    def wheel_names(self) -> list[str]:
        return sorted(n for n in self.zip_names() if n.endswith(".whl"))


@pytest.fixture(scope="session")
def happy_build(
    tmp_path_factory: pytest.TempPathFactory, fake_index: Server, shared_cache: Path
) -> Built:
    """The happy-path project built once through the CLI with --json."""
    project = write_project(
        tmp_path_factory.mktemp("happy") / "proj", f"{fake_index.url}/simple", HAPPY
    )
    run = run_cli(project, ["build", "--json"], shared_cache)
    assert run.returncode == 0, run.output
    return Built(project, run, run.json())


def copy_project(src: Path, dest: Path) -> Path:
    shutil.copytree(src, dest, ignore=shutil.ignore_patterns("dist", "mwaadeps.lock"))
    return dest
