"""`mwaadeps init`: write a commented mwaadeps.toml."""

from __future__ import annotations

from pathlib import Path

from mwaadeps.errors import ConfigError
from mwaadeps.targets import KNOWN_VERSIONS, resolve_target

TEMPLATE = """\
# mwaadeps configuration. Every setting can also be given as a CLI option or as an
# environment variable MWAADEPS_<SETTING> (e.g. MWAADEPS_AIRFLOW_VERSION); the CLI wins,
# then the environment, then this file.

# The MWAA Airflow version the bundle is for (its Python and platform follow).
airflow-version = "{airflow}"
# python-version = "3.12"      # only for a version mwaadeps does not know yet

requirements = "requirements.txt"
{paths}
# Airflow constraints: by default the Apache file for this version and Python, shipped
# with mwaadeps (no network needed); set a file or URL (e.g. a Nexus raw proxy) to override.
# constraints = "https://nexus.example.com/repository/raw-airflow/constraints-{airflow}.txt"

# Folders of your own pure-Python packages, built into wheels and bundled.
# local-packages = ["packages/my-common"]

# out = "dist"
# full = false                  # true: bundle every package, also those MWAA has
# mode = "bundle"               # "index": install from [index] instead of bundled wheels

# A private index (e.g. Nexus). Credentials come from environment variables only.
# [index]
# url = "https://nexus.example.com/repository/pypi-all/simple"
# username-env = "NEXUS_USER"
# password-env = "NEXUS_PASSWORD"

[environments.dev]
name = "{env}"                   # the MWAA environment
region = "{region}"
bucket = "{bucket}"              # versioned, public access blocked
# profile = "my-profile"
# kms-key = "arn:aws:kms:{region}:123456789012:key/..."
# requirements-key = "requirements.txt"
# plugins-key = "plugins.zip"
# startup-key = "startup.sh"
# worker-replacement = "graceful"
"""


# (key, default path, what it is for): written active only when the path exists, so the
# config builds as written.
_PATHS = (
    ("plugins", "plugins", "bundled recursively into plugins.zip"),
    ("startup-script", "startup.sh", "shipped as the environment's startup script"),
    ("dags", "dags", "imported by `mwaadeps test-local`"),
)


def _path_lines(folder: Path) -> str:
    lines = []
    for key, default, purpose in _PATHS:
        setting = f'{key} = "{default}"'
        if (folder / default).exists():
            lines.append(f"{setting:<32} # {purpose}")
        else:
            lines.append(f"# {setting:<30} # {purpose} (not found here)")
    return "\n".join(lines) + "\n"


def write_config(
    path: Path,
    *,
    airflow_version: str | None = None,
    environment: str | None = None,
    bucket: str | None = None,
    region: str | None = None,
    force: bool = False,
) -> Path:
    """Write the template; refuse to overwrite without force."""
    if path.exists() and not force:
        raise ConfigError(f"{path} already exists.", hint="Pass --force to overwrite it.")
    newest = next(v.airflow for v in KNOWN_VERSIONS if not v.deprecated)
    airflow = airflow_version or newest
    resolve_target(airflow)  # a typo fails here, with "did you mean"
    text = TEMPLATE.format(
        paths=_path_lines(path.parent),
        airflow=airflow,
        env=environment or "my-mwaa-dev",
        bucket=bucket or "my-airflow-bucket",
        region=region or "eu-west-1",
    )
    path.write_text(text, encoding="utf-8")
    return path
