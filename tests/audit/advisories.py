"""A fake PyPI JSON API with advisories, beside the fake PEP 503 index of the build tests.

``<root>/pypi/<name>/<version>/json`` for every release of the fake world (an empty
``vulnerabilities`` list unless ADVISORIES names it), and ``<root>/pypi/<name>/json``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import fakeworld
from packaging.utils import parse_sdist_filename, parse_wheel_filename

# (name, version) -> the advisories PyPI would list for the release.
ADVISORIES: dict[tuple[str, str], list[dict[str, Any]]] = {
    # The user's own package: one vulnerability, listed twice (PYSEC and GHSA) as PyPI does.
    ("fake-provider", "1.0.0"): [
        {
            "id": "GHSA-fake-prov-0001",
            "aliases": ["CVE-2099-0001", "PYSEC-2099-1"],
            "summary": "Remote code execution in fake-provider",
            "details": "Long text.",
            "fixed_in": ["1.0.1", "0.9.9"],
            "link": "https://osv.dev/vulnerability/GHSA-fake-prov-0001",
            "source": "osv",
            "withdrawn": None,
        },
        {
            "id": "PYSEC-2099-1",
            "aliases": ["CVE-2099-0001", "GHSA-fake-prov-0001"],
            "details": "Remote code execution in fake-provider",
            "fixed_in": ["1.0.1"],
            "link": "https://osv.dev/vulnerability/PYSEC-2099-1",
            "source": "osv",
            "withdrawn": None,
        },
        {
            "id": "PYSEC-2099-9",
            "aliases": [],
            "details": "A withdrawn report",
            "fixed_in": ["1.0.2"],
            "withdrawn": "2099-01-02T00:00:00Z",
        },
    ],
    # Pinned by the (fake) Airflow constraints, in MWAA's image.
    ("requests", "2.32.3"): [
        {
            "id": "GHSA-fake-req-0002",
            "aliases": ["CVE-2099-0002"],
            "summary": "Header leak in requests",
            "fixed_in": ["2.33.0"],
            "withdrawn": None,
        }
    ],
    # MWAA's essential pin.
    ("apache-airflow", "2.9.2"): [
        {
            "id": "PYSEC-2099-3",
            "aliases": [],
            "details": "Airflow webserver issue",
            "fixed_in": ["2.9.3"],
            "withdrawn": None,
        }
    ],
    # A severity (as a mirror may carry it) and no fix.
    ("linuxonly", "1.0"): [
        {
            "id": "GHSA-fake-low-0004",
            "aliases": [],
            "summary": "Minor issue",
            "fixed_in": [],
            "database_specific": {"severity": "LOW"},
            "withdrawn": None,
        }
    ],
}
ALL_IDS = ["GHSA-fake-prov-0001", "GHSA-fake-req-0002", "PYSEC-2099-3", "GHSA-fake-low-0004"]


def _release(filename: str) -> tuple[str, str]:
    if filename.endswith(".whl"):
        name, version, _, _ = parse_wheel_filename(filename)
    else:
        name, version = parse_sdist_filename(filename)
    return str(name), str(version)


def write_world(root: Path) -> Path:
    """The fake world's index plus its JSON API under root."""
    world = fakeworld.build_world()
    world.write(root)
    latest: dict[str, str] = {}
    for files in world.projects.values():
        for filename in files:
            name, version = _release(filename)
            page = root / "pypi" / name / version
            page.mkdir(parents=True, exist_ok=True)
            body = {
                "info": {"name": name, "version": version},
                "vulnerabilities": ADVISORIES.get((name, version), []),
            }
            (page / "json").write_text(json.dumps(body))
            latest[name] = max(latest.get(name, version), version)
    for name, version in latest.items():
        body = {"info": {"name": name, "version": version}, "vulnerabilities": []}
        (root / "pypi" / name / "json").write_text(json.dumps(body))
    return root
