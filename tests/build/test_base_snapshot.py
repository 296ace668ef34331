"""The shipped base-install snapshots: valid for the real constraints, close to AWS's image."""

from __future__ import annotations

from pathlib import Path

import pytest
from buildkit import MWAA_DATA
from packaging.utils import canonicalize_name

from mwaadeps.build.base import base_snapshot, resolve_base
from mwaadeps.build.constraints import parse_constraints
from mwaadeps.config import load_settings
from mwaadeps.targets import known_version, resolve_target

VERSIONS = sorted(
    p.name for p in MWAA_DATA.glob("*")
    if (p / "airflow-constraints.txt").is_file() and known_version(p.name)
)  # fmt: skip


def _constraints(version: str, extra: str = ""):  # type: ignore[no-untyped-def]
    text = (MWAA_DATA / version / "airflow-constraints.txt").read_text() + extra
    return parse_constraints(text, resolve_target(version), "airflow-constraints.txt")


def test_every_shipped_version_has_a_snapshot_and_constraints() -> None:
    assert {"2.9.2", "3.0.6"} <= set(VERSIONS)


@pytest.mark.parametrize("version", VERSIONS)
def test_snapshot_applies_to_the_apache_constraints(version: str) -> None:
    snapshot = base_snapshot(resolve_target(version), _constraints(version))
    assert snapshot is not None
    assert snapshot["apache-airflow"] == version
    assert "psycopg2" not in snapshot and "pycurl" not in snapshot


def test_snapshot_is_ignored_for_other_constraints() -> None:
    edited = _constraints("2.9.2", "\nsimplejson==3.19.2\n")
    assert base_snapshot(resolve_target("2.9.2"), edited) is None


@pytest.mark.parametrize("version", ["2.9.2", "3.0.6"])
def test_prediction_matches_what_aws_image_has(version: str) -> None:
    """MWAA.md: the resolution of the base install should agree with AWS's bill of materials."""
    listing = MWAA_DATA / version / "preinstalled.txt"
    image: dict[str, str] = {}
    for line in listing.read_text().splitlines():
        if "==" in line and not line.startswith("#"):
            name, _, ver = line.strip().partition("==")
            image[canonicalize_name(name)] = ver
    snapshot = base_snapshot(resolve_target(version), _constraints(version))
    assert snapshot is not None
    predicted = {**snapshot, "psycopg2": "", "pycurl": ""}
    common = set(image) & set(predicted)
    assert len(common) >= 0.95 * len(image), sorted(set(image) - set(predicted))
    same = [n for n in common if predicted[n] == image[n] or not predicted[n]]
    assert len(same) >= 0.95 * len(common)


@pytest.mark.network
def test_snapshot_equals_a_fresh_resolution(tmp_path: Path) -> None:
    """Regenerating 2.9.2's snapshot gives the same versions for every pinned package."""
    constraints_file = MWAA_DATA / "2.9.2" / "airflow-constraints.txt"
    settings = load_settings(
        {"airflow_version": "2.9.2", "constraints": str(constraints_file), "cache_dir": tmp_path},
        env={},
    )
    constraints = _constraints("2.9.2")
    snapshot = base_snapshot(settings.target, constraints)
    assert snapshot is not None
    fresh = {n: r.version for n, r in resolve_base(settings, constraints).items()}
    pinned = {n for n in fresh if constraints.pin(n) or n in constraints.essential}
    assert {n: fresh[n] for n in pinned} == {n: snapshot.get(n) for n in pinned}
    assert set(fresh) == set(snapshot)
