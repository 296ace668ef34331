"""constraints: parsing, and MWAA's essential pins against the published ones."""

from __future__ import annotations

from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from mwaadeps.constraints import parse_constraints
from mwaadeps.errors import ConstraintsError
from mwaadeps.targets import resolve_target

MWAA = Path(__file__).resolve().parents[2].parent / "shared" / "mwaa"
WITH_ESSENTIALS = sorted(
    p.parent.name for p in MWAA.glob("*/mwaa-essential-constraints.txt")
) if MWAA.is_dir() else []  # fmt: skip


def _pins(path: Path) -> dict[str, str]:
    out = {}
    for line in path.read_text().splitlines():
        text = line.split("#", 1)[0].strip()
        if text:
            req = Requirement(text)
            out[canonicalize_name(req.name)] = next(iter(req.specifier)).version
    return out


@pytest.mark.skipif(not WITH_ESSENTIALS, reason=f"no essential constraints under {MWAA}")
@pytest.mark.parametrize("version", WITH_ESSENTIALS)
def test_essential_pins_match_mwaa(version: str) -> None:
    folder = MWAA / version
    parsed = parse_constraints((folder / "airflow-constraints.txt").read_text(),
                               resolve_target(version), "airflow-constraints.txt")  # fmt: skip
    assert dict(parsed.essential) == _pins(folder / "mwaa-essential-constraints.txt")
    # The essential pins written for the resolver say the same.
    rewritten = {canonicalize_name(Requirement(ln).name): ln.split("==")[1]
                 for ln in parsed.essential_text().splitlines()}  # fmt: skip
    assert rewritten == dict(parsed.essential)


def test_parse_pins_markers_and_provided() -> None:
    text = ("# header\n--no-binary foo\nPandas==2.1.4\nrequests>=2\n"
            "backports.zoneinfo==0.2.1; python_version < '3.9'\n"
            "tomli==2.0.1; python_version < '3.11'\npsycopg2==2.9.9\ncelery==5.4.0\n")  # fmt: skip
    c = parse_constraints(text, resolve_target("2.9.2"), "c.txt")
    assert c.pin("pandas") == "2.1.4"
    assert c.pin("PANDAS") == "2.1.4"
    assert c.pin("requests") is None
    assert c.pin("backports-zoneinfo") is None
    assert c.pin("tomli") is None  # marker false for Python 3.11
    assert c.essential == {"celery": "5.4.0", "apache-airflow": "2.9.2",
                           "fluent-logger": "0.11.1"}  # fmt: skip
    assert "psycopg2" not in c.resolver_text()
    assert "Pandas==2.1.4" in c.resolver_text()
    # Same text, same digest; another text, another digest.
    assert c.sha256 == parse_constraints(text, resolve_target("2.9.2"), "x").sha256
    assert c.sha256 != parse_constraints(text + "\n", resolve_target("2.9.2"), "x").sha256


def test_parse_errors() -> None:
    with pytest.raises(ConstraintsError, match="pins no packages"):
        parse_constraints("# nothing\nrequests>=2\n", resolve_target("2.9.2"), "c.txt")
    with pytest.raises(ConstraintsError, match=r"c\.txt:2: not a constraint line"):
        parse_constraints("a==1\n<<<\n", resolve_target("2.9.2"), "c.txt")
