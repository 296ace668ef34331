"""Credentials: used where needed (constraints URL, index, mwaadeps' own downloads) and
never shown, written, or put on a command line."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import pytest
from advkit import (
    CRED_ENV,
    CRED_TOML,
    PASSWORD,
    USER,
    find_secret,
    run_spied,
)
from buildkit import run_cli, write_project
from fakeworld import Server, basic_auth

from mwaadeps.config import IndexConfig
from mwaadeps.errors import ConfigError
from mwaadeps.redact import redact as redact_requirement
from mwaadeps.redact import redact_text, redact_url

pytest_plugins = ["buildfix"]  # the fake indexes of tests/build (fixtures)

ENCODED = quote(PASSWORD, safe="")


def _local(url: str) -> str:
    return url.replace("http://", "")


def test_constraints_url_credentials_are_sent_not_shown(
    tmp_path: Path, locked_index: Server
) -> None:
    url = f"http://{USER}:{ENCODED}@{_local(locked_index.url)}/constraints.txt"
    proj = write_project(tmp_path / "p", f"{locked_index.url}/simple", ["linuxonly"],
                         index_extra=CRED_TOML)  # fmt: skip
    toml = (proj / "mwaadeps.toml").read_text()
    (proj / "mwaadeps.toml").write_text(
        toml.replace('constraints = "world/constraints.txt"', f'constraints = "{url}"')
    )
    before = len(locked_index.log)
    run = run_cli(proj, ["build"], tmp_path / "cache", env=CRED_ENV)
    assert run.returncode == 0, run.output
    sent = [r for r in locked_index.log[before:] if r.path == "/constraints.txt"]
    assert sent and all(r.authorization == basic_auth(USER, PASSWORD) for r in sent)
    written = [proj / "dist", proj / "mwaadeps.lock", tmp_path / "cache"]
    assert find_secret({"stdout": run.stdout, "stderr": run.stderr}, written) == []
    # Unreachable: the error names the URL without the password.
    dead = url.replace(str(locked_index.port), "1")
    (proj / "mwaadeps.toml").write_text(toml.replace('"world/constraints.txt"', f'"{dead}"'))
    failed = run_cli(proj, ["check"], tmp_path / "cache2", env=CRED_ENV)
    assert failed.returncode != 0 and "Traceback" not in failed.output
    assert "****@127.0.0.1" in failed.output
    assert find_secret({"out": failed.output}, [tmp_path / "cache2"]) == []


@pytest.mark.parametrize("where", ["toml", "env"])
def test_index_mode_refuses_literal_credentials(
    tmp_path: Path, open_index: Server, where: str
) -> None:
    literal = f"http://{USER}:{ENCODED}@{_local(open_index.url)}/simple"
    env = {}
    if where == "toml":
        proj = write_project(tmp_path / "p", literal, ["linuxonly"])
        key = "[index] url"
    else:
        proj = write_project(tmp_path / "p", f"{open_index.url}/simple", ["linuxonly"])
        env = {"MWAADEPS_INDEX_URL": literal}
        key = "MWAADEPS_INDEX_URL"
    run = run_cli(proj, ["build", "--mode", "index"], tmp_path / "cache", env=env)
    assert run.returncode == 2, run.output
    flat = " ".join(run.output.split())
    assert key in flat and "${" in flat and "Traceback" not in flat
    assert not (proj / "dist").exists()
    assert find_secret({"out": run.output}, [tmp_path / "cache"]) == []


def test_bundle_mode_uses_literal_credentials_without_writing_them(
    tmp_path: Path, locked_index: Server
) -> None:
    """Only index mode writes the URL: bundle mode may use one with a literal password."""
    literal = f"http://{USER}:{ENCODED}@{_local(locked_index.url)}/simple"
    proj = write_project(tmp_path / "p", f"{locked_index.url}/simple", ["linuxonly"])
    run = run_cli(proj, ["build"], tmp_path / "cache", env={"MWAADEPS_INDEX_URL": literal})
    assert run.returncode == 0, run.output
    written = [proj / "dist", proj / "mwaadeps.lock", tmp_path / "cache"]
    assert find_secret({"out": run.output}, written) == []


def test_a_password_that_needs_encoding_works(tmp_path: Path, locked_index: Server) -> None:
    """`/`, `#` and `@` in the password: uv and mwaadeps' downloader both authenticate."""
    proj = write_project(tmp_path / "p", f"{locked_index.url}/simple",
                         ["linuxonly", "puresdist"], index_extra=CRED_TOML)  # fmt: skip
    before = len(locked_index.log)
    run = run_cli(proj, ["build", "--json"], tmp_path / "cache", env=CRED_ENV)
    assert run.returncode == 0, run.output
    files = [r for r in locked_index.log[before:] if r.path.startswith("/files/")]
    assert files and all(r.authorization == basic_auth(USER, PASSWORD) for r in files)
    assert find_secret({"out": run.output}, [proj, tmp_path / "cache"]) == []


