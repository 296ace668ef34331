"""Run pip and uv free of the host's configuration.

A machine's pip.conf, PIP_* and UV_* variables (global constraints, find-links, extra
indexes) must never change a build: mwaadeps gives every child pip/uv process an
environment without them and points their config files at nothing.
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Mapping, Sequence

from mwaadeps.redact import strip_credentials

_DROP_PREFIXES = ("PIP_", "UV_", "PYTHONPATH", "VIRTUAL_ENV", "CONDA_PREFIX")


def clean_env(
    extra: Mapping[str, str] | None = None, base: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The environment for a child pip/uv: no PIP_*/UV_* settings, no config files."""
    source = os.environ if base is None else base
    env = {k: v for k, v in source.items() if not k.startswith(_DROP_PREFIXES)}
    env.update(
        {
            "PIP_CONFIG_FILE": os.devnull,
            "PIP_DISABLE_PIP_VERSION_CHECK": "1",
            "PIP_NO_INPUT": "1",
            "UV_NO_CONFIG": "1",
            "UV_NO_PROGRESS": "1",
            "UV_PYTHON_DOWNLOADS": "never",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
    )
    if extra:
        env.update(extra)
    return env


_UV_LOCK = threading.Lock()


@functools.cache
def _find_uv() -> str:
    from uv import find_uv_bin

    return str(find_uv_bin())


def uv_binary() -> str:
    """Path of the uv binary shipped by the `uv` wheel (a dependency of mwaadeps)."""
    with _UV_LOCK:  # find_uv_bin reads sysconfig, which is not thread-safe
        return _find_uv()


def index_args(urls: Sequence[str]) -> tuple[list[str], dict[str, str]]:
    """uv's options for the index URLs and the environment holding their credentials.

    Each index is named (mwaadeps0 is the default, the rest are extra indexes in order);
    a user:password in a URL goes to UV_INDEX_<NAME>_USERNAME/PASSWORD, never to argv,
    where any local user could read it.
    """
    args: list[str] = []
    env: dict[str, str] = {}
    for i, url in enumerate(urls):
        bare, creds = strip_credentials(url)
        name = f"mwaadeps{i}"
        args += ["--default-index" if i == 0 else "--index", f"{name}={bare}"]
        if creds is not None:
            env[f"UV_INDEX_{name.upper()}_USERNAME"] = creds[0]
            if creds[1]:
                env[f"UV_INDEX_{name.upper()}_PASSWORD"] = creds[1]
    return args, env


def pip_index_env(urls: Sequence[str]) -> dict[str, str]:
    """pip's index settings as environment variables (credentials stay out of argv)."""
    env: dict[str, str] = {}
    if urls:
        env["PIP_INDEX_URL"] = urls[0]
    if len(urls) > 1:
        env["PIP_EXTRA_INDEX_URL"] = " ".join(urls[1:])
    return env
