"""discover's pure parts: the snapshot, the comparisons, the override file, --write's edit."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mwaadeps.build import lockfile
from mwaadeps.build.base import base_override, format_override, override_name, read_override
from mwaadeps.config import load_settings
from mwaadeps.deploy.discover import (
    CHANGED,
    EXTRA,
    MISSING,
    Comparison,
    DiscoverReport,
    compare,
    image_base,
    parse_snapshot,
    write_override,
)
from mwaadeps.errors import ConfigError, DiscoverFailed

TOML = """\
# the project's settings
airflow-version = "2.9.2"   # keep

[environments.dev]
name = "dsai-dev-mwaa"
region = "eu-west-1"
bucket = "dsai-airflow-dags"

[environments.prod]  # production
name = "dsai-prod-mwaa"
bucket = "dsai-airflow-dags-prod"
"""


def _project(tmp_path: Path, toml: str = TOML) -> Path:
    (tmp_path / "mwaadeps.toml").write_text(toml)
    return tmp_path


def test_compare_names_each_kind() -> None:
    expected = {"a": "1.0", "b": "2.0", "c": "3.0"}
    live = {"a": "1.0", "b": "2.1", "d": "4.0"}
    diffs = compare(expected, live)
    assert [(d.name, d.kind, d.expected, d.live) for d in diffs] == [
        ("b", CHANGED, "2.0", "2.1"),
        ("c", MISSING, "3.0", None),
        ("d", EXTRA, None, "4.0"),
    ]
    assert [d.name for d in compare(expected, live, extras=False)] == ["b", "c"]
    assert [d.name for d in compare(expected, live, known=frozenset({"d"}))] == ["b", "c"]
    assert compare(live, live) == ()


def test_image_base_takes_the_bundle_out() -> None:
    live = {"requests": "2.32.3", "attrs": "23.2.0", "mypkg": "1.0", "boto3": "1.34.0"}
    pins = {"mypkg": "1.0", "attrs": "24.1.0"}  # the bundle moved attrs
    predicted = {"attrs": "23.2.0", "boto3": "1.33.0", "requests": "2.32.3"}
    assert image_base(live, pins, predicted) == {
        "attrs": "23.2.0",  # its image version, not the bundle's
        "boto3": "1.34.0",  # drift stays visible
        "requests": "2.32.3",
    }


def test_parse_snapshot_canonical_and_refusals() -> None:
    doc = {"format": 1, "python": "3.11.9", "airflow": "2.9.2",
           "packages": {"Flask_Babel": "2.0.0", "zope.interface": "6.0",
                        "Apache_Airflow": "2.9.2"}}  # fmt: skip
    live = parse_snapshot(json.dumps(doc), "Variable x")
    assert live.airflow_version == "2.9.2" and live.python_version == "3.11.9"
    assert dict(live.packages) == {
        "apache-airflow": "2.9.2",
        "flask-babel": "2.0.0",
        "zope-interface": "6.0",
    }
    no_airflow = {**doc, "packages": {"requests": "2.32.3"}}
    with pytest.raises(DiscoverFailed, match="not apache-airflow"):
        parse_snapshot(json.dumps(no_airflow), "Variable x")
    for bad in ("not json", json.dumps({**doc, "format": 2}), json.dumps({**doc, "packages": []})):
        with pytest.raises(DiscoverFailed, match="Variable x"):
            parse_snapshot(bad, "Variable x")


def test_override_file_round_trip(tmp_path: Path) -> None:
    text = format_override(
        "dsai-dev-mwaa", "2.9.2", "3.11.9", "2026-12-03T10:00:00Z",
        {"Zope.Interface": "6.0", "attrs": "23.2.0"},
    )  # fmt: skip
    lines = text.splitlines()
    assert lines[0] == (
        "# mwaadeps discover: environment dsai-dev-mwaa, Airflow 2.9.2, Python 3.11.9, "
        "2026-12-03T10:00:00Z"
    )
    assert lines[1:] == ["attrs==23.2.0", "zope-interface==6.0"]
    path = tmp_path / override_name("dev")
    path.write_text(text)
    found = read_override(path, "dev")
    assert found.packages == {"attrs": "23.2.0", "zope-interface": "6.0"}
    assert (found.airflow_version, found.python_version) == ("2.9.2", "3.11.9")
    assert found.source()["file"] == "mwaadeps-installed-dev.txt" and len(found.sha256) == 64


def test_override_file_damage_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "o.txt"
    path.write_text("attrs==1\n")
    with pytest.raises(ConfigError, match=r"o\.txt:1 is not a `mwaadeps discover` header"):
        read_override(path, "dev")
    header = "# mwaadeps discover: environment e, Airflow 2.9.2, Python 3.11.9, t\n"
    path.write_text(header + "attrs==1\nboto3>=1.0\n")
    with pytest.raises(ConfigError, match=r"o\.txt:3.*not a name==version line"):
        read_override(path, "dev")


def _with_override(root: Path, airflow: str, python: str, **cli: str) -> object:
    (root / "mwaadeps-installed-dev.txt").write_text(
        format_override("dsai-dev-mwaa", airflow, python, "t", {"attrs": "1.0"})
    )
    line = 'installed = "mwaadeps-installed-dev.txt"\n'
    toml = TOML.replace('bucket = "dsai-airflow-dags"\n', 'bucket = "dsai-airflow-dags"\n' + line)
    _project(root, toml)
    return load_settings(cli, env={}, cwd=root)


def test_base_override_used_with_env_and_build_table(tmp_path: Path) -> None:
    settings = _with_override(tmp_path, "2.9.2", "3.11.9", base_env="dev")
    installed = settings.environment("dev").installed  # type: ignore[attr-defined]
    assert installed == tmp_path.resolve() / override_name("dev")
    found = base_override(settings)  # type: ignore[arg-type]
    assert found is not None and found.packages == {"attrs": "1.0"}
    assert base_override(load_settings({}, env={}, cwd=tmp_path)) is None  # no --env: predicted
    (tmp_path / "mwaadeps.toml").write_text(
        (tmp_path / "mwaadeps.toml").read_text() + '\n[build]\nenv = "dev"\n'
    )
    from_file = load_settings({}, env={}, cwd=tmp_path)
    assert from_file.base_env == "dev" and base_override(from_file) is not None


@pytest.mark.parametrize(("airflow", "python"), [("2.10.3", "3.11.9"), ("2.9.2", "3.12.1")])
def test_override_for_another_target_is_refused(tmp_path: Path, airflow: str, python: str) -> None:
    settings = _with_override(tmp_path, airflow, python, base_env="dev")
    with pytest.raises(ConfigError, match=f"discovered on Airflow {airflow} \\(Python {python}\\)"):
        base_override(settings)  # type: ignore[arg-type]


def test_env_without_installed_file_says_how_to_get_one(tmp_path: Path) -> None:
    settings = load_settings({"base_env": "prod"}, env={}, cwd=_project(tmp_path))
    with pytest.raises(ConfigError, match=r"\[environments.prod\] has no installed file") as exc:
        base_override(settings)
    assert "mwaadeps discover --env prod --write" in (exc.value.hint or "")


def test_build_table_unknown_key_is_refused(tmp_path: Path) -> None:
    _project(tmp_path, TOML + '\n[build]\nenviron = "dev"\n')
    with pytest.raises(ConfigError, match="Unknown setting 'environ'"):
        load_settings({}, env={}, cwd=tmp_path)


def _report(key: str = "dev") -> DiscoverReport:
    diffs = compare({"attrs": "23.2.0"}, {"attrs": "24.1.0"})
    return DiscoverReport(
        key=key, environment="dsai-dev-mwaa", airflow_version="2.9.2", python_version="3.11.9",
        packages={"attrs": "24.1.0", "mine": "1.0"}, base={"attrs": "24.1.0"},
        prediction=Comparison("prediction", 1, diffs), bundle=None,
    )  # fmt: skip


def test_write_override_changes_one_line_of_the_toml(tmp_path: Path) -> None:
    root = _project(tmp_path)
    settings = load_settings({}, env={}, cwd=root)
    from datetime import datetime, timezone

    when = datetime(2026, 12, 3, 10, 0, tzinfo=timezone.utc)
    done = write_override(settings, _report(), now=when)
    override = root / "mwaadeps-installed-dev.txt"
    assert done.written == (override, root / "mwaadeps.toml")
    assert override.read_text() == (
        "# mwaadeps discover: environment dsai-dev-mwaa, Airflow 2.9.2, Python 3.11.9, "
        "2026-12-03T10:00:00Z\nattrs==24.1.0\n"
    )
    new = (root / "mwaadeps.toml").read_text()
    expected = TOML.replace(
        "[environments.dev]\n", '[environments.dev]\ninstalled = "mwaadeps-installed-dev.txt"\n'
    )
    assert new == expected
    reread = load_settings({}, env={}, cwd=root).environment("dev")
    assert reread.installed == override.resolve()
    # A second write keeps the toml as it is (the key is already there).
    again = write_override(settings, _report())
    assert again.written == (override,)
    assert (root / "mwaadeps.toml").read_text() == expected


def test_write_override_in_pyproject(tmp_path: Path) -> None:
    text = '[project]\nname = "x"\n\n[tool.mwaadeps]\nairflow-version = "2.9.2"\n\n' \
           '[tool.mwaadeps.environments.dev]\nname = "dsai-dev-mwaa"\nbucket = "b"\n'  # fmt: skip
    (tmp_path / "pyproject.toml").write_text(text)
    settings = load_settings({}, env={}, cwd=tmp_path)
    write_override(settings, _report())
    assert (
        load_settings({}, env={}, cwd=tmp_path).environment("dev").installed
        == (tmp_path / "mwaadeps-installed-dev.txt").resolve()
    )


def test_write_override_needs_a_table_header(tmp_path: Path) -> None:
    root = _project(tmp_path, 'airflow-version = "2.9.2"\nenvironments.dev = { name = "n", '
                              'bucket = "b" }\n')  # fmt: skip
    settings = load_settings({}, env={}, cwd=root)
    with pytest.raises(ConfigError, match=r"no \[environments.dev\] table header"):
        write_override(settings, _report())
    assert not (root / "mwaadeps-installed-dev.txt").exists()


def test_lock_file_records_the_base_source(tmp_path: Path) -> None:
    lock = lockfile.Lock(
        target={"airflow_version": "2.9.2"}, inputs_sha256="i", constraints_sha256="c",
        constraints_source="shipped", resolver="uv", packages=(),
        base_source={"env": "dev", "file": "mwaadeps-installed-dev.txt", "sha256": "ab" * 32},
    )  # fmt: skip
    path = tmp_path / "mwaadeps.lock"
    lockfile.write(lock, path)
    assert '\n[base]\nenv = "dev"\n' in path.read_text()
    assert lockfile.read(path).base_source == lock.base_source
    plain = lockfile.Lock(
        target={}, inputs_sha256="i", constraints_sha256="c", constraints_source="s",
        resolver="uv", packages=(),
    )  # fmt: skip
    assert "[base]" not in lockfile.dumps(plain)
    lockfile.write(plain, path)
    assert lockfile.read(path).base_source == {}


def test_upgrade_target_settings_leave_the_override_behind(tmp_path: Path) -> None:
    from mwaadeps.build.upgrade import target_settings

    settings = _with_override(tmp_path, "2.9.2", "3.11.9", base_env="dev")
    same = target_settings(settings, "2.9.2", None, None)  # type: ignore[arg-type]
    assert same.base_env == "dev" and base_override(same) is not None
    newer = target_settings(settings, "2.10.3", None, None)  # type: ignore[arg-type]
    assert newer.base_env is None and base_override(newer) is None  # the new version: predicted
