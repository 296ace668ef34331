"""The override file lock/build/check --env trust must be a whole discovery: one with only
its header left (or only blank/comment lines) is refused with a plain error naming the file,
never used as an empty base install."""

from __future__ import annotations

from pathlib import Path

import pytest

from mwaadeps.build.base import base_override, format_override
from mwaadeps.config import load_settings
from mwaadeps.errors import ConfigError

TOML = """\
airflow-version = "2.9.2"
python-version = "3.11"

[build]
env = "dev"

[environments.dev]
name = "dsai-dev-mwaa"
bucket = "dsai-airflow-dags"
installed = "mwaadeps-installed-dev.txt"
"""
HEADER = "# mwaadeps discover: environment dsai-dev-mwaa, Airflow 2.9.2, Python 3.11.9, T"


def _project(tmp_path: Path, override: str) -> Path:
    (tmp_path / "mwaadeps.toml").write_text(TOML)
    (tmp_path / "mwaadeps-installed-dev.txt").write_text(override)
    return tmp_path


def test_a_whole_override_is_used(tmp_path: Path) -> None:
    text = format_override(
        "dsai-dev-mwaa", "2.9.2", "3.11.9", "T", {"apache-airflow": "2.9.2", "attrs": "23.2.0"}
    )
    settings = load_settings({}, env={}, cwd=_project(tmp_path, text))
    found = base_override(settings)
    assert found is not None and found.packages["attrs"] == "23.2.0"


@pytest.mark.parametrize(
    "body",
    [HEADER + "\n", HEADER + "\n\n# nothing\n", HEADER],
    ids=["header-only", "comments-only", "no-newline"],
)
def test_a_partial_override_is_refused(tmp_path: Path, body: str) -> None:
    settings = load_settings({}, env={}, cwd=_project(tmp_path, body))
    with pytest.raises(ConfigError, match=r"mwaadeps-installed-dev\.txt") as info:
        base_override(settings)
    assert info.value.hint and "discover --env dev --write" in info.value.hint
