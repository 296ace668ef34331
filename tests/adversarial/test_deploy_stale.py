"""A stale dist/ (built from inputs that changed since) is refused by deploy, diff and
test-local, unless --allow-stale; freshness compares manifest "inputs" with the inputs now."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from deploy.conftest import Project
from mwaadeps.build.dist import check_fresh, input_digest, stale_inputs
from mwaadeps.config import load_settings
from mwaadeps.errors import StaleBundleError


def _built_from_current_inputs(root: Path) -> None:
    """What `mwaadeps build` records: the digest of each input that exists."""
    (root / "requirements.txt").write_text("requests==2.32.3\n")
    (root / "mwaadeps.lock").write_text("# lock\n")
    (root / "plugins" / "operators").mkdir(parents=True)
    (root / "plugins" / "operators" / "hello.py").write_text("VERSION = 1\n")
    inputs = {
        name: input_digest(root / path)
        for name, path in (
            ("requirements.txt", "requirements.txt"),
            ("mwaadeps.lock", "mwaadeps.lock"),
            ("plugins", "plugins"),
        )
    }
    manifest = root / "dist" / "manifest.json"
    data = json.loads(manifest.read_text())
    manifest.write_text(json.dumps({**data, "inputs": inputs}))


def test_freshness_of_each_input(tmp_path: Path) -> None:
    root = tmp_path / "p"
    (root / "dist").mkdir(parents=True)
    (root / "dist" / "manifest.json").write_text("{}")
    (root / "mwaadeps.toml").write_text('airflow-version = "2.9.2"\n')
    settings = load_settings({}, env={}, cwd=root)
    assert stale_inputs(settings, root / "dist") == []  # no inputs recorded: not checkable
    _built_from_current_inputs(root)
    settings = load_settings({}, env={}, cwd=root)
    assert stale_inputs(settings, root / "dist") == []
    (root / "plugins" / "operators" / "hello.py").write_text("VERSION = 2\n")
    assert stale_inputs(settings, root / "dist") == ["plugins"]
    (root / "startup.sh").write_text("echo new\n")  # an input that appeared since
    settings = load_settings({}, env={}, cwd=root)
    assert stale_inputs(settings, root / "dist") == ["plugins", "startup.sh"]
    (root / "mwaadeps.lock").unlink()  # and one that vanished
    assert stale_inputs(settings, root / "dist") == ["mwaadeps.lock", "plugins", "startup.sh"]
    with pytest.raises(StaleBundleError) as info:
        check_fresh(settings, root / "dist")
    assert "mwaadeps.lock, plugins, startup.sh" in info.value.message
    assert "--allow-stale" in (info.value.hint or "")
    assert check_fresh(settings, root / "dist", allow_stale=True) == [
        "mwaadeps.lock",
        "plugins",
        "startup.sh",
    ]


def test_deploy_diff_and_test_local_refuse_a_stale_bundle(deploy_project: Project) -> None:
    _built_from_current_inputs(deploy_project.root)
    assert deploy_project.cli("deploy", "--env", "dev", "--dry-run").returncode == 0
    (deploy_project.root / "requirements.txt").write_text("requests==2.32.4\n")
    for args in (["deploy", "--env", "dev"], ["diff", "--env", "dev"], ["test-local"]):
        run = deploy_project.cli(*args)
        assert run.returncode == 1, (args, run.stdout + run.stderr)
        assert "stale" in run.stderr and "requirements.txt" in run.stderr
        assert "--allow-stale" in run.stderr
        assert "Traceback" not in run.stderr
    data = json.loads(deploy_project.cli("deploy", "--env", "dev", "--json").stdout)
    assert data["ok"] is False and data["error"]["code"] == "stale_bundle"
    assert "UpdateEnvironment" not in deploy_project.calls()["mwaa"]

    run = deploy_project.cli("deploy", "--env", "dev", "--allow-stale")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "--allow-stale" in run.stderr
    assert deploy_project.calls()["mwaa"]["UpdateEnvironment"] == 1
    assert deploy_project.cli("diff", "--env", "dev", "--allow-stale").returncode == 0
