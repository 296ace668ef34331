"""lock/build/check --env: the environment's discovered base install replaces the prediction.

Hermetic: the fake index on 127.0.0.1. requests and shared-util are in MWAA's base install
and pinned by the constraints, so without an override both are provided (never bundled).
The override says the live environment has requests at another version and no shared-util.
"""

from __future__ import annotations

from pathlib import Path

from buildkit import ProjectFactory, run_cli

from mwaadeps.build import lockfile
from mwaadeps.build.base import format_override

ENV_TABLE = (
    "[environments.dev]\n"
    'name = "dsai-dev-mwaa"\n'
    'bucket = "dsai-airflow-dags"\n'
    'installed = "mwaadeps-installed-dev.txt"\n'
)
REQUIREMENTS = ["fake-provider", "requests"]


def _roles(data: dict[str, object]) -> dict[str, tuple[str, str]]:
    packages = data["packages"]
    assert isinstance(packages, list)
    return {p["name"]: (p["version"], p["role"]) for p in packages}


def _write_override(project: Path, base: dict[str, str], airflow: str = "2.9.2",
                    python: str = "3.11.9") -> Path:  # fmt: skip
    path = project / "mwaadeps-installed-dev.txt"
    path.write_text(format_override("dsai-dev-mwaa", airflow, python, "2026-12-03T10:00:00Z", base))
    return path


def test_lock_with_env_bundles_what_the_live_base_lacks(
    make_project: ProjectFactory, shared_cache: Path
) -> None:
    project = make_project(REQUIREMENTS, toml_extra=ENV_TABLE)
    predicted = run_cli(project, ["lock", "--json"], shared_cache)
    assert predicted.returncode == 0, predicted.output
    roles = _roles(predicted.json())
    assert roles["requests"] == ("2.32.3", "provided")
    assert roles["shared-util"] == ("1.0", "provided")
    assert predicted.json()["base"] is None
    assert lockfile.read(project / "mwaadeps.lock").base_source == {}

    # What discover found: the predicted base, but requests drifted and shared-util is gone.
    live = {n: v for n, (v, role) in roles.items() if role == "provided"}
    live["requests"] = "2.31.0"
    del live["shared-util"]
    override = _write_override(project, live)

    run = run_cli(project, ["lock", "--env", "dev", "--json"], shared_cache)
    assert run.returncode == 0, run.output
    with_env = _roles(run.json())
    assert with_env["requests"] == ("2.32.3", "bundle")  # the constraints' pin, now shipped
    assert with_env["shared-util"] == ("1.0", "bundle")
    assert with_env["apache-airflow"] == ("2.9.2", "provided")
    lock = lockfile.read(project / "mwaadeps.lock")
    assert lock.base_source["env"] == "dev"
    assert lock.base_source["file"] == override.name
    from mwaadeps.digest import sha256_file

    assert lock.base_source["sha256"] == sha256_file(override)
    assert run.json()["base"] == lock.base_source

    # build --env reuses that lock; a changed override makes it stale.
    built = run_cli(project, ["build", "--env", "dev", "--json"], shared_cache)
    assert built.returncode == 0, built.output
    assert built.json()["lock_reused"] is True
    assert "requests==2.32.3" in built.json()["pins"]
    live["requests"] = "2.32.3"
    live["shared-util"] = "1.0"
    _write_override(project, live)
    rebuilt = run_cli(project, ["build", "--env", "dev", "--json"], shared_cache)
    assert rebuilt.returncode == 0, rebuilt.output
    assert rebuilt.json()["lock_reused"] is False
    assert not any(p.startswith(("requests==", "shared-util==")) for p in rebuilt.json()["pins"])


def test_build_table_env_is_the_default(make_project: ProjectFactory, shared_cache: Path) -> None:
    project = make_project(REQUIREMENTS, toml_extra=ENV_TABLE.replace(
        "[environments.dev]", '[build]\nenv = "dev"\n\n[environments.dev]'))  # fmt: skip
    _write_override(project, {"apache-airflow": "2.9.2", "requests": "2.32.3"})
    run = run_cli(project, ["lock", "--json"], shared_cache)
    assert run.returncode == 0, run.output
    roles = _roles(run.json())
    assert roles["requests"] == ("2.32.3", "provided")
    assert roles["shared-util"] == ("1.0", "bundle")  # not in this environment's base
    assert run.json()["base"]["env"] == "dev"
    checked = run_cli(project, ["check", "--json"], shared_cache)
    assert checked.returncode == 0, checked.output
    assert checked.json()["base"] == run.json()["base"]


def test_override_for_another_target_is_refused(
    make_project: ProjectFactory, shared_cache: Path
) -> None:
    project = make_project(REQUIREMENTS, toml_extra=ENV_TABLE)
    _write_override(project, {"requests": "2.32.3"}, airflow="2.10.3")
    for command in ("lock", "build", "check"):
        run = run_cli(project, [command, "--env", "dev"], shared_cache)
        assert run.returncode == 2, run.output
        assert "discovered on Airflow 2.10.3 (Python 3.11.9)" in run.output
        assert "the target is MWAA 2.9.2" in run.output
        assert "Traceback" not in run.output
    assert not (project / "mwaadeps.lock").exists()
    assert not (project / "dist").exists()
