"""upgrade's pure parts: the comparison, the Airflow 3 table, the toml rewrite, DAG imports."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from packaging.utils import canonicalize_name

from mwaadeps.build.constraints import Constraints, parse_constraints
from mwaadeps.build.lockfile import BUNDLE, PROVIDED, Artifact
from mwaadeps.build.upgrade import (
    PackageChange,
    UpgradeReport,
    _has_target_wheel,
    _plan_lines,
    airflow3_data,
    compare,
    names_in_error,
    removal_reason,
    removed_from_constraints,
    rewrite_toml,
    scan_dag_imports,
)
from mwaadeps.errors import ConfigError
from mwaadeps.requirements.parser import parse_requirements
from mwaadeps.targets import resolve_target

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

MWAA = Path(__file__).resolve().parents[2] / "src" / "mwaadeps" / "data" / "mwaa"


def constraints(version: str) -> Constraints:
    path = MWAA / version / "airflow-constraints.txt"
    if not path.is_file():
        pytest.skip(f"the real {version} constraints are absent ({path})")
    return parse_constraints(path.read_text(), resolve_target(version), path.name)


# --- compare ------------------------------------------------------------------------------


def by_name(changes: tuple[PackageChange, ...]) -> dict[str, PackageChange]:
    return {c.name: c for c in changes}


def test_compare_statuses() -> None:
    old = {"a": "1.0", "b": "2.0", "gone": "1.0", "prov": "3.0"}
    new = {"a": "1.0", "b": "2.1", "fresh": "0.1", "prov": "3.1"}
    got = by_name(
        compare(
            old,
            new,
            top_level=["a", "prov"],
            removed={"prov": "removed from the constraints"},
        )
    )
    assert got["a"].status == "same" and not got["a"].blocking
    assert (got["b"].status, got["b"].old, got["b"].new) == ("changed", "2.0", "2.1")
    assert got["fresh"].status == "new" and got["fresh"].old is None
    # A transitive package nothing needs any more is gone, harmlessly.
    assert got["gone"].status == "removed" and not got["gone"].blocking
    assert got["gone"].new is None
    # One the user asks for that the new constraints dropped blocks the upgrade.
    assert got["prov"].status == "removed" and got["prov"].blocking
    assert got["prov"].reasons[0] == "removed from the constraints"


def test_compare_removed_transitive_does_not_block() -> None:
    got = by_name(compare({"x": "1"}, {"x": "1"}, top_level=[], removed={"x": "dropped"}))
    assert got["x"].status == "removed" and not got["x"].blocking


def test_compare_conflict_carries_the_allowed_version_and_sorts_first() -> None:
    changes = compare(
        {"aaa": "1", "zzz": "5.5.1"},
        {"aaa": "2", "zzz": "6.4.0"},
        top_level=["zzz"],
        conflicts={"zzz": ("6.4.0", "conflicts with the constraint zzz==6.4.0")},
        notes={"aaa": ["no wheel"]},
    )
    assert [c.name for c in changes] == ["zzz", "aaa"]
    first = changes[0]
    assert (first.status, first.blocking, first.allowed) == ("conflict", True, "6.4.0")
    assert first.reasons == ("conflicts with the constraint zzz==6.4.0",)
    assert changes[1].reasons == ("no wheel",)


def test_compare_conflict_of_a_package_absent_from_both_sides() -> None:
    # The new target does not resolve at all: the conflict still shows.
    got = by_name(compare({}, {}, conflicts={"p": (None, "no cp312 wheel")}))
    assert got["p"].status == "conflict" and got["p"].allowed is None


def test_shipped_is_what_the_bundle_or_the_user_has() -> None:
    got = by_name(
        compare(
            {"a": "1", "b": "1", "c": "1"},
            {"a": "2", "b": "2", "c": "2"},
            top_level=["c"],
            roles={"a": BUNDLE, "b": PROVIDED, "c": PROVIDED},
            old_roles={"a": PROVIDED, "b": PROVIDED, "c": PROVIDED},
        )
    )
    assert got["a"].shipped and not got["b"].shipped and got["c"].shipped


def report(packages: tuple[PackageChange, ...], error: str | None = None) -> UpgradeReport:
    return UpgradeReport(
        from_target=resolve_target("2.9.2"),
        to_target=resolve_target("3.0.6"),
        old_source="resolved",
        constraints_source="c.txt",
        packages=packages,
        error=error,
    )


def test_report_verdicts_and_json_shape() -> None:
    fixable = report(compare({"a": "1"}, {"a": "2"}, conflicts={"a": ("2", "pin")}))
    assert not fixable.ok and fixable.fixable
    blocked = report(compare({"p": "1"}, {"p": "1"}, top_level=["p"], removed={"p": "gone"}))
    assert not blocked.ok and not blocked.fixable
    broken = report((), error="does not resolve")
    assert not broken.ok and not broken.fixable
    clean = report(compare({"a": "1"}, {"a": "1"}))
    assert clean.ok and clean.changes == ()
    data = fixable.to_dict()
    assert set(data) == {
        "ok", "from", "to", "old_source", "constraints", "counts", "packages",
        "dag_imports", "notes", "error",
    }  # fmt: skip
    assert data["from"]["python_version"] == "3.11" and data["to"]["python_version"] == "3.12"
    assert data["counts"]["conflict"] == 1 and data["counts"]["same"] == 0
    assert data["packages"][0] == {
        "name": "a", "old": "1", "new": "2", "status": "conflict", "top_level": False,
        "blocking": True, "allowed": "2", "role": None, "old_role": None, "reasons": ["pin"],
    }  # fmt: skip


# --- the Airflow 3 data and the constraints ------------------------------------------------


def test_airflow3_table_is_sourced() -> None:
    data = airflow3_data()
    assert data.providers, "no providers in data/airflow3.toml"
    for name, entry in data.providers.items():
        assert name == canonicalize_name(name)
        assert entry["reason"] and entry["source"].startswith("https://"), name
    assert data.modules["airflow.operators.bash"]["provider"] == (
        "apache-airflow-providers-standard"
    )


def test_removed_from_the_real_constraints() -> None:
    gone = removed_from_constraints(constraints("2.9.2"), constraints("3.0.6"))
    assert "apache-airflow-providers-tabular" in gone
    assert "apache-airflow-providers-snowflake" not in gone
    # Nothing the 3.0.6 constraints pin counts as removed.
    assert not gone & set(constraints("3.0.6").pins)


def test_removal_reason_names_the_replacement() -> None:
    old, new = resolve_target("2.9.2"), resolve_target("3.0.6")
    text = removal_reason("apache-airflow-providers-tabular", old, new)
    assert "removed from the constraints" in text
    assert "apache-airflow-providers-apache-iceberg" in text
    plain = removal_reason("some-lib", old, new)
    assert "2.9.2" in plain and "3.0.6" in plain and "use" not in plain


def test_plan_lines_swaps_a_conflicting_pin_for_the_allowed_one(tmp_path: Path) -> None:
    req = tmp_path / "requirements.txt"
    req.write_text(
        "apache-airflow-providers-snowflake[pandas]==5.5.1 ; python_version >= '3.9'\n"
        "requests>=2.31\n"
        "apache-airflow==2.9.2\n"
        "psycopg2==2.9.9\n"
    )
    new = constraints("3.0.6")
    plan = _plan_lines(parse_requirements(req), resolve_target("3.0.6"), new)
    pin = new.pin("apache-airflow-providers-snowflake")
    assert pin and pin != "5.5.1"
    assert plan.lines[0] == (
        f'apache-airflow-providers-snowflake[pandas]=={pin}; python_version >= "3.9"'
    )
    assert plan.lines[1] == "requests>=2.31"
    assert plan.lines[2] == "apache-airflow==3.0.6"
    assert len(plan.lines) == 3  # psycopg2: the image compiles it, never resolved
    allowed, why = plan.conflicts["apache-airflow-providers-snowflake"]
    assert allowed == pin and "requirements.txt:1" in why
    assert plan.conflicts["apache-airflow"][0] == "3.0.6"
    assert "requests" not in plan.conflicts


def test_wheel_tags_decide_what_installs() -> None:
    cp311 = Artifact("numba-0.58.1-cp311-cp311-manylinux2014_x86_64.whl", None, "x")
    pure = Artifact("six-1.16.0-py2.py3-none-any.whl", None, "x")
    junk = Artifact("numba-0.58.1.tar.gz", None, "x")
    assert _has_target_wheel([cp311], resolve_target("2.9.2"))
    assert not _has_target_wheel([cp311, junk], resolve_target("3.0.6"))
    assert _has_target_wheel([pure], resolve_target("3.0.6"))


def test_names_in_error() -> None:
    message = (
        "Because numba==0.58.1 has no wheels with a matching Python ABI tag and you require "
        "numba==0.58.1, we can conclude that your requirements are unsatisfiable."
    )
    assert names_in_error(message, ["numba", "pandas", "Numba-Extra"]) == ["numba"]


# --- rewrite_toml --------------------------------------------------------------------------

CONFIG = """# The team's MWAA project.
airflow-version = "2.9.2"  # the current MWAA
python-version = '3.11'
constraints = "c/2.9.2.txt"

