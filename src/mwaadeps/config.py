"""Every setting, resolved in one place: CLI > environment variable > mwaadeps.toml > default.

``load_settings`` takes the environment as a parameter, so tests pass their own.
"""

from __future__ import annotations

import difflib
import os
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from mwaadeps.choices import (
    BuildMode,
    E,
    FailOn,
    ResolverName,
    WorkerReplacement,
    parse_choice,
)
from mwaadeps.errors import ConfigError
from mwaadeps.redact import (
    has_credentials,
    redact_url,
    split_userinfo,
    strip_credentials,
    with_credentials,
)
from mwaadeps.targets import Target, resolve_target

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

CONFIG_NAME = "mwaadeps.toml"

_TOP_KEYS = {
    "airflow-version",
    "python-version",
    "requirements",
    "plugins",
    "startup-script",
    "dags",
    "constraints",
    "local-packages",
    "out",
    "lock-file",
    "full",
    "mode",
    "resolver",
    "cache-dir",
    "runner-image",
    "index",
    "environments",
    "audit",
    "build",
}
_BUILD_KEYS = {"env"}
_AUDIT_KEYS = {"ignore", "fail-on"}
_INDEX_KEYS = {"url", "extra-urls", "username-env", "password-env"}
_ENV_KEYS = {
    "name",
    "region",
    "profile",
    "bucket",
    "requirements-key",
    "plugins-key",
    "startup-key",
    "kms-key",
    "worker-replacement",
    "endpoint-url",
    "installed",
}


@dataclass(frozen=True)
class IndexConfig:
    """A private package index (e.g. Nexus); credentials come from environment variables.

    ``key`` names the setting the URL came from (``[index] url``, ``MWAADEPS_INDEX_URL``,
    ``--index-url``), for messages.
    """

    url: str
    extra_urls: tuple[str, ...] = ()
    username_env: str | None = None
    password_env: str | None = None
    key: str = "[index] url"

    def _urls(self) -> list[tuple[str, str]]:
        """(setting name, URL) of every index URL."""
        extra_key = "[index] extra-urls" if self.key == "[index] url" else self.key
        return [(self.key, self.url), *((extra_key, u) for u in self.extra_urls)]

    @staticmethod
    def _placeholder_auth(url: str, user: str | None, password: str | None) -> str:
        if user is None and password is None:
            return url
        bare, _ = strip_credentials(url)
        scheme, sep, rest = bare.partition("://")
        auth = (user or "") + (f":{password}" if password is not None else "")
        return f"{scheme}{sep}{auth}@{rest}"

    def _expand(self, url: str, env: Mapping[str, str], key: str) -> str:
        """${VAR} and $VAR expanded; values in the user:password part are percent-encoded."""

        def sub(encode: bool) -> Callable[[re.Match[str]], str]:
            def inner(match: re.Match[str]) -> str:
                name = match.group(1) or match.group(2)
                if name not in env:
                    raise ConfigError(
                        f"{key} needs the environment variable {name}, which is not set.",
                        hint=f"export {name}=... before running mwaadeps.",
                    )
                return quote(env[name], safe="") if encode else env[name]

            return inner

        pattern = r"\$\{(\w+)\}|\$(\w+)"
        scheme, userinfo, rest = split_userinfo(url)
        if userinfo is None:
            return re.sub(pattern, sub(False), url)
        return f"{scheme}{re.sub(pattern, sub(True), userinfo)}@{re.sub(pattern, sub(False), rest)}"

    def secrets(self, env: Mapping[str, str]) -> tuple[str, ...]:
        """The credential values (from variables or written in the URLs), to mask in output."""
        names = [self.username_env, self.password_env]
        urls = [u for _, u in self._urls()]
        names += re.findall(r"\$\{(\w+)\}|\$(\w+)", " ".join(urls))
        flat = [n for item in names for n in (item if isinstance(item, tuple) else (item,))]
        values = [env[n] for n in flat if n and env.get(n)]
        for url in urls:
            _, creds = strip_credentials(url)
            if creds and has_credentials(url):
                values += [c for c in creds if c]
        return tuple(dict.fromkeys(values))

    def resolved_urls(self, env: Mapping[str, str]) -> list[str]:
        """Index URLs with real (percent-encoded) credentials: for downloads only, never shown."""
        for var in (self.username_env, self.password_env):
            if var and var not in env:
                raise ConfigError(
                    f"The private index needs the environment variable {var}, which is not set.",
                    hint=f"export {var}=... (mwaadeps never stores index credentials).",
                )
        user = env.get(self.username_env) if self.username_env else None
        password = env.get(self.password_env) if self.password_env else None
        out = []
        for key, url in self._urls():
            url = self._expand(url, env, key)
            out.append(with_credentials(url, user, password))
        return out

    def placeholder_urls(self) -> list[str]:
        """Index URLs with ${VAR} placeholders, as MWAA expands them in requirements.txt.

        A URL with literal credentials would write them into a file: refused.
        """
        for key, url in self._urls():
            if has_credentials(url):
                raise ConfigError(
                    f"{key} holds a literal user/password ({redact_url(url)}); mwaadeps "
                    "would write it into dist/requirements.txt.",
                    hint="Write the URL without credentials and set username-env/password-env "
                    "in [index], or use placeholders: https://${INDEX_USER}:${INDEX_TOKEN}@host/"
                    "simple (MWAA and mwaadeps expand them from the environment).",
                )
        user = f"${{{self.username_env}}}" if self.username_env else None
        password = f"${{{self.password_env}}}" if self.password_env else None
        return [self._placeholder_auth(u, user, password) for _, u in self._urls()]


