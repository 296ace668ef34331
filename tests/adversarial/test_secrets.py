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