def test_var_credentials_in_requirements_reach_the_downloader(
    tmp_path: Path, open_index: Server, locked_index: Server
) -> None:
    """`--extra-index-url http://${U}:${P}@host` in requirements.txt: mwaadeps' own downloads
    authenticate as uv's do (that index refuses anything else with 401)."""
    url = f"http://${{IDX_USER}}:${{IDX_TOKEN_ENC}}@{_local(locked_index.url)}/simple"
    proj = write_project(tmp_path / "p", f"{open_index.url}/simple",
                         [f"--extra-index-url {url}", "linuxonly"])  # fmt: skip
    env = {"IDX_USER": USER, "IDX_TOKEN_ENC": ENCODED}
    before = len(locked_index.log)
    run = run_cli(proj, ["build", "--json"], tmp_path / "cache", env=env)
    assert run.returncode == 0, run.output
    assert [w["filename"] for w in run.json()["wheels"]] == [
        "linuxonly-1.0-cp311-cp311-manylinux_2_17_x86_64.whl"
    ]
    files = [r for r in locked_index.log[before:] if r.path.startswith("/files/linuxonly")]
    assert files and all(r.authorization == basic_auth(USER, PASSWORD) for r in files)
    assert find_secret({"out": run.output}, [proj / "dist", proj / "mwaadeps.lock"]) == []


def test_uv_gets_credentials_through_its_environment(tmp_path: Path, locked_index: Server) -> None:
    proj = write_project(tmp_path / "p", f"{locked_index.url}/simple", ["linuxonly", "puresdist"],
                         index_extra=CRED_TOML)  # fmt: skip
    spied = run_spied(proj, ["build"], tmp_path / "cache", env=CRED_ENV)
    assert spied.run.returncode == 0, spied.run.output
    uv_calls = [c for c in spied.children if Path(c["argv"][0]).name == "uv"]
    assert {c["argv"][1] for c in uv_calls} >= {"pip", "build"}
    assert find_secret({"argv": spied.argv_text}, []) == []
    assert USER not in spied.argv_text
    for call in uv_calls:
        assert "UV_INDEX_MWAADEPS0_PASSWORD" in call["env"], call["argv"]


def test_redaction_masks_up_to_the_last_at() -> None:
    url = "https://bob:p@ss@w0rd@nexus.example/simple"
    for shown in (redact_url(url), redact_text(f"see {url} now"), redact_requirement(url)):
        assert "ss@" not in shown and "w0rd" not in shown and "p@" not in shown
        assert "****@nexus.example/simple" in shown


def test_index_credentials_are_percent_encoded() -> None:
    index = IndexConfig("https://nexus.example/simple", username_env="U", password_env="P")
    [url] = index.resolved_urls({"U": "bob", "P": PASSWORD})
    assert url == f"https://bob:{ENCODED}@nexus.example/simple"
    var = IndexConfig("https://${U}:${P}@nexus.example/simple")
    assert var.resolved_urls({"U": "bob", "P": PASSWORD}) == [url]
    assert var.placeholder_urls() == ["https://${U}:${P}@nexus.example/simple"]
    with pytest.raises(ConfigError, match=r"\[index\] url"):
        IndexConfig(f"https://bob:{ENCODED}@nexus.example/simple").placeholder_urls()
