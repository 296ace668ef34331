"""A planted password never leaks: not in any output, file, zip member, cache entry, or
the command line of a child uv/pip process, through check, lock and build in both modes.

The index (127.0.0.1) answers 401 without the password; the constraints come from the same
server, with the credentials in the constraints URL.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import pytest
from advkit import CRED_ENV, CRED_TOML, PASSWORD, USER, SpiedRun, find_secret, run_spied
from buildkit import write_project
from fakeworld import Server, basic_auth

pytest_plugins = ["buildfix"]  # the fake indexes of tests/build (fixtures)

REQUIREMENTS = ["fake-provider", "linuxonly", "puresdist", "setuppure"]  # setuppure: uv build


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory, locked_index: Server) -> dict[str, object]:
    """Every command run once on a project whose credentials are planted."""
    root = tmp_path_factory.mktemp("secrets")
    cache = root / "cache"
    proj = write_project(root / "proj", f"{locked_index.url}/simple", REQUIREMENTS,
                         index_extra=CRED_TOML)  # fmt: skip
    host = locked_index.url.replace("http://", "")
    constraints = f"http://{USER}:{quote(PASSWORD, safe='')}@{host}/constraints.txt"
    toml = proj / "mwaadeps.toml"
    toml.write_text(toml.read_text().replace('"world/constraints.txt"', f'"{constraints}"'))
    before = len(locked_index.log)
    runs: dict[str, SpiedRun] = {}
    pip_tools = {"MWAADEPS_LOCK_FILE": "pt.lock"}
    for key, args, env in [
        ("check", ["check"], {}),
        ("lock", ["lock", "--json"], {}),
        ("lock-pip-tools", ["lock", "--resolver", "pip-tools"], pip_tools),
        ("build", ["build", "--json"], {}),
        ("build-again", ["build"], {}),
        ("build-index", ["build", "--mode", "index", "-o", "dist-index", "--json"], {}),
    ]:
        runs[key] = run_spied(proj, args, cache, env={**CRED_ENV, **env})
    (proj / "requirements.txt").write_text("no-such-package-xyz\n")
    runs["build-fails"] = run_spied(proj, ["build", "-o", "dist-failed"], cache, env=CRED_ENV)
    return {"proj": proj, "cache": cache, "runs": runs, "log": locked_index.log[before:]}


def _runs(planted: dict[str, object]) -> dict[str, SpiedRun]:
    runs = planted["runs"]
    assert isinstance(runs, dict)
    return runs


def test_every_command_ran_authenticated(planted: dict[str, object]) -> None:
    runs = _runs(planted)
    for key, spied in runs.items():
        if key == "build-fails":
            assert spied.run.returncode != 0
            assert "no-such-package-xyz" in spied.run.output
        else:
            assert spied.run.returncode == 0, (key, spied.run.output)
    log = planted["log"]
    assert isinstance(log, list)
    assert {r.authorization for r in log} == {basic_auth(USER, PASSWORD)}  # no 401 retries
    assert any(r.path == "/constraints.txt" for r in log)


def test_no_output_holds_the_password(planted: dict[str, object]) -> None:
    texts = {}
    for key, spied in _runs(planted).items():
        texts[f"{key} stdout"] = spied.run.stdout
        texts[f"{key} stderr"] = spied.run.stderr
    assert find_secret(texts, []) == []


def test_no_child_command_line_holds_the_password(planted: dict[str, object]) -> None:
    runs = _runs(planted)
    children = [c for spied in runs.values() for c in spied.children]
    tools = {Path(c["argv"][0]).name for c in children}
    assert "uv" in tools
    assert any("piptools" in c["argv"] for c in children)  # pip-compile ran too
    argv = "\n".join(" ".join(c["argv"]) for c in children)
    assert find_secret({"argv": argv}, []) == []
    assert USER not in argv
    # The credentials went through the environment instead.
    uv_envs = [c["env"] for c in children if Path(c["argv"][0]).name == "uv"]
    assert all("UV_INDEX_MWAADEPS0_PASSWORD" in env for env in uv_envs)


def test_no_written_file_holds_the_password(planted: dict[str, object]) -> None:
    proj, cache = planted["proj"], planted["cache"]
    assert isinstance(proj, Path) and isinstance(cache, Path)
    written = [p for p in proj.iterdir() if p.name not in ("mwaadeps.toml", "requirements.txt")]
    assert {"dist", "dist-index", "mwaadeps.lock", "pt.lock"} <= {p.name for p in written}
    assert find_secret({}, written) == []


def test_the_cache_holds_no_password(planted: dict[str, object]) -> None:
    """mwaadeps' cache and uv's (inside it) both."""
    cache = planted["cache"]
    assert isinstance(cache, Path)
    assert (cache / "uv").is_dir() and (cache / "files").is_dir()
    assert find_secret({}, [cache]) == []


def test_index_mode_requirements_use_placeholders(planted: dict[str, object]) -> None:
    proj = planted["proj"]
    assert isinstance(proj, Path)
    text = (proj / "dist-index" / "requirements.txt").read_text()
    assert "--index-url http://${IDX_USER}:${IDX_TOKEN}@127.0.0.1:" in text


def test_deploy_puts_no_password_in_the_bucket(
    planted: dict[str, object],
    deploy_sandbox: object,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """The built bundle deployed (credentials in the deployer's environment): no bucket
    object, version or record, and no deploy output, holds the password."""
    import os
    import shutil
    import subprocess
    import sys

    from deploy.conftest import point_at_sandbox
    from mwaadeps.sandbox.server import Sandbox

    assert isinstance(deploy_sandbox, Sandbox)
    point_at_sandbox(deploy_sandbox, monkeypatch, tmp_path)
    proj = planted["proj"]
    assert isinstance(proj, Path)
    copy = tmp_path / "deployed"
    shutil.copytree(proj, copy, ignore=shutil.ignore_patterns("dist-*"))
    toml = copy / "mwaadeps.toml"
    toml.write_text(toml.read_text() + '\n[environments.dev]\nname = "dsai-dev-mwaa"\n'
                    'region = "eu-west-1"\nbucket = "dsai-airflow-dags"\n'
                    'kms-key = "alias/dsai-airflow"\n')  # fmt: skip
    assert {s.status for s in deploy_sandbox.seed(copy)} == {"AVAILABLE"}
    exe = Path(sys.executable).with_name("mwaadeps")
    env = {**os.environ, **CRED_ENV}
    runs = {}
    for args in (["deploy", "--env", "dev", "--allow-stale", "--json"],
                 ["status", "--env", "dev", "--json"], ["history", "--env", "dev"]):  # fmt: skip
        proc = subprocess.run([str(exe), *args], cwd=copy, capture_output=True, text=True,
                              env=env, timeout=300, check=False)  # fmt: skip
        runs[" ".join(args[:1])] = proc
    assert runs["deploy"].returncode == 0, runs["deploy"].stdout + runs["deploy"].stderr
    texts = {f"{k} {s}": getattr(p, s) for k, p in runs.items() for s in ("stdout", "stderr")}
    s3 = deploy_sandbox.client("s3", "eu-west-1")
    listing = s3.list_object_versions(Bucket="dsai-airflow-dags")
    objects = listing.get("Versions", [])
    assert {o["Key"] for o in objects} >= {"plugins.zip", "requirements.txt"}
    stored = tmp_path / "bucket"
    for obj in objects:
        body = s3.get_object(Bucket="dsai-airflow-dags", Key=obj["Key"],
                             VersionId=obj["VersionId"])["Body"].read()  # fmt: skip
        dest = stored / obj["VersionId"] / obj["Key"]
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(body)
    assert find_secret(texts, [stored]) == []
