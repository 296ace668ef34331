"""The audit's pure logic: advisories, fixes, what the target allows, fail-on, the cache."""

from __future__ import annotations

from pathlib import Path

import fakeworld
import pytest
from advisories import ADVISORIES, write_world

from mwaadeps.build.audit import (
    ALLOWED,
    BLOCKED_CONSTRAINTS,
    BLOCKED_ESSENTIAL,
    BLOCKED_IMAGE,
    NO_FIX,
    AdvisoryIndex,
    advisory_root,
    audit_lock,
    check_fail_on,
    first_fix,
    fix_allowed,
    parse_advisories,
)
from mwaadeps.build.constraints import parse_constraints
from mwaadeps.build.lockfile import BUNDLE, FALLBACK, PROVIDED, Artifact, Lock, LockedPackage
from mwaadeps.errors import ConfigError
from mwaadeps.targets import resolve_target

TARGET = resolve_target("2.9.2")
CONSTRAINTS = parse_constraints("requests==2.32.3\nflask-login==0.6.3\n", TARGET, "c.txt")


def _lock(*packages: LockedPackage) -> Lock:
    return Lock(TARGET.to_dict(), "0" * 64, "0" * 64, "c.txt", "uv", packages)


def test_aliased_entries_merge_and_withdrawn_ones_drop() -> None:
    found = parse_advisories(ADVISORIES[("fake-provider", "1.0.0")])
    assert [a.id for a in found] == ["GHSA-fake-prov-0001"]
    assert found[0].aliases == ("CVE-2099-0001", "PYSEC-2099-1")
    assert found[0].fixed_in == ("1.0.1", "0.9.9")
    assert found[0].summary == "Remote code execution in fake-provider"
    assert parse_advisories([{"id": "X-1", "withdrawn": "2020"}, "junk", {}]) == []


def test_severity_from_the_data_when_present() -> None:
    entries = [
        {"id": "A", "severity": "Moderate"},
        {"id": "B", "database_specific": {"severity": "CRITICAL"}},
        {"id": "C"},
    ]
    assert [a.severity for a in parse_advisories(entries)] == ["medium", "critical", None]


def test_first_fix_is_the_lowest_above_the_locked_version() -> None:
    assert first_fix("1.0.0", ["2.0", "1.0.1", "0.9.9", "not-a-version"]) == "1.0.1"
    assert first_fix("3.0", ["2.0"]) is None
    assert first_fix("1.0", []) is None


@pytest.mark.parametrize(
    ("name", "role", "fix", "expected"),
    [
        ("mine", BUNDLE, "1.1", ALLOWED),
        ("mine", FALLBACK, "1.1", ALLOWED),
        ("requests", PROVIDED, "2.33.0", BLOCKED_CONSTRAINTS),
        ("Requests", BUNDLE, "2.33.0", BLOCKED_CONSTRAINTS),
        ("apache-airflow", PROVIDED, "2.9.3", BLOCKED_ESSENTIAL),
        ("flask-login", PROVIDED, "0.6.4", BLOCKED_ESSENTIAL),
        ("psycopg2", PROVIDED, "2.9.10", BLOCKED_IMAGE),
        ("mine", BUNDLE, None, NO_FIX),
    ],
)
def test_fix_allowed(name: str, role: str, fix: str | None, expected: str) -> None:
    assert fix_allowed(LockedPackage(name, "1.0", role), fix, CONSTRAINTS) == expected


def test_advisory_root_of_an_index_url() -> None:
    assert advisory_root(None) == "https://pypi.org"
    assert advisory_root("https://nexus.example/repository/pypi/simple/") == (
        "https://nexus.example/repository/pypi"
    )
    assert advisory_root("http://127.0.0.1:9/simple") == "http://127.0.0.1:9"


def test_fail_on_values() -> None:
    assert check_fail_on("HIGH") == "high"
    assert check_fail_on("moderate") == "medium"
    with pytest.raises(ConfigError):
        check_fail_on("severe")


def test_cache_answers_within_its_ttl(tmp_path: Path) -> None:
    root = write_world(tmp_path / "world")
    lock = _lock(
        LockedPackage("fake-provider", "1.0.0", BUNDLE), LockedPackage("kombu", "5.3.7", BUNDLE)
    )
    with fakeworld.serve(root) as server:
        index = AdvisoryIndex(f"{server.url}/simple", tmp_path / "cache")
        first = audit_lock(lock, CONSTRAINTS, index)
        asked = len(server.log)
        assert asked == 2 and [f.advisory.id for f in first.findings] == ["GHSA-fake-prov-0001"]
        again = audit_lock(lock, CONSTRAINTS, index)
        assert len(server.log) == asked and again.findings == first.findings
        stale = AdvisoryIndex(f"{server.url}/simple", tmp_path / "cache", ttl=0)
        audit_lock(lock, CONSTRAINTS, stale)
        assert len(server.log) == 2 * asked


def test_local_packages_and_unknown_projects_are_skipped_not_passed(tmp_path: Path) -> None:
    root = write_world(tmp_path / "world")
    local = Artifact("mine-1.0-py3-none-any.whl", None, "a" * 64, path="local:mine-1.0.whl")
    lock = _lock(
        LockedPackage("mine", "1.0", BUNDLE, wheel=local),
        LockedPackage("private-pkg", "1.0", BUNDLE),
        LockedPackage("kombu", "5.3.7", BUNDLE),
        LockedPackage("kombu-old", "1.0", BUNDLE),
    )
    with fakeworld.serve(root) as server:
        report = audit_lock(lock, CONSTRAINTS, AdvisoryIndex(f"{server.url}/simple", None))
    reasons = {s.name: s.reason for s in report.skipped}
    assert reasons["mine"] == "a local package, not published"
    assert reasons["private-pkg"].startswith("not on http://127.0.0.1:")
    assert report.audited == 1 and not report.unavailable


def test_a_release_the_index_has_no_page_for_is_unavailable(tmp_path: Path) -> None:
    """Only the project page (the latest release) answers: an older release is not passed."""
    root = write_world(tmp_path / "world")
    for page in (root / "pypi" / "kombu").glob("*/json"):
        page.unlink()
    lock = _lock(LockedPackage("kombu", "5.3.7", BUNDLE), LockedPackage("kombu", "5.4.0", BUNDLE))
    with fakeworld.serve(root) as server:
        report = audit_lock(lock, CONSTRAINTS, AdvisoryIndex(f"{server.url}/simple", None))
    assert [
        (u.version, u.reason.endswith("no advisory data for this release"))
        for u in report.unavailable
    ] == [("5.3.7", True)]
    assert report.audited == 1  # 5.4.0 is the latest: the project page tells its advisories
