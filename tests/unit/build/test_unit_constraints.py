"""constraints: parsing, and MWAA's essential pins against the published ones."""

from __future__ import annotations

from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from mwaadeps.build.constraints import parse_constraints
from mwaadeps.errors import ConstraintsError
from mwaadeps.targets import resolve_target

MWAA = Path(__file__).resolve().parents[3] / "src" / "mwaadeps" / "data" / "mwaa"
WITH_ESSENTIALS = sorted(p.parent.name for p in MWAA.glob("*/mwaa-essential-constraints.txt"))


def _pins(path: Path) -> dict[str, str]:
    out = {}
    for line in path.read_text().splitlines():
        text = line.split("#", 1)[0].strip()
        if text:
            req = Requirement(text)
            out[canonicalize_name(req.name)] = next(iter(req.specifier)).version
    return out


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


def test_every_shipped_file_matches_its_index_entry() -> None:
    """index.json's sha256 and size are those of the shipped files, and sources are named."""
    import hashlib
    import json

    index = json.loads((MWAA / "index.json").read_text())
    assert {"2.9.2", "3.0.6", "2.11.2"} <= set(index)
    for version, kinds in index.items():
        for kind, entry in kinds.items():
            data = (MWAA / entry["file"]).read_bytes()
            assert hashlib.sha256(data).hexdigest() == entry["sha256"], (version, kind)
            assert len(data) == entry["size"]
            if kind == "constraints":
                assert entry["source"] == resolve_target(version).constraints_url


def test_known_version_loads_constraints_without_network(tmp_path: Path) -> None:
    """A known version needs no network: the shipped copy, named by its canonical URL."""
    from mwaadeps.build.constraints import load_constraints
    from mwaadeps.config import load_settings
    from mwaadeps.progress import RecordingReporter

    settings = load_settings({"airflow_version": "2.9.2", "cache_dir": tmp_path}, env={})
    reporter = RecordingReporter()
    loaded = load_constraints(settings, reporter)
    assert loaded.source == resolve_target("2.9.2").constraints_url
    assert loaded.pin("pandas") == "2.1.4"
    assert loaded.sha256 == json_sha("2.9.2")
    assert not any("Fetching" in s for s in reporter.steps)
    assert not (tmp_path / "constraints").exists()  # nothing fetched, nothing cached


def test_other_python_does_not_use_the_shipped_copy() -> None:
    """The shipped 2.9.2 file is for Python 3.11; a 3.12 target of 2.9.2 has none."""
    import dataclasses

    from mwaadeps.build.constraints import shipped_constraints

    target = resolve_target("2.9.2")
    assert shipped_constraints(target) is not None
    assert shipped_constraints(dataclasses.replace(target, python_full="3.12.1")) is None


def test_damaged_shipped_file_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mwaadeps.build import shipped

    found = shipped.shipped("2.9.2", "constraints")
    assert found is not None
    bad = tmp_path / "c.txt"
    bad.write_text("pandas==0.1\n")
    damaged = shipped.ShippedFile(found.version, found.kind, bad, found.source, found.sha256)
    with pytest.raises(ConstraintsError, match="damaged"):
        damaged.text()


def json_sha(version: str) -> str:
    import json

    return str(json.loads((MWAA / "index.json").read_text())[version]["constraints"]["sha256"])
