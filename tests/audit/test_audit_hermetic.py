"""`mwaadeps audit` and `build --audit` against a fake PyPI JSON API on 127.0.0.1."""

from __future__ import annotations

import json
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path

import fakeworld
import pytest
from advisories import ALL_IDS, write_world
from buildkit import Run, run_cli, write_project
from fakeworld import Server

REQUIREMENTS = ["fake-provider", "linuxonly", "requests"]
USER, PASSWORD = "auditor", "s3cr3t-Pa55word"


@pytest.fixture(scope="module")
def world_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_world(tmp_path_factory.mktemp("advisory-world"))


@pytest.fixture(scope="module")
def advisory_server(world_root: Path) -> Iterator[Server]:
    with fakeworld.serve(world_root) as server:
        yield server


@pytest.fixture(scope="module")
def locked(
    tmp_path_factory: pytest.TempPathFactory, advisory_server: Server, shared_cache: Path
) -> Path:
    """A project locked once against the fake index; tests copy it."""
    project = write_project(
        tmp_path_factory.mktemp("locked") / "proj", f"{advisory_server.url}/simple", REQUIREMENTS
    )
    run = run_cli(project, ["lock"], shared_cache)
    assert run.returncode == 0, run.output
    return project


def _copy(locked: Path, tmp_path: Path, *, toml_extra: str = "", index_url: str | None = None,
          index_extra: str = "") -> Path:  # fmt: skip
    project = tmp_path / "proj"
    shutil.copytree(locked, project, ignore=shutil.ignore_patterns("dist"))
    toml = (project / "mwaadeps.toml").read_text()
    if index_url is not None:
        old = next(line for line in toml.splitlines() if line.startswith("url = "))
        toml = toml.replace(old, f'url = "{index_url}"')
    toml = toml.replace("[index]\n", f"{toml_extra}\n[index]\n", 1) if toml_extra else toml
    (project / "mwaadeps.toml").write_text(toml + index_extra)
    return project


