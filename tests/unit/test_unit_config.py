"""config.load_settings: CLI > env > file > defaults, unknown keys, relative paths."""

from __future__ import annotations

from pathlib import Path

import pytest

from mwaadeps.config import load_settings
from mwaadeps.errors import ConfigError


def _toml(folder: Path, text: str, name: str = "mwaadeps.toml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text)
    return path


def test_precedence_cli_env_file_default(tmp_path: Path) -> None:
    _toml(tmp_path, 'airflow-version = "2.8.1"\nmode = "index"\nresolver = "pip-tools"\n'
                    '[index]\nurl = "https://nexus.example/simple"\n')  # fmt: skip
    env = {"MWAADEPS_AIRFLOW_VERSION": "2.9.2", "MWAADEPS_RESOLVER": "uv"}
    s = load_settings({"airflow_version": "2.10.1"}, env=env, cwd=tmp_path)
    assert s.airflow_version == "2.10.1"  # CLI beats env and file
    assert s.resolver == "uv"  # env beats file
    assert s.mode == "index"  # file beats default
    assert s.full is False  # default
    s = load_settings({"airflow_version": None}, env=env, cwd=tmp_path)
    assert s.airflow_version == "2.9.2"  # None means "not given"
    s = load_settings({}, env={}, cwd=tmp_path)
    assert s.airflow_version == "2.8.1"
    assert s.target.python_version == "3.11"


def test_defaults_without_a_config_file(tmp_path: Path) -> None:
    s = load_settings({}, env={}, cwd=tmp_path)
    assert s.config_file is None
    assert s.requirements == tmp_path.resolve() / "requirements.txt"
    assert s.plugins is None and s.startup_script is None and s.dags is None
    assert s.out_dir == tmp_path.resolve() / "dist"
    assert s.lock_file == tmp_path.resolve() / "mwaadeps.lock"
    assert (s.mode, s.resolver, s.full, s.index) == ("bundle", "uv", False, None)
    (tmp_path / "plugins").mkdir()
    (tmp_path / "startup.sh").write_text("#!/bin/sh\n")
    s = load_settings({}, env={}, cwd=tmp_path)
    assert s.plugins == tmp_path.resolve() / "plugins"
    assert s.startup_script == tmp_path.resolve() / "startup.sh"


def test_paths_are_relative_to_the_config_file(tmp_path: Path) -> None:
    conf = _toml(tmp_path / "conf", 'requirements = "reqs/requirements.txt"\n'
                                    'constraints = "c/constraints.txt"\nplugins = "p"\n'
                                    'local-packages = ["pkgs/one"]\n')  # fmt: skip
    work = tmp_path / "elsewhere"
    work.mkdir()
    s = load_settings({}, env={}, cwd=work, config_path=conf)
    base = (tmp_path / "conf").resolve()
    assert s.requirements == base / "reqs" / "requirements.txt"
    assert s.constraints == str(base / "c" / "constraints.txt")
    assert s.plugins == base / "p"
    assert s.local_packages == (base / "pkgs" / "one",)
    assert s.project_dir == base
    # A CLI path counts from the working directory.
    s = load_settings({"requirements": Path("mine.txt")}, env={}, cwd=work, config_path=conf)
    assert s.requirements == work.resolve() / "mine.txt"
    # A URL is left alone.
    s = load_settings({"constraints": "https://example.invalid/c.txt"}, env={}, cwd=work,
                      config_path=conf)  # fmt: skip
    assert s.constraints == "https://example.invalid/c.txt"


def test_pyproject_tool_table(tmp_path: Path) -> None:
    _toml(tmp_path, '[project]\nname = "x"\n\n[tool.mwaadeps]\nairflow-version = "3.0.6"\n'
                    'full = true\n', name="pyproject.toml")  # fmt: skip
    s = load_settings({}, env={}, cwd=tmp_path)
    assert s.config_file == (tmp_path / "pyproject.toml").resolve()
    assert s.airflow_version == "3.0.6"
    assert s.full is True


def test_pyproject_without_tool_table_is_ignored(tmp_path: Path) -> None:
    _toml(tmp_path, '[project]\nname = "x"\n', name="pyproject.toml")
    assert load_settings({}, env={}, cwd=tmp_path).config_file is None


@pytest.mark.parametrize(
    ("text", "fragment", "hint"),
    [
        ('airflow-verison = "2.9.2"\n', "'airflow-verison'", "Did you mean 'airflow-version'?"),
        ('[index]\nurl = "https://n/simple"\nusername-evn = "U"\n', "'username-evn'",
         "Did you mean 'username-env'?"),
        ('[environments.dev]\nname = "e"\nbucket = "b"\nregoin = "eu-west-1"\n', "'regoin'",
         "Did you mean 'region'?"),
    ],
)  # fmt: skip
def test_unknown_keys_get_did_you_mean(tmp_path: Path, text: str, fragment: str, hint: str) -> None:
    _toml(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_settings({}, env={}, cwd=tmp_path)
    assert fragment in info.value.message
    assert str(tmp_path) in info.value.message
    assert info.value.hint == hint


def test_bad_values(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="mode must be one of"):
        load_settings({"mode": "zip"}, env={}, cwd=tmp_path)
    with pytest.raises(ConfigError, match="resolver must be one of"):
        load_settings({}, env={"MWAADEPS_RESOLVER": "poetry"}, cwd=tmp_path)
    _toml(tmp_path, "airflow-version = \n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings({}, env={}, cwd=tmp_path)
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings({}, env={}, cwd=tmp_path, config_path=Path("nope.toml"))


def test_env_flags_cache_and_index(tmp_path: Path) -> None:
    env = {"MWAADEPS_FULL": "true", "MWAADEPS_CACHE_DIR": str(tmp_path / "c"),
           "MWAADEPS_INDEX_URL": "https://nexus.example/simple"}  # fmt: skip
    s = load_settings({}, env=env, cwd=tmp_path)
    assert s.full is True
    assert s.cache_dir == (tmp_path / "c").resolve()
    assert s.index is not None and s.index.url == "https://nexus.example/simple"


def test_index_credentials_from_env(tmp_path: Path) -> None:
    _toml(tmp_path, '[index]\nurl = "https://nexus.example/simple"\n'
                    'username-env = "NX_USER"\npassword-env = "NX_PASS"\n')  # fmt: skip
    env = {"NX_USER": "bob", "NX_PASS": "hunter2-secret"}
    s = load_settings({}, env=env, cwd=tmp_path)
    assert s.index is not None
    assert s.index.resolved_urls(env) == ["https://bob:hunter2-secret@nexus.example/simple"]
    assert s.index.placeholder_urls() == ["https://${NX_USER}:${NX_PASS}@nexus.example/simple"]
    assert s.secrets() == ("bob", "hunter2-secret")
    assert "hunter2" not in repr(s)
    with pytest.raises(ConfigError) as info:
        s.index.resolved_urls({"NX_USER": "bob"})
    assert "NX_PASS" in info.value.message


def test_named_environments(tmp_path: Path) -> None:
    _toml(tmp_path, '[environments.dev]\nname = "dsai-dev-mwaa"\nbucket = "b"\n'
                    'region = "eu-west-1"\n')  # fmt: skip
    s = load_settings({}, env={}, cwd=tmp_path)
    assert s.environment("dev").name == "dsai-dev-mwaa"
    assert s.environment("dev").plugins_key == "plugins.zip"
    with pytest.raises(ConfigError) as info:
        s.environment("dve")
    assert info.value.hint and "Did you mean 'dev'?" in info.value.hint


def test_choices_are_enums_read_case_insensitively(tmp_path: Path) -> None:
    from mwaadeps.choices import BuildMode, FailOn, ResolverName, WorkerReplacement

    _toml(
        tmp_path,
        'mode = "INDEX"\nresolver = "Pip-Tools"\n[audit]\nfail-on = "moderate"\n'
        '[environments.dev]\nname = "n"\nbucket = "b"\nworker-replacement = "Graceful"\n',
    )
    s = load_settings({}, env={}, cwd=tmp_path)
    assert s.mode is BuildMode.INDEX and s.resolver is ResolverName.PIP_TOOLS
    assert s.audit_fail_on is FailOn.MEDIUM
    assert s.environment("dev").worker_replacement is WorkerReplacement.GRACEFUL
    assert load_settings({"mode": "bundle"}, env={}, cwd=tmp_path).mode is BuildMode.BUNDLE


@pytest.mark.parametrize(
    ("text", "env", "expected"),
    [
        ('mode = "zip"\n', {}, "{file}: mode must be one of bundle, index, not 'zip'."),
        ("", {"MWAADEPS_MODE": "zip"}, "MWAADEPS_MODE: mode must be one of bundle, index"),
        ('resolver = "poetry"\n', {}, "{file}: resolver must be one of uv, pip-tools, not"),
        (
            '[environments.dev]\nname = "n"\nbucket = "b"\nworker-replacement = "soft"\n',
            {},
            "{file} [environments.dev]: worker-replacement must be one of graceful, forced",
        ),
        (
            '[audit]\nfail-on = "severe"\n',
            {},
            "{file} [audit]: fail-on must be one of any, low, medium, high, critical",
        ),
    ],
)  # fmt: skip
def test_a_bad_choice_names_the_file_key_and_allowed_values(
    tmp_path: Path, text: str, env: dict[str, str], expected: str
) -> None:
    path = _toml(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_settings({}, env=env, cwd=tmp_path)
    assert expected.format(file=path) in info.value.message