@dataclass(frozen=True)
class EnvironmentConfig:
    """One named MWAA environment ([environments.<key>])."""

    key: str
    name: str
    bucket: str
    region: str | None = None
    profile: str | None = None
    requirements_key: str = "requirements.txt"
    plugins_key: str = "plugins.zip"
    startup_key: str = "startup.sh"
    kms_key: str | None = None
    worker_replacement: WorkerReplacement | None = None
    endpoint_url: str | None = None
    # The environment's discovered base install (`mwaadeps discover --write`), if any.
    installed: Path | None = None


@dataclass(frozen=True)
class Settings:
    """The resolved configuration every command works from."""

    project_dir: Path
    config_file: Path | None
    airflow_version: str | None
    python_version: str | None
    requirements: Path
    plugins: Path | None
    startup_script: Path | None
    dags: Path | None
    constraints: str | None
    index: IndexConfig | None
    local_packages: tuple[Path, ...]
    out_dir: Path
    lock_file: Path
    full: bool
    mode: BuildMode
    resolver: ResolverName
    cache_dir: Path
    runner_image: str | None
    environments: Mapping[str, EnvironmentConfig] = field(default_factory=dict)
    # [audit]: ((advisory id, reason), ...) to ignore, and the fail-on severity (None: any).
    audit_ignore: tuple[tuple[str, str], ...] = ()
    audit_fail_on: FailOn | None = None
    # --env / [build] env: lock against that environment's discovered base install.
    base_env: str | None = None
    env: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)

    @property
    def target(self) -> Target:
        return resolve_target(self.airflow_version, self.python_version)

    def environment(self, key: str) -> EnvironmentConfig:
        """The named environment, or a clear error listing the configured ones."""
        if key in self.environments:
            return self.environments[key]
        names = sorted(self.environments)
        where = str(self.config_file) if self.config_file else CONFIG_NAME
        if not names:
            raise ConfigError(
                f"No environments are configured in {where}.",
                hint=f"Add an [environments.{key}] table with name, region and bucket.",
            )
        close = difflib.get_close_matches(key, names, n=1)
        hint = f"Did you mean {close[0]!r}? " if close else ""
        raise ConfigError(
            f"Environment {key!r} is not in {where} (configured: {', '.join(names)}).",
            hint=hint + f"Add an [environments.{key}] table to {where}.",
        )

    def secrets(self) -> tuple[str, ...]:
        return self.index.secrets(self.env) if self.index else ()


def default_cache_dir(env: Mapping[str, str]) -> Path:
    if env.get("MWAADEPS_CACHE_DIR"):
        return Path(env["MWAADEPS_CACHE_DIR"]).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("mwaadeps", appauthor=False))


def _unknown(keys: set[str], allowed: set[str], where: str) -> None:
    for key in sorted(keys - allowed):
        close = difflib.get_close_matches(key, sorted(allowed), n=1)
        hint = (
            f"Did you mean {close[0]!r}?" if close else f"Known keys: {', '.join(sorted(allowed))}."
        )
        raise ConfigError(f"Unknown setting {key!r} in {where}.", hint=hint)


def _stop_after(folder: Path) -> bool:
    """The search ends at a repository's root (as black's does): never a stray file above it."""
    return (folder / ".git").exists() or (folder / ".hg").exists()


def find_config(cwd: Path) -> tuple[Path | None, dict[str, Any]]:
    """The nearest config file from ``cwd`` up, and its mwaadeps table ({} when none).

    In each folder, mwaadeps.toml wins over a pyproject.toml with a [tool.mwaadeps] table;
    the walk stops at the root of the repository (a folder holding .git) or of the disk.
    """
    for folder in (cwd, *cwd.parents):
        path = folder / CONFIG_NAME
        if path.is_file():
            return path, _read_toml(path)
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file():
            table = _tool_table(pyproject, _read_toml(pyproject), required=False)
            if table is not None:
                return pyproject, table
        if _stop_after(folder):
            break
    return None, {}


