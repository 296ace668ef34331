"""dist/sbom.cdx.json of the hermetic happy build: valid CycloneDX, complete, reproducible."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from buildkit import Built, copy_project, run_cli

from mwaadeps.build import lockfile
from mwaadeps.build.sbom import PROVIDED_TEXT, validate


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
    assert str(happy_build.project).encode() not in data  # no path of this machine
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


def _unit_lock() -> lockfile.Lock:
    from mwaadeps.targets import resolve_target

    wheel = lockfile.Artifact("mine-1.0-py3-none-any.whl", "https://x/mine.whl", "a" * 64)
    base = lockfile.Artifact("requests-2.32.3-py3-none-any.whl", "https://x/r.whl", "b" * 64)
    return lockfile.Lock(
        resolve_target("2.9.2").to_dict(), "c" * 64, "d" * 64, "c.txt", "uv",
        (
            lockfile.LockedPackage("mine", "1.0", lockfile.BUNDLE, wheel=wheel, top_level=True),
            lockfile.LockedPackage("requests", "2.32.3", lockfile.PROVIDED, wheel=base,
                                   via=("mine",)),
        ),
    )  # fmt: skip


def _unit_sbom(mode: str, full: bool, wheels: list | None = None) -> dict:
    from mwaadeps.build.sbom import sbom_bytes
    from mwaadeps.targets import resolve_target

    data = sbom_bytes(
        resolve_target("2.9.2"), _unit_lock(), wheels or [], mode=mode, full=full,
        constraints=("c.txt", "d" * 64),
    )  # fmt: skip
    assert validate(data) is None
    return json.loads(data)


def test_index_mode_records_the_locked_files_and_full_ships_what_mwaa_provides() -> None:
    index = {c["name"]: c for c in _unit_sbom("index", full=False)["components"]}
    assert index["mine"]["hashes"] == [{"alg": "SHA-256", "content": "a" * 64}]
    assert index["requests"]["scope"] == "excluded" and "hashes" not in index["requests"]
    full = {c["name"]: c for c in _unit_sbom("index", full=True)["components"]}
    assert full["requests"]["scope"] == "required"
    assert full["requests"]["hashes"] == [{"alg": "SHA-256", "content": "b" * 64}]
    deps = {d["ref"]: d.get("dependsOn", []) for d in _unit_sbom("index", False)["dependencies"]}
    assert deps["mwaadeps-bundle"] == ["pkg:pypi/mine@1.0"]
    assert deps["pkg:pypi/mine@1.0"] == ["pkg:pypi/requests@2.32.3"]


def test_the_serial_number_follows_the_content() -> None:
    from mwaadeps.build.wheels import FetchedWheel

    def wheel(sha: str) -> FetchedWheel:
        return FetchedWheel("mine", "1.0", Path("/c/mine-1.0-py3-none-any.whl"), sha, 10)

    one = _unit_sbom("bundle", False, [wheel("a" * 64)])
    assert one == _unit_sbom("bundle", False, [wheel("a" * 64)])
    other = _unit_sbom("bundle", False, [wheel("e" * 64)])
    assert other["serialNumber"] != one["serialNumber"]
    assert one["metadata"]["timestamp"].startswith("1980-01-01T00:00:00")
