"""`discover --write` never corrupts mwaadeps.toml: whatever valid TOML the user wrote
(comments, CRLF, other tables, an existing `installed` in any valid spelling), the result
parses to the same settings plus `installed`, or discover refuses and changes nothing.
Real runs against the sandbox (moto + emulator) through the CLI."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from deploy.conftest import TOML, Project, new_project, point_at_sandbox
from mwaadeps.sandbox.server import Sandbox

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

OVERRIDE = "mwaadeps-installed-dev.txt"
DEV = '[environments.dev]\nname = "dsai-dev-mwaa"\n'
assert DEV in TOML
VARIANTS = {
    "plain": TOML,
    "comments": "# team config\n"
    + TOML.replace(DEV, '[environments.dev]  # the dev one\n# keep me\nname = "dsai-dev-mwaa"\n'),
    "crlf": TOML.replace("\n", "\r\n"),
    "existing": TOML.replace(DEV, DEV + 'installed = "old.txt"  # was\n'),
    "quoted-key": TOML.replace(DEV, DEV + '"installed" = "old.txt"\n'),
    "literal-multiline": TOML.replace(DEV, DEV + "installed = '''old.txt'''\n"),
}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_write_keeps_the_toml_valid_or_changes_nothing(
    deploy_sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, variant: str
) -> None:
    point_at_sandbox(deploy_sandbox, monkeypatch, tmp_path)
    project: Project = new_project(tmp_path, deploy_sandbox, VARIANTS[variant])
    config = project.root / "mwaadeps.toml"
    before_bytes = config.read_bytes()
    before = tomllib.loads(before_bytes.decode())
    run = project.cli("discover", "--env", "dev", "--write", "--json")
    assert "Traceback" not in run.stdout + run.stderr
    data = json.loads(run.stdout)
    if run.returncode != 0:  # refused: nothing written at all
        assert data["ok"] is False and data["error"]["hint"], data
        assert config.read_bytes() == before_bytes
        assert not (project.root / OVERRIDE).exists()
        return
    after_bytes = config.read_bytes()
    after = tomllib.loads(after_bytes.decode())  # still valid TOML
    before["environments"]["dev"]["installed"] = OVERRIDE
    assert after == before  # only that one value changed
    if b"\r\n" in before_bytes:
        assert after_bytes.count(b"\r\n") == after_bytes.count(b"\n")  # no mixed endings
    for line in before_bytes.decode().splitlines():
        if line.lstrip().startswith("#"):
            assert line in after_bytes.decode()  # comments kept
    assert (project.root / OVERRIDE).is_file()