def _tool_table(path: Path, data: dict[str, Any], *, required: bool) -> dict[str, Any] | None:
    """pyproject.toml's [tool.mwaadeps] table (None when absent and not required)."""
    tool = data.get("tool", {})
    table = tool.get("mwaadeps") if isinstance(tool, dict) else None
    if table is None and not required:
        return None
    if not isinstance(table, dict):
        raise ConfigError(
            f"{path}: tool.mwaadeps must be a table, not {_describe(table)}.",
            hint="Add a [tool.mwaadeps] section, or use a mwaadeps.toml file.",
        )
    return table


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc}).", hint="Fix the file.") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{path}: not a UTF-8 text file (byte 0x{exc.object[exc.start]:02x} at offset "
            f"{exc.start}).",
            hint="A config file is TOML text saved as UTF-8; point --config at the right file "
            "or rewrite it (`mwaadeps init --force`).",
        ) from None
    except OSError as exc:
        raise ConfigError(
            f"Cannot read {path}: {exc.strerror}.", hint="Check the file and its permissions."
        ) from None


def _describe(value: Any) -> str:
    """A TOML value as the user wrote it, for messages."""
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a table"
    if value is None:
        return "nothing"
    return repr(value)


# Keys whose value is a string, with an example for the hint.
_STRING_KEYS = {
    "airflow-version": "2.10.3",
    "python-version": "3.11",
    "requirements": "requirements.txt",
    "plugins": "plugins",
    "startup-script": "startup.sh",
    "dags": "dags",
    "constraints": "constraints.txt",
    "out": "dist",
    "lock-file": "mwaadeps.lock",
    "mode": "bundle",
    "resolver": "uv",
    "cache-dir": ".cache/mwaadeps",
    "runner-image": "mwaadeps-runner:2.10.3",
}


def _check_types(raw: Mapping[str, Any], where: str) -> None:
    """Each top-level value has its type (a TOML number where a string belongs, ...)."""
    for key, example in _STRING_KEYS.items():
        value = raw.get(key)
        if value is not None and not isinstance(value, str):
            lost = (
                " (a TOML number loses digits: 2.10 reads as 2.1)"
                if isinstance(value, float)
                else ""
            )
            raise ConfigError(
                f"{where}: {key} must be a string, not {_describe(value)}.",
                hint=f'Put it in quotes, e.g. {key} = "{example}"{lost}.',
            )
    full = raw.get("full")
    if full is not None and not isinstance(full, bool):
        raise ConfigError(
            f"{where}: full must be true or false, not {_describe(full)}.",
            hint="Write full = true or full = false (without quotes).",
        )
    local = raw.get("local-packages")
    if local is not None and (
        not isinstance(local, list) or not all(isinstance(p, str) for p in local)
    ):
        shown = f'["{local}"]' if isinstance(local, str) else '["libs/my-package"]'
        raise ConfigError(
            f"{where}: local-packages must be a list of folders, not {_describe(local)}.",
            hint=f"Write local-packages = {shown}.",
        )
    index = raw.get("index")
    if index is not None and not isinstance(index, str | dict):
        raise ConfigError(
            f"{where}: index must be a table (or a URL string), not {_describe(index)}.",
            hint='Write an [index] table with url = "https://..." (see `mwaadeps init`).',
        )
    envs = raw.get("environments")
    if envs is not None and not isinstance(envs, dict):
        raise ConfigError(
            f"{where}: environments must be a table of tables, not {_describe(envs)}.",
            hint="Write one [environments.<key>] table per environment, e.g. [environments.dev].",
        )


def _str(value: Any, key: str, where: str) -> str:
    if not isinstance(value, str):
        raise ConfigError(
            f"{where}: {key} must be a string, not {_describe(value)}.",
            hint=f'Put it in quotes, e.g. {key} = "..."',
        )
    return value


