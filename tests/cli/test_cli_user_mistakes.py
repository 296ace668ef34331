"""A user's mistake gives one plain message naming the file/key and what to do; no traceback."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from clikit import CONSTRAINTS_292, assert_plain_failure

BAD_TOML = [
    ("airflow-version = 2.9\n", ["airflow-version must be a string", "the number 2.9", "quotes"]),
    ("python-version = 3.10\n", ["python-version must be a string", "2.10 reads as 2.1"]),
    ('full = "maybe"\n', ["full must be true or false", "'maybe'", "full = true"]),
    ('local-packages = "x"\n', ["local-packages must be a list", 'local-packages = ["x"]']),
    ("[environments]\ndev = 3\n", ["environments.dev must be a table", "[environments.dev]"]),
    ("environments = 3\n", ["environments must be a table of tables"]),
    (
        '[index]\nurl = "https://nexus.example/simple"\nusername-env = 7\n',
        ["[index]: username-env must be a string"],
    ),
    (
        '[environments.dev]\nname = "x"\nbucket = "b"\nregion = 1\n',
        ["[environments.dev]: region must be a string"],
    ),
    ('airflow-versoin = "2.9.2"\n', ["Unknown setting 'airflow-versoin'", "airflow-version"]),
    ("airflow-version = \n", ["not valid TOML"]),
]


@pytest.mark.parametrize(("text", "fragments"), BAD_TOML, ids=[t for t, _ in BAD_TOML])
def test_wrongly_typed_config_values(
    cli: Any, project: Path, text: str, fragments: list[str]
) -> None:
    (project / "mwaadeps.toml").write_text(text)
    (project / "requirements.txt").write_text("requests\n")
    run = cli("check", "--constraints", str(CONSTRAINTS_292))
    assert_plain_failure(run, str(project / "mwaadeps.toml"), *fragments)
    assert run.returncode == 2  # a configuration error
    assert run.stderr.count("\n  ") == 1, run.stderr  # exactly one hint line


def test_wrongly_typed_value_as_json(cli: Any, project: Path) -> None:
    (project / "mwaadeps.toml").write_text('full = "maybe"\n')
    run = cli("build", "--json")
    assert run.returncode == 2 and "Traceback" not in run.output
    data = run.json()
    assert data["ok"] is False
    assert data["error"]["code"] == "config"
    assert "full must be true or false" in data["error"]["message"]
    assert data["error"]["hint"]


def test_binary_config_file(cli: Any, project: Path) -> None:
    (project / "mwaadeps.toml").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe")
    run = cli("check")
    assert_plain_failure(run, str(project / "mwaadeps.toml"), "not a UTF-8 text file", "0x89")
    assert run.returncode == 2


def test_binary_pyproject_in_a_parent(cli: Any, project: Path) -> None:
    (project.parent / "pyproject.toml").write_bytes(b"\xff\xfe[tool.mwaadeps]\n")
    sub = project / "sub"
    sub.mkdir()
    run = cli("check", cwd=sub)
    assert_plain_failure(run, str(project.parent / "pyproject.toml"), "not a UTF-8 text file")


def test_config_option_names_a_folder(cli: Any, project: Path) -> None:
    run = cli("check", "--config", str(project))
    assert_plain_failure(run, str(project), "is a folder, not a file")


def test_environment_flag_with_a_bad_boolean(cli: Any, project: Path) -> None:
    run = cli("build", env={"MWAADEPS_FULL": "maybe"})
    assert_plain_failure(run, "MWAADEPS_FULL must be true or false", "'maybe'")


@pytest.mark.parametrize("python", ["3.1", "3.7", "2.7", "3", "three"])
def test_invalid_target_python(cli: Any, project: Path, python: str) -> None:
    (project / "requirements.txt").write_text("requests\n")
    run = cli("check", "-a", "2.9.2", "--python-version", python)
    assert_plain_failure(run, f"Python version {python!r}", "3.8 and newer", "3.11")
    assert run.returncode == 2


def test_python_version_3_1_is_not_a_prefix_of_3_11(cli: Any, project: Path) -> None:
    """MWAA 2.9.2 runs 3.11.9: "3.1" once matched it as a string prefix."""
    (project / "requirements.txt").write_text("requests\n")
    run = cli("check", "-a", "2.9.2", "--python-version", "3.10", "--constraints",
              str(CONSTRAINTS_292))  # fmt: skip
    assert_plain_failure(run, "MWAA 2.9.2 runs Python 3.11.9, not 3.10")


def test_python_version_from_the_config_file(cli: Any, project: Path) -> None:
    (project / "mwaadeps.toml").write_text('airflow-version = "9.9.9"\npython-version = "3.1"\n')
    (project / "requirements.txt").write_text("requests\n")
    run = cli("check", "--json")
    assert run.returncode == 2
    assert run.json()["error"]["code"] == "target"
    assert "'3.1'" in run.json()["error"]["message"]
