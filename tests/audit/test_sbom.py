"""dist/sbom.cdx.json of the hermetic happy build: valid CycloneDX, complete, reproducible."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from buildkit import Built, copy_project, run_cli

from mwaadeps import lockfile
from mwaadeps.sbom import PROVIDED_TEXT, validate


def _sbom(dist: Path) -> dict:
    return json.loads((dist / "sbom.cdx.json").read_bytes())


def _props(component: dict) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for prop in component.get("properties", []):
        out.setdefault(prop["name"], []).append(prop["value"])
    return out


def test_sbom_is_valid_cyclonedx(happy_build: Built) -> None:
    data = (happy_build.dist / "sbom.cdx.json").read_bytes()
    assert validate(data) is None
    assert validate(data.replace(b'"CycloneDX"', b'"SPDX"')) is not None  # the check can fail


def test_sbom_lists_every_bundled_wheel_with_its_hash(happy_build: Built) -> None:
    sbom = _sbom(happy_build.dist)
    manifest = json.loads((happy_build.dist / "manifest.json").read_text())
    by_file = {f: c for c in sbom["components"] for f in _props(c).get("mwaadeps:file", [])}
    assert sorted(by_file) == sorted(w["filename"] for w in manifest["wheels"])
    for wheel in manifest["wheels"]:
        component = by_file[wheel["filename"]]
        assert {"alg": "SHA-256", "content": wheel["sha256"]} in component["hashes"]
        assert component["scope"] in ("required", "optional")
        assert component["purl"] == f"pkg:pypi/{component['name']}@{wheel['version']}"
    assert sbom["serialNumber"].startswith("urn:uuid:")
    assert sbom["metadata"]["component"]["type"] == "application"


def test_sbom_lists_what_mwaa_provides_as_excluded(happy_build: Built) -> None:
    sbom = _sbom(happy_build.dist)
    lock = lockfile.read(happy_build.project / "mwaadeps.lock")
    provided = {p.name: p.version for p in lock.by_role(lockfile.PROVIDED)}
    assert "requests" in provided
    excluded = {c["name"]: c for c in sbom["components"] if c.get("scope") == "excluded"}
    assert sorted(excluded) == sorted(provided)
    requests = excluded["requests"]
    assert requests["purl"] == f"pkg:pypi/requests@{provided['requests']}"
    assert _props(requests)["mwaadeps:provided"] == [PROVIDED_TEXT]
    assert "hashes" not in requests  # not shipped: nothing of it is in the bundle


def test_sbom_metadata_names_the_target(happy_build: Built) -> None:
    props = {p["name"]: p["value"] for p in _sbom(happy_build.dist)["metadata"]["properties"]}
    target = happy_build.data["target"]
    assert props["mwaadeps:airflow-version"] == target["airflow_version"] == "2.9.2"
    assert props["mwaadeps:python-version"] == target["python_version"]
    assert props["mwaadeps:platform"] == target["platform"]
    assert props["mwaadeps:mode"] == "bundle"
    manifest = json.loads((happy_build.dist / "manifest.json").read_text())
    assert props["mwaadeps:constraints-sha256"] == manifest["constraints"]["sha256"]
    assert (
        manifest["outputs"]["sbom.cdx.json"]["sha256"]
        == happy_build.data["outputs"]["sbom.cdx.json"]["sha256"]
    )


@pytest.mark.slow
def test_two_builds_give_identical_sbom_bytes(
    happy_build: Built, tmp_path: Path, shared_cache: Path
) -> None:
    """Another folder, a fresh lock, another day: the same bytes (no random serial or clock)."""
    project = copy_project(happy_build.project, tmp_path / "again")
    run = run_cli(project, ["build", "--json"], shared_cache)
    assert run.returncode == 0, run.output
    first = (happy_build.dist / "sbom.cdx.json").read_bytes()
    assert (project / "dist" / "sbom.cdx.json").read_bytes() == first
    # SOURCE_DATE_EPOCH is the reproducible-builds way to date it; the serial follows content.
    run = run_cli(project, ["build", "--json"], shared_cache, {"SOURCE_DATE_EPOCH": "1700000000"})
    assert run.returncode == 0, run.output
    dated = _sbom(project / "dist")
    assert dated["metadata"]["timestamp"].startswith("2023-11-14T22:13:20")
    assert dated["serialNumber"] != json.loads(first)["serialNumber"]
