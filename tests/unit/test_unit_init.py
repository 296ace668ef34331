"""`mwaadeps init`: the config it writes loads and builds as written."""

from __future__ import annotations

from pathlib import Path

import pytest
import tomllib

from mwaadeps.config import load_settings
from mwaadeps.errors import ConfigError
from mwaadeps.scaffold import write_config


def test_config_in_an_empty_project_names_no_missing_path(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("requests\n")
    written = write_config(tmp_path / "mwaadeps.toml", airflow_version="2.9.2")
    raw = tomllib.loads(written.read_text())
    assert raw["airflow-version"] == "2.9.2"
    assert "startup-script" not in raw and "plugins" not in raw and "dags" not in raw
    settings = load_settings({}, env={}, cwd=tmp_path)
    assert settings.startup_script is None and settings.plugins is None
    assert settings.requirements == (tmp_path / "requirements.txt").resolve()


def test_existing_paths_are_written_active(tmp_path: Path) -> None:
    (tmp_path / "startup.sh").write_text("#!/bin/sh\n")
    (tmp_path / "plugins").mkdir()
    raw = tomllib.loads(write_config(tmp_path / "mwaadeps.toml").read_text())
    assert raw["startup-script"] == "startup.sh"
    assert raw["plugins"] == "plugins"
    assert "dags" not in raw
    settings = load_settings({}, env={}, cwd=tmp_path)
    assert settings.startup_script == (tmp_path / "startup.sh").resolve()


def test_refuses_to_overwrite(tmp_path: Path) -> None:
    write_config(tmp_path / "mwaadeps.toml")
    with pytest.raises(ConfigError, match="already exists"):
        write_config(tmp_path / "mwaadeps.toml")