[environments.dev]
name = "dev"  # airflow-version = "keep me"
airflow-version = "not top level"
"""


def test_rewrite_toml_changes_only_the_lines_of_the_keys() -> None:
    text, messages = rewrite_toml(
        CONFIG, {"airflow-version": "3.0.6", "python-version": "3.12", "constraints": "c/3.txt"}
    )
    assert text.splitlines() == [
        "# The team's MWAA project.",
        'airflow-version = "3.0.6"  # the current MWAA',
        'python-version = "3.12"',
        'constraints = "c/3.txt"',
        "",
        "[environments.dev]",
        'name = "dev"  # airflow-version = "keep me"',
        'airflow-version = "not top level"',
    ]
    assert len(messages) == 3
    assert tomllib.loads(text)["environments"]["dev"]["airflow-version"] == "not top level"


def test_rewrite_toml_unchanged_values_and_commenting_out() -> None:
    text, messages = rewrite_toml(CONFIG, {"airflow-version": "2.9.2", "constraints": None})
    assert "airflow-version" not in " ".join(messages)
    assert tomllib.loads(text).get("constraints") is None
    assert '# constraints = "c/2.9.2.txt"' in text


def test_rewrite_toml_adds_a_missing_key_after_the_leading_comments() -> None:
    text, _ = rewrite_toml("# hello\nrequirements = 'r.txt'\n", {"airflow-version": "3.0.6"})
    assert text == "# hello\nairflow-version = \"3.0.6\"\nrequirements = 'r.txt'\n"


def test_rewrite_toml_in_pyproject_and_crlf() -> None:
    src = '[project]\nname = "x"\r\n\r\n[tool.mwaadeps]\r\nairflow-version = "2.9.2"\r\n'
    text, _ = rewrite_toml(src, {"airflow-version": "3.0.6"}, table="tool.mwaadeps")
    assert text.endswith('[tool.mwaadeps]\r\nairflow-version = "3.0.6"\r\n')
    assert text.startswith('[project]\nname = "x"')
    with pytest.raises(ConfigError):
        rewrite_toml("a = 1\n", {"airflow-version": "3.0.6"}, table="tool.mwaadeps")


# --- DAG imports ---------------------------------------------------------------------------


def test_scan_dag_imports(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "a.py").write_text(
        "from airflow import DAG\n"
        "from airflow.operators.bash import BashOperator\n"
        "    import airflow.operators.python as p\n"
        "from airflow.providers.standard.operators.bash import BashOperator\n"
    )
    (tmp_path / "sub" / "b.py").write_text("from airflow.contrib.hooks import x\n")
    found = scan_dag_imports(tmp_path, airflow3_data().modules)
    assert [(f.file.name, f.line, f.module) for f in found] == [
        ("a.py", 2, "airflow.operators.bash"),
        ("a.py", 3, "airflow.operators.python"),
        ("b.py", 1, "airflow.contrib.hooks"),
    ]
    assert found[0].replacement == "airflow.providers.standard.operators.bash"
    assert found[2].replacement is None and found[2].note


def test_config_updates_follow_what_the_config_sets(tmp_path: Path) -> None:
    from mwaadeps.build.upgrade import _config_updates
    from mwaadeps.config import load_settings

    (tmp_path / "mwaadeps.toml").write_text('airflow-version = "2.9.2"\nconstraints = "c.txt"\n')
    settings = load_settings({}, env={}, cwd=tmp_path)
    raw = {"airflow-version": "2.9.2", "constraints": "c.txt"}
    to_306 = report(())
    assert _config_updates(settings, raw, to_306, None) == {
        "airflow-version": "3.0.6", "constraints": None,
    }  # fmt: skip
    new_file = tmp_path / "sub" / "c306.txt"
    assert _config_updates(settings, raw, to_306, str(new_file))["constraints"] == ("sub/c306.txt")
    url = "https://nexus.example/raw/constraints-3.0.6.txt"
    assert _config_updates(settings, raw, to_306, url)["constraints"] == url
    with_python = {**raw, "python-version": "3.11"}
    assert _config_updates(settings, with_python, to_306, url)["python-version"] == "3.12"
    same = UpgradeReport(resolve_target("2.9.2"), resolve_target("2.9.2"), "lock", "c.txt", ())
    assert _config_updates(settings, raw, same, None) == {"airflow-version": "2.9.2"}