def _audit(project: Path, tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> Run:
    # A fresh cache per test: the advisory cache must never hide what a test changes.
    return run_cli(project, ["audit", *args], tmp_path / "cache", env)


def _ignore_toml(ids: list[str], fail_on: str | None = None) -> str:
    lines = ["[audit]"]
    if fail_on:
        lines.append(f'fail-on = "{fail_on}"')
    entries = ", ".join(f'{{ id = "{i}", reason = "reviewed: {i}" }}' for i in ids)
    lines.append(f"ignore = [{entries}]")
    return "\n".join(lines) + "\n"


def test_table_lists_advisories_fixes_and_what_the_target_allows(
    locked: Path, tmp_path: Path
) -> None:
    run = _audit(_copy(locked, tmp_path), tmp_path)
    assert run.returncode == 1, run.output
    rows = {line.split()[0]: line for line in run.stdout.splitlines() if line.strip()}
    prov = rows["GHSA-fake-prov-0001"]
    assert "CVE-2099-0001, PYSEC-2099-1" in prov and "fake-provider" in prov
    assert " 1.0.1 " in prov and prov.rstrip().endswith("allowed")  # lowest fix above 1.0.0
    assert rows["GHSA-fake-req-0002"].rstrip().endswith("blocked by the Airflow constraints")
    assert rows["PYSEC-2099-3"].rstrip().endswith("blocked by MWAA's essential pins")
    assert rows["GHSA-fake-low-0004"].rstrip().endswith("no fix published")
    assert " low " in rows["GHSA-fake-low-0004"]
    # The PYSEC twin of the GHSA advisory is one row; the withdrawn advisory is none.
    assert "PYSEC-2099-1" not in rows and "PYSEC-2099-9" not in run.output
    assert "4 known vulnerabilities (fail-on any)" in run.stdout


def test_json_report(locked: Path, tmp_path: Path) -> None:
    run = _audit(_copy(locked, tmp_path), tmp_path, "--json")
    assert run.returncode == 1, run.output
    data = run.json()
    assert data["ok"] is False and data["fail_on"] == "any"
    found = {v["id"]: v for v in data["vulnerabilities"]}
    assert sorted(found) == sorted(ALL_IDS)
    assert found["GHSA-fake-prov-0001"]["fix"] == "1.0.1"
    assert found["GHSA-fake-prov-0001"]["fix_allowed"] == "allowed"
    assert found["GHSA-fake-req-0002"]["role"] == "provided"
    assert found["GHSA-fake-low-0004"]["severity"] == "low"
    assert data["unavailable"] == [] and data["audited"] >= 5


def test_ignore_with_reason_in_config_and_on_the_command_line(locked: Path, tmp_path: Path) -> None:
    toml = _ignore_toml(["CVE-2099-0001", "GHSA-fake-req-0002", "PYSEC-2099-3"])
    project = _copy(locked, tmp_path, toml_extra=toml)
    run = _audit(project, tmp_path, "--json")
    assert run.returncode == 1, run.output  # GHSA-fake-low-0004 is left
    data = run.json()
    assert [v["id"] for v in data["vulnerabilities"]] == ["GHSA-fake-low-0004"]
    ignored = {v["id"]: v["ignored"] for v in data["ignored"]}
    assert ignored["GHSA-fake-prov-0001"] == "reviewed: CVE-2099-0001"  # matched by alias
    run = _audit(project, tmp_path, "--ignore", "GHSA-fake-low-0004")
    assert run.returncode == 0, run.output
    assert "ignored: GHSA-fake-low-0004 (linuxonly 1.0): ignored with --ignore" in run.stdout
    assert "No known vulnerabilities in" in run.stdout


def test_an_ignore_without_a_reason_is_a_config_error(locked: Path, tmp_path: Path) -> None:
    toml = '[audit]\nignore = [{ id = "GHSA-fake-req-0002" }]\n'
    run = _audit(_copy(locked, tmp_path, toml_extra=toml), tmp_path)
    assert run.returncode == 2, run.output
    assert "ignore entry 1 needs an id and a reason" in run.stderr
    assert "Traceback" not in run.output


def test_fail_on_severity(locked: Path, tmp_path: Path) -> None:
    others = ["GHSA-fake-prov-0001", "GHSA-fake-req-0002", "PYSEC-2099-3"]
    project = _copy(locked, tmp_path, toml_extra=_ignore_toml(others))
    assert _audit(project, tmp_path, "--fail-on", "medium").returncode == 0  # only a low one
    assert _audit(project, tmp_path, "--fail-on", "low").returncode == 1
    assert _audit(project, tmp_path, "--fail-on", "any").returncode == 1
    # An advisory without a severity (as PyPI publishes them) counts at every level.
    project2 = _copy(locked, tmp_path / "b", toml_extra=_ignore_toml(others[1:]))
    assert _audit(project2, tmp_path, "--fail-on", "critical").returncode == 1
    bad = _audit(project, tmp_path, "--fail-on", "severe")
    assert bad.returncode == 2 and "fail-on must be one of" in bad.stderr


def test_config_fail_on_is_the_default(locked: Path, tmp_path: Path) -> None:
    others = ["GHSA-fake-prov-0001", "GHSA-fake-req-0002", "PYSEC-2099-3"]
    project = _copy(locked, tmp_path, toml_extra=_ignore_toml(others, fail_on="high"))
    run = _audit(project, tmp_path)
    assert run.returncode == 0, run.output
    assert "1 below fail-on high" in run.stdout
    assert _audit(project, tmp_path, "--fail-on", "low").returncode == 1  # the flag wins


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_offline_is_an_error_never_a_pass(locked: Path, tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{_closed_port()}/simple"
    project = _copy(locked, tmp_path, index_url=url)
    run = _audit(project, tmp_path)
    assert run.returncode == 3, run.output
    assert "could not be read" in run.stderr and "the audit is incomplete" in run.stderr
    assert "No known vulnerabilities" not in run.output
    listed = [line for line in run.stdout.splitlines() if line.startswith("not audited: ")]
    assert len(listed) == 11 and listed[-1].endswith(" more (--json lists them)")  # 15 locked
    data = _audit(project, tmp_path, "--json").json()
    assert data["ok"] is False and data["error"]["code"] == "audit_unavailable"


def test_index_url_option_picks_the_advisory_source(
    locked: Path, tmp_path: Path, advisory_server: Server
) -> None:
    project = _copy(locked, tmp_path, index_url=f"http://127.0.0.1:{_closed_port()}/simple")
    run = _audit(project, tmp_path, "--index-url", f"{advisory_server.url}/simple", "--json")
    assert run.returncode == 1, run.output
    assert run.json()["index"] == advisory_server.url


def test_an_index_without_the_json_api_is_an_error(
    locked: Path, tmp_path: Path, fake_index: Server
) -> None:
    """The build tests' index serves only /simple: every package 404s, which is no pass."""
    project = _copy(locked, tmp_path, index_url=f"{fake_index.url}/simple")
    run = _audit(project, tmp_path, "--json")
    assert run.returncode == 3, run.output
    assert run.json()["error"]["code"] == "audit_unavailable"
    assert "no JSON API?" in run.stdout


def test_private_mirror_credentials_are_sent_and_never_shown(
    locked: Path, tmp_path: Path, world_root: Path
) -> None:
    auth = '\nusername-env = "AUDIT_USER"\npassword-env = "AUDIT_TOKEN"\n'
    with fakeworld.serve(world_root, auth=(USER, PASSWORD)) as server:
        project = _copy(locked, tmp_path, index_url=f"{server.url}/simple", index_extra=auth)
        env = {"AUDIT_USER": USER, "AUDIT_TOKEN": PASSWORD}
        run = _audit(project, tmp_path, "--json", env=env)
        assert run.returncode == 1, run.output
        assert sorted(v["id"] for v in run.json()["vulnerabilities"]) == sorted(ALL_IDS)
        assert any(p.startswith("/pypi/") for p in server.paths)
        assert {r.authorization for r in server.log} == {fakeworld.basic_auth(USER, PASSWORD)}
        assert PASSWORD not in run.output
        wrong = _audit(project, tmp_path / "w", env={**env, "AUDIT_TOKEN": "wrong-pass"})
        assert wrong.returncode == 3, wrong.output
        assert "HTTP 401" in wrong.output and "wrong-pass" not in wrong.output
        # Literal credentials in the URL: used, and masked in every message.
        literal = server.url.replace("http://", f"http://{USER}:{PASSWORD}@") + "/simple"
        project2 = _copy(locked, tmp_path / "l", index_url=literal)
        run = _audit(project2, tmp_path / "l")
        assert run.returncode == 1, run.output
        assert PASSWORD not in run.output and "GHSA-fake-prov-0001" in run.stdout


def test_build_audit_refuses_a_vulnerable_bundle(locked: Path, tmp_path: Path) -> None:
    project = _copy(locked, tmp_path)
    run = run_cli(project, ["build", "--audit", "--json"], tmp_path / "cache")
    assert run.returncode == 1, run.output
    error = run.json()["error"]
    assert error["code"] == "vulnerable"
    assert "GHSA-fake-prov-0001" in error["message"] and "was not written" in error["message"]
    assert not (project / "dist").exists()


def test_build_audit_with_every_advisory_ignored_builds(locked: Path, tmp_path: Path) -> None:
    project = _copy(locked, tmp_path, toml_extra=_ignore_toml(ALL_IDS))
    run = run_cli(project, ["build", "--audit", "--json"], tmp_path / "cache")
    assert run.returncode == 0, run.output
    audit = run.json()["audit"]
    assert audit["ok"] is True and len(audit["ignored"]) == len(ALL_IDS)
    manifest = json.loads((project / "dist" / "manifest.json").read_text())
    assert "sbom.cdx.json" in manifest["outputs"]
    run = run_cli(project, ["build", "--audit"], tmp_path / "cache")
    assert run.returncode == 0, run.output
    assert "no known vulnerabilities at or above fail-on any, 4 ignored." in run.stdout