def _environments(raw: Any, where: str, base: Path) -> dict[str, EnvironmentConfig]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ConfigError(
            f"{where}: environments must be a table of tables, not {_describe(raw)}.",
            hint="Write one [environments.<key>] table per environment.",
        )
    out: dict[str, EnvironmentConfig] = {}
    for key, table in raw.items():
        here = f"{where} [environments.{key}]"
        if not isinstance(table, dict):
            raise ConfigError(
                f"{where}: environments.{key} must be a table, not {_describe(table)}.",
                hint=f'Write it as a table: [environments.{key}] with name = "...", '
                'bucket = "..." and region = "..." below it.',
            )
        _unknown(set(table), _ENV_KEYS, here)
        for required in ("name", "bucket"):
            if not table.get(required):
                raise ConfigError(f"{here} has no {required}.", hint=f'Add {required} = "..."')
        values: dict[str, Any] = {k.replace("-", "_"): _str(v, k, here) for k, v in table.items()}
        if "worker_replacement" in values:
            values["worker_replacement"] = parse_choice(
                WorkerReplacement, values["worker_replacement"], "worker-replacement", here
            )
        installed = values.pop("installed", None)
        out[key] = EnvironmentConfig(
            key=key,
            installed=(base / Path(installed).expanduser()).resolve() if installed else None,
            **values,
        )
    return out


def _index(raw: Any, where: str) -> IndexConfig | None:
    if raw is None:
        return None
    if isinstance(raw, str):
        raw = {"url": raw}
    if not isinstance(raw, dict) or not raw.get("url"):
        raise ConfigError(f"{where}: [index] needs a url.", hint='Add url = "https://.../simple".')
    here = f"{where} [index]"
    _unknown(set(raw), _INDEX_KEYS, here)
    extra = raw.get("extra-urls", [])
    if not isinstance(extra, list):
        raise ConfigError(
            f"{here}: extra-urls must be a list of strings, not {_describe(extra)}.",
            hint='Write extra-urls = ["https://.../simple"].',
        )
    names = {k: raw.get(k) for k in ("username-env", "password-env")}
    for key, value in names.items():
        if value is not None:
            _str(value, key, here)
    return IndexConfig(
        url=_str(raw["url"], "url", here),
        extra_urls=tuple(_str(u, "extra-urls", here) for u in extra),
        username_env=names["username-env"],
        password_env=names["password-env"],
    )


