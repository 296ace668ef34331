"""find_config / load_settings: the nearest config from the working folder up; type checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from mwaadeps.config import find_config, load_settings
from mwaadeps.errors import ConfigError


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_found_in_a_parent_with_paths_relative_to_the_file(tmp_path: Path) -> None:
    conf = _write(tmp_path / "repo" / "mwaadeps.toml",
                  'airflow-version = "2.10.3"\nrequirements = "deps/requirements.txt"\n'
                  'out = "build/dist"\nlocal-packages = ["libs/one"]\n')  # fmt: skip
    deep = tmp_path / "repo" / "dags" / "team"
    deep.mkdir(parents=True)
    s = load_settings({}, env={}, cwd=deep)
    base = conf.parent.resolve()
    assert s.config_file == conf.resolve()
    assert s.airflow_version == "2.10.3"
    assert s.project_dir == base
    assert s.requirements == base / "deps" / "requirements.txt"
    assert s.out_dir == base / "build" / "dist"
    assert s.local_packages == (base / "libs" / "one",)
    # A CLI path still counts from the working folder.
    s = load_settings({"out": Path("here")}, env={}, cwd=deep)
    assert s.out_dir == deep.resolve() / "here"


def test_the_nearest_file_wins(tmp_path: Path) -> None:
    _write(tmp_path / "mwaadeps.toml", 'airflow-version = "2.8.1"\n')
    near = _write(tmp_path / "a" / "mwaadeps.toml", 'airflow-version = "2.9.2"\n')
    (tmp_path / "a" / "b").mkdir()
    found, raw = find_config(tmp_path / "a" / "b")
    assert found == near and raw["airflow-version"] == "2.9.2"


def test_pyproject_without_the_tool_table_is_passed_over(tmp_path: Path) -> None:
    top = _write(tmp_path / "mwaadeps.toml", 'airflow-version = "2.8.1"\n')
    _write(tmp_path / "pkg" / "pyproject.toml", '[project]\nname = "pkg"\n')
    found, _ = find_config(tmp_path / "pkg")
    assert found == top
    text = '[project]\nname = "pkg"\n[tool.mwaadeps]\nairflow-version = "3.0.6"\n'
    tool = _write(tmp_path / "pkg" / "pyproject.toml", text)
    found, raw = find_config(tmp_path / "pkg")
    assert found == tool and raw == {"airflow-version": "3.0.6"}


def test_mwaadeps_toml_beats_pyproject_in_the_same_folder(tmp_path: Path) -> None:
    _write(tmp_path / "pyproject.toml", '[tool.mwaadeps]\nairflow-version = "3.0.6"\n')
    own = _write(tmp_path / "mwaadeps.toml", 'airflow-version = "2.9.2"\n')
    assert find_config(tmp_path)[0] == own


def test_the_search_stops_at_the_repository_root(tmp_path: Path) -> None:
    _write(tmp_path / "mwaadeps.toml", 'airflow-version = "2.8.1"\n')  # outside the repo
    (tmp_path / "repo" / ".git").mkdir(parents=True)
    (tmp_path / "repo" / "src").mkdir()
    assert find_config(tmp_path / "repo" / "src") == (None, {})
    inside = _write(tmp_path / "repo" / "mwaadeps.toml", 'airflow-version = "2.9.2"\n')
    assert find_config(tmp_path / "repo" / "src")[0] == inside


def test_no_config_anywhere(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    s = load_settings({}, env={}, cwd=tmp_path)
    assert s.config_file is None and s.project_dir == tmp_path.resolve()


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("airflow-version = 2.9\n", "airflow-version must be a string, not the number 2.9"),
        ("runner-image = true\n", "runner-image must be a string, not the boolean true"),
        ('out = ["a"]\n', "out must be a string, not a list"),
        ('full = "maybe"\n', "full must be true or false, not 'maybe'"),
        ("full = 1\n", "full must be true or false, not the number 1"),
        ('local-packages = "x"\n', "local-packages must be a list of folders, not 'x'"),
        ("local-packages = [1]\n", "local-packages must be a list of folders"),
        ("index = 3\n", "index must be a table (or a URL string)"),
        ("[environments]\ndev = 3\n", "environments.dev must be a table, not the number 3"),
        ('[index]\nurl = "https://x/simple"\nextra-urls = "y"\n', "extra-urls must be a list"),
    ],
)
def test_wrong_types_name_the_file_and_key(tmp_path: Path, text: str, fragment: str) -> None:
    conf = _write(tmp_path / "mwaadeps.toml", text)
    with pytest.raises(ConfigError) as info:
        load_settings({}, env={}, cwd=tmp_path)
    assert info.value.message.startswith(str(conf.resolve()))
    assert fragment in info.value.message
    assert info.value.hint


def test_tool_table_of_the_wrong_type(tmp_path: Path) -> None:
    conf = _write(tmp_path / "pyproject.toml", "[tool]\nmwaadeps = 3\n")
    with pytest.raises(ConfigError, match=r"tool\.mwaadeps must be a table"):
        load_settings({}, env={}, cwd=tmp_path, config_path=conf)


def test_right_types_pass(tmp_path: Path) -> None:
    _write(tmp_path / "mwaadeps.toml", 'airflow-version = "2.9.2"\nfull = true\n'
           'local-packages = ["a", "b"]\nindex = "https://nexus.example/simple"\n')  # fmt: skip
    s = load_settings({}, env={}, cwd=tmp_path)
    assert s.full is True and len(s.local_packages) == 2
    assert s.index is not None and s.index.url == "https://nexus.example/simple"


@pytest.mark.parametrize(("value", "expected"), [("1", True), ("on", True), ("0", False),
                                                 ("no", False)])  # fmt: skip
def test_boolean_environment_variables(tmp_path: Path, value: str, expected: bool) -> None:
    assert load_settings({}, env={"MWAADEPS_FULL": value}, cwd=tmp_path).full is expected


def test_binary_file(tmp_path: Path) -> None:
    (tmp_path / "mwaadeps.toml").write_bytes(b'airflow-version = "2.9.2"\n\xc3\x28\n')
    with pytest.raises(ConfigError, match=r"not a UTF-8 text file \(byte 0xc3"):
        load_settings({}, env={}, cwd=tmp_path)
