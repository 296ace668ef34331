"""The audit against the real PyPI JSON API (network)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mwaadeps.build.audit import AdvisoryIndex, audit_lock
from mwaadeps.build.constraints import parse_constraints
from mwaadeps.build.lockfile import BUNDLE, Lock, LockedPackage
from mwaadeps.targets import resolve_target

pytestmark = pytest.mark.network

TARGET = resolve_target("2.9.2")


def test_known_vulnerable_releases_are_found(tmp_path: Path) -> None:
    """pycrypto 2.6.1 (its last release, never fixed) and requests 2.19.1 have advisories.

    Where the per-release page is not served (some proxies pass only the project page),
    requests 2.19.1 must be reported as not audited, never as clean.
    """
    lock = Lock(
        TARGET.to_dict(), "0" * 64, "0" * 64, "c.txt", "uv",
        (LockedPackage("pycrypto", "2.6.1", BUNDLE), LockedPackage("requests", "2.19.1", BUNDLE)),
    )  # fmt: skip
    constraints = parse_constraints("requests==2.32.3\n", TARGET, "c.txt")
    report = audit_lock(lock, constraints, AdvisoryIndex(None, tmp_path / "cache"))
    ids = {name: set() for name in ("pycrypto", "requests")}
    for f in report.findings:
        ids[f.name] |= {f.advisory.id, *f.advisory.aliases}
    assert "CVE-2013-7459" in ids["pycrypto"]
    assert all(f.fix is None for f in report.findings if f.name == "pycrypto")
    unaudited = {u.name for u in report.unavailable}
    assert "CVE-2018-18074" in ids["requests"] or "requests" in unaudited
    assert "pycrypto" not in unaudited