def _build_table(raw: Any, where: str) -> str | None:
    """[build]: env = "KEY" (lock against that environment's discovered base install)."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise ConfigError(
            f"{where}: build must be a table, not {_describe(raw)}.",
            hint='Write a [build] table, e.g. env = "dev".',
        )
    _unknown(set(raw), _BUILD_KEYS, f"{where} [build]")
    value = raw.get("env")
    return None if value in (None, "") else _str(value, "env", f"{where} [build]")


def _audit(raw: Any, where: str) -> tuple[tuple[tuple[str, str], ...], FailOn | None]:
    """[audit]: ignore = [{id, reason}] (a reason is required) and fail-on."""
    if raw is None:
        return (), None
    here = f"{where} [audit]"
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: audit must be a table, not {_describe(raw)}.")
    _unknown(set(raw), _AUDIT_KEYS, here)
    entries = raw.get("ignore", [])
    example = 'ignore = [{ id = "GHSA-xxxx-xxxx-xxxx", reason = "not reachable from our DAGs" }]'
    if not isinstance(entries, list):
        raise ConfigError(f"{here}: ignore must be a list of tables.", hint=f"Write {example}.")
    ignore = []
    for n, entry in enumerate(entries, 1):
        if not isinstance(entry, dict) or not str(entry.get("reason") or "").strip():
            raise ConfigError(
                f"{here}: ignore entry {n} needs an id and a reason.", hint=f"Write {example}."
            )
        _unknown(set(entry), {"id", "reason"}, f"{here} ignore entry {n}")
        ignore.append((_str(entry.get("id"), "id", here), str(entry["reason"]).strip()))
    fail_on = raw.get("fail-on")
    if fail_on is None:
        return tuple(ignore), None
    return tuple(ignore), parse_choice(FailOn, _str(fail_on, "fail-on", here), "fail-on", here)


def load_settings(
    cli: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    config_path: Path | None = None,
) -> Settings:
    """Resolve settings: CLI values (None = not given) > MWAADEPS_* env vars > file > defaults."""
    cli = {k: v for k, v in (cli or {}).items() if v is not None}
    env = dict(os.environ if env is None else env)
    cwd = (cwd or Path.cwd()).resolve()
    config_path = config_path or (
        Path(env["MWAADEPS_CONFIG"]) if env.get("MWAADEPS_CONFIG") else None
    )
    if config_path is not None:
        config_path = (cwd / config_path).resolve()
        if not config_path.is_file():
            what = "is a folder, not a file" if config_path.is_dir() else "does not exist"
            raise ConfigError(
                f"Config file {config_path} {what}.",
                hint="Pass --config (or MWAADEPS_CONFIG) a mwaadeps.toml file, or leave it out "
                "to use the nearest mwaadeps.toml.",
            )
        raw = _read_toml(config_path)
        if config_path.name == "pyproject.toml":
            raw = _tool_table(config_path, raw, required=True) or {}
        found: Path | None = config_path
    else:
        found, raw = find_config(cwd)
    where = str(found) if found else "defaults"
    _unknown(set(raw), _TOP_KEYS, where)
    _check_types(raw, where)
    base = found.parent if found else cwd

    def pick(key: str) -> tuple[Any, Path]:
        """Value and the folder relative paths count from."""
        attr = key.replace("-", "_")
        if attr in cli:
            return cli[attr], cwd
        env_name = "MWAADEPS_" + attr.upper()
        if env.get(env_name):
            return env[env_name], cwd
        return raw.get(key), base

    def path(key: str, default: str | None, must_exist_default: bool = True) -> Path | None:
        value, rel = pick(key)
        if value in (None, ""):
            if default is None:
                return None
            candidate = base / default
            return candidate if (candidate.exists() or not must_exist_default) else None
        return (rel / Path(str(value)).expanduser()).resolve()

    def text(key: str) -> str | None:
        value, _ = pick(key)
        return None if value in (None, "") else str(value)

    def flag(key: str) -> bool:
        value, _ = pick(key)
        if isinstance(value, str):  # from an environment variable
            if value.lower() in ("1", "true", "yes", "on"):
                return True
            if value.lower() in ("0", "false", "no", "off", ""):
                return False
            name = "MWAADEPS_" + key.replace("-", "_").upper()
            raise ConfigError(
                f"{name} must be true or false, not {value!r}.",
                hint=f"export {name}=1 (or 0).",
            )
        return bool(value)

    def choice(key: str, choices: type[E], default: E) -> E:
        """The value as a member of ``choices``; an error names where it was set."""
        value, _ = pick(key)
        if value in (None, ""):
            return default
        attr = key.replace("-", "_")
        source = (
            f"--{key}"
            if attr in cli
            else ("MWAADEPS_" + attr.upper() if env.get("MWAADEPS_" + attr.upper()) else where)
        )
        return parse_choice(choices, str(value), key, source)

    constraints, crel = pick("constraints")
    if constraints and "://" not in str(constraints):
        constraints = str((crel / Path(str(constraints)).expanduser()).resolve())
    local_raw, lrel = pick("local-packages")
    if isinstance(local_raw, str):
        local_raw = [p for p in local_raw.split(os.pathsep) if p]
    local = tuple((lrel / Path(str(p))).resolve() for p in (local_raw or []))
    index = _index(raw.get("index"), where)
    if env.get("MWAADEPS_INDEX_URL") or cli.get("index_url"):
        index = IndexConfig(
            url=cli.get("index_url") or env["MWAADEPS_INDEX_URL"],
            username_env=index.username_env if index else None,
            password_env=index.password_env if index else None,
            key="--index-url" if cli.get("index_url") else "MWAADEPS_INDEX_URL",
        )
    cache = cli.get("cache_dir") or (
        (base / raw["cache-dir"])
        if raw.get("cache-dir") and not env.get("MWAADEPS_CACHE_DIR")
        else default_cache_dir(env)
    )
    audit_ignore, audit_fail_on = _audit(raw.get("audit"), where)
    file_base_env = _build_table(raw.get("build"), where)
    base_env = cli.get("base_env") or env.get("MWAADEPS_BASE_ENV") or file_base_env
    requirements = path("requirements", "requirements.txt", must_exist_default=False)
    assert requirements is not None
    out_dir = path("out", "dist", must_exist_default=False)
    assert out_dir is not None
    lock_file = path("lock-file", "mwaadeps.lock", must_exist_default=False)
    assert lock_file is not None
    return Settings(
        project_dir=base,
        config_file=found,
        airflow_version=text("airflow-version"),
        python_version=text("python-version"),
        requirements=requirements,
        plugins=path("plugins", "plugins"),
        startup_script=path("startup-script", "startup.sh"),
        dags=path("dags", "dags"),
        constraints=str(constraints) if constraints else None,
        index=index,
        local_packages=local,
        out_dir=out_dir,
        lock_file=lock_file,
        full=flag("full"),
        mode=choice("mode", BuildMode, BuildMode.BUNDLE),
        resolver=choice("resolver", ResolverName, ResolverName.UV),
        cache_dir=Path(cache).resolve(),
        runner_image=text("runner-image"),
        environments=_environments(raw.get("environments"), where, base),
        audit_ignore=audit_ignore,
        audit_fail_on=audit_fail_on,
        base_env=base_env or None,
        env=env,
    )
