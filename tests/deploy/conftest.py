"""A sandbox (moto + the MWAA emulator) on 127.0.0.1 for every deploy test; never real AWS."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from mwaadeps.config import EnvironmentConfig, load_settings
from mwaadeps.deploy.models import DeployOptions
from mwaadeps.sandbox.server import Sandbox

SECRET = "SeCrEtSandboxValue0123456789"
REGION = "eu-west-1"

TOML = """\
airflow-version = "2.9.2"

[environments.dev]
name = "dsai-dev-mwaa"
region = "eu-west-1"
bucket = "dsai-airflow-dags"
kms-key = "alias/dsai-airflow"

[environments.prod]
name = "dsai-prod-mwaa"
region = "eu-west-1"
bucket = "dsai-airflow-dags-prod"
kms-key = "alias/dsai-airflow-prod"

[environments.wrongbucket]
name = "dsai-dev-mwaa"
region = "eu-west-1"
bucket = "dsai-airflow-dags-prod"
"""

FAST = DeployOptions(poll_interval=0.0, timeout=30.0)


@pytest.fixture(scope="session")
def sandbox() -> Iterator[Sandbox]:
    box = Sandbox("127.0.0.1", 0, update_polls=2)
    box.start()
    yield box
    box.stop()


@pytest.fixture(autouse=True)
def aws_env(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Fake credentials, the sandbox endpoint, no profile/IMDS: nothing can reach real AWS."""
    point_at_sandbox(sandbox, monkeypatch, tmp_path)


def point_at_sandbox(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Environment variables that send every AWS call to the (reset) sandbox, nowhere else."""
    for name in list(os.environ):
        if name.startswith(("AWS_", "MWAADEPS_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_ENDPOINT_URL", sandbox.url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIASANDBOXTESTKEY01")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.setenv("MWAADEPS_POLL_INTERVAL", "0")
    monkeypatch.setenv("MWAADEPS_CACHE_DIR", str(tmp_path / "cache"))
    sandbox.reset()


def make_dist(
    folder: Path,
    requirements: str = "requests==2.32.3\n",
    plugin: str = "v1",
    startup: str | None = "#!/bin/sh\necho ready\n",
) -> Path:
    """A small hand-made bundle folder."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "requirements.txt").write_text(requirements)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        info = zipfile.ZipInfo("operators/hello.py", date_time=(1980, 1, 1, 0, 0, 0))
        zf.writestr(info, f"VERSION = {plugin!r}\n")
    (folder / "plugins.zip").write_bytes(buf.getvalue())
    if startup is not None:
        (folder / "startup.sh").write_text(startup)
    (folder / "manifest.json").write_text(
        json.dumps({"mwaadeps_version": "0.1.0", "pinned": {"requests": "2.32.3"}})
    )
    return folder


@dataclass
class Project:
    root: Path
    sandbox: Sandbox

    @property
    def dist(self) -> Path:
        return self.root / "dist"

    def env(self, key: str = "dev") -> EnvironmentConfig:
        return load_settings({}, env={}, cwd=self.root).environment(key)

    def client(self, service: str) -> Any:
        return self.sandbox.client(service, REGION)

    def environment(self, name: str = "dsai-dev-mwaa") -> dict[str, Any]:
        return dict(self.client("mwaa").get_environment(Name=name)["Environment"])

    def calls(self) -> dict[str, Any]:
        return self.sandbox.calls()

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run the real `mwaadeps` console script in the project folder."""
        exe = Path(sys.executable).with_name("mwaadeps")
        return subprocess.run(
            [str(exe), *args],
            cwd=self.root,
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "COLUMNS": "200"},
        )


def new_project(tmp_path: Path, sandbox: Sandbox, toml: str = TOML) -> Project:
    """A project folder with mwaadeps.toml and a dist/, its environments seeded."""
    root = tmp_path / "proj"
    root.mkdir()
    (root / "mwaadeps.toml").write_text(toml)
    seeded = sandbox.seed(root)
    assert {s.status for s in seeded} == {"AVAILABLE"}
    make_dist(root / "dist")
    return Project(root, sandbox)


@pytest.fixture
def project(tmp_path: Path, sandbox: Sandbox) -> Project:
    return new_project(tmp_path, sandbox)
