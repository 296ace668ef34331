"""[audit] in mwaadeps.toml: ignore entries need a reason; fail-on; unknown keys."""

from __future__ import annotations

from pathlib import Path

import pytest

from mwaadeps.config import load_settings
from mwaadeps.errors import ConfigError


def _settings(tmp_path: Path, audit: str):  # type: ignore[no-untyped-def]
    (tmp_path / "mwaadeps.toml").write_text('airflow-version = "2.9.2"\n\n[audit]\n' + audit)
    return load_settings({}, env={}, cwd=tmp_path)


def test_ignore_entries_and_fail_on(tmp_path: Path) -> None:
    s = _settings(
        tmp_path,
        'fail-on = "high"\nignore = [{ id = "GHSA-1", reason = " not used " }, '
        '{ id = "PYSEC-2", reason = "dev only" }]\n',
    )
    assert s.audit_ignore == (("GHSA-1", "not used"), ("PYSEC-2", "dev only"))
    assert s.audit_fail_on == "high"
    other = tmp_path / "other"
    other.mkdir()
    (other / "mwaadeps.toml").write_text('airflow-version = "2.9.2"\n')
    plain = load_settings({}, env={}, cwd=other)
    assert plain.audit_ignore == () and plain.audit_fail_on is None


@pytest.mark.parametrize(
    ("audit", "message"),
    [
        ('ignore = [{ id = "GHSA-1" }]\n', "ignore entry 1 needs an id and a reason"),
        ('ignore = [{ id = "GHSA-1", reason = "  " }]\n', "needs an id and a reason"),
        ('ignore = "GHSA-1"\n', "ignore must be a list of tables"),
        ('ignore = [{ reason = "x" }]\n', "id must be a string"),
        ('ignore = [{ id = "A", reason = "x", until = "2030" }]\n', "Unknown setting 'until'"),
        ('fail_on = "high"\n', "Did you mean 'fail-on'?"),
    ],
)
def test_bad_audit_tables_are_config_errors(tmp_path: Path, audit: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        _settings(tmp_path, audit)
    text = info.value.message + " " + (info.value.hint or "")
    assert message in text
