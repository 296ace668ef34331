"""The MWAA versions mwaadeps knows: their Python, OS, glibc ceiling and wheel tags."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from functools import cached_property

from packaging import tags
from packaging.version import InvalidVersion, Version

from mwaadeps.errors import TargetError

ARCH = "x86_64"
AL2023_GLIBC = (2, 34)
AL2_GLIBC = (2, 26)


@dataclass(frozen=True)
class KnownVersion:
    """One row of the MWAA version table."""

    airflow: str
    python_full: str
    os_name: str
    glibc: tuple[int, int]
    deprecated: bool = False


# From the MWAA user guide and AWS's image code (see docs/targets.md).
KNOWN_VERSIONS: tuple[KnownVersion, ...] = (
    KnownVersion("3.3.1", "3.12.13", "Amazon Linux 2023", AL2023_GLIBC),
    KnownVersion("3.2.1", "3.12.13", "Amazon Linux 2023", AL2023_GLIBC),
    KnownVersion("3.0.6", "3.12.10", "Amazon Linux 2023", AL2023_GLIBC),
    KnownVersion("2.11.2", "3.12.10", "Amazon Linux 2023", AL2023_GLIBC),
    KnownVersion("2.11.0", "3.12.10", "Amazon Linux 2023", AL2023_GLIBC),
    KnownVersion("2.10.3", "3.11.9", "Amazon Linux 2023", AL2023_GLIBC),
    KnownVersion("2.10.1", "3.11.9", "Amazon Linux 2023", AL2023_GLIBC),
    KnownVersion("2.9.2", "3.11.9", "Amazon Linux 2023", AL2023_GLIBC),
    KnownVersion("2.8.1", "3.11.7", "Amazon Linux 2023", AL2023_GLIBC),
    KnownVersion("2.7.2", "3.11.6", "Amazon Linux 2023", AL2023_GLIBC),
    KnownVersion("2.6.3", "3.10.13", "Amazon Linux 2", AL2_GLIBC, deprecated=True),
    KnownVersion("2.5.1", "3.10.13", "Amazon Linux 2", AL2_GLIBC, deprecated=True),
    KnownVersion("2.4.3", "3.10.13", "Amazon Linux 2", AL2_GLIBC, deprecated=True),
)

# Pins MWAA adds to its essential (non-overridable) constraints beyond the Airflow
# constraints file, per Airflow version prefix ("" matches every version).
_MWAA_OWN_PINS: dict[str, dict[str, str]] = {
    "": {"fluent-logger": "0.11.1"},
    "3.0.": {"flask-bcrypt": "1.0.1", "flask-caching": "2.3.0"},
    "3.1.": {"flask-bcrypt": "1.0.1", "flask-caching": "2.3.0"},
    "3.2.": {"flask-bcrypt": "1.0.1", "flask-caching": "2.3.0"},
}

# Essential names MWAA leaves out of its pins for some versions.
_MWAA_UNPINNED: dict[str, tuple[str, ...]] = {"2.11.": ("kombu",)}

# Names (normalised) whose Airflow-constraints pin MWAA makes non-overridable.
_ESSENTIAL_EXACT = {
    "flask",
    "gunicorn",
    "billiard",
    "celery",
    "gevent",
    "greenlet",
    "kombu",
    "vine",
    "sqlalchemy",
    "sqlalchemy-utils",
    "sqlalchemy-jsonfield",
    "statsd",
    "watchtower",
    "fluent-logger",
}

# What the MWAA image preinstalls (image code, 001-install-required-pip-packages.sh).
_BASE_COMMON = (
    "apache-airflow-providers-amazon[aiobotocore]",
    "apache-airflow-providers-postgres",
    "celery[sqs]",
    "boto3-stubs[logs]",
    "boto3-stubs[sqs]",
    "watchtower",
    "fluent-logger",
    "virtualenv",
)
_BASE_V3 = ("apache-airflow-providers-fab", "apache-airflow-providers-standard")
# Sdist-only packages the image compiles itself: provided, never resolved or bundled.
PROVIDED_BY_IMAGE = ("psycopg2", "pycurl")


def is_essential_name(name: str) -> bool:
    """True when MWAA never lets a requirement override this package's pin."""
    return name == "apache-airflow" or name in _ESSENTIAL_EXACT or name.startswith("flask-")


def _version(text: str, what: str) -> Version:
    try:
        return Version(text)
    except InvalidVersion:
        raise TargetError(f"{what} {text!r} is not a version number.") from None


@dataclass(frozen=True)
class Target:
    """What MWAA runs for one Airflow version: the platform wheels must install on."""

    airflow_version: str
    python_full: str
    os_name: str
    glibc: tuple[int, int]
    known: bool
    deprecated: bool = False

    @property
    def python_version(self) -> str:
        """Major.minor, as in constraints-3.11.txt."""
        major, minor = self.python_full.split(".")[:2]
        return f"{major}.{minor}"

    @property
    def abi(self) -> str:
        return "cp" + self.python_version.replace(".", "")

    @property
    def uv_platform(self) -> str:
        """The --python-platform value uv resolves for."""
        return f"{ARCH}-manylinux_{self.glibc[0]}_{self.glibc[1]}"

    @property
    def platform_tags(self) -> list[str]:
        """Linux platform tags the target's pip accepts, most specific first."""
        major, ceiling = self.glibc
        plats = [f"manylinux_{major}_{m}_{ARCH}" for m in range(ceiling, 4, -1)]
        legacy = {17: "manylinux2014", 12: "manylinux2010", 5: "manylinux1"}
        out: list[str] = []
        for plat in plats:
            out.append(plat)
            minor = int(plat.split("_")[2])
            if minor in legacy:
                out.append(f"{legacy[minor]}_{ARCH}")
        return out

    @cached_property
    def supported_tags(self) -> frozenset[tags.Tag]:
        """Every wheel tag the target can install."""
        py = tuple(int(p) for p in self.python_version.split("."))
        found = set(tags.cpython_tags(py, abis=[self.abi], platforms=self.platform_tags))
        found |= set(tags.compatible_tags(py, interpreter=self.abi, platforms=self.platform_tags))
        return frozenset(found)

    def accepts(self, wheel_tags: frozenset[tags.Tag]) -> bool:
        """True when one of a wheel's tags installs on the target."""
        return not wheel_tags.isdisjoint(self.supported_tags)

    @property
    def constraints_url(self) -> str:
        return (
            "https://raw.githubusercontent.com/apache/airflow/"
            f"constraints-{self.airflow_version}/constraints-{self.python_version}.txt"
        )

    @property
    def is_airflow3(self) -> bool:
        return Version(self.airflow_version).major >= 3

    def base_requirements(self) -> list[str]:
        """What the MWAA image installs before the user's requirements (no sdist-only ones)."""
        base = [f"apache-airflow[celery,statsd]=={self.airflow_version}", *_BASE_COMMON]
        if self.is_airflow3:
            base.extend(_BASE_V3)
        return base

    def mwaa_own_pins(self) -> dict[str, str]:
        pins: dict[str, str] = {}
        for prefix, extra in _MWAA_OWN_PINS.items():
            if self.airflow_version.startswith(prefix):
                pins.update(extra)
        return pins

    def marker_env(self) -> dict[str, str]:
        """PEP 508 marker values on the target (Linux x86_64, CPython)."""
        return {
            "python_version": self.python_version,
            "python_full_version": self.python_full,
            "sys_platform": "linux",
            "platform_system": "Linux",
            "platform_machine": ARCH,
            "os_name": "posix",
            "implementation_name": "cpython",
            "platform_python_implementation": "CPython",
        }

    def mwaa_unpinned(self) -> set[str]:
        return {
            name
            for prefix, names in _MWAA_UNPINNED.items()
            if self.airflow_version.startswith(prefix)
            for name in names
        }

    def to_dict(self) -> dict[str, object]:
        return {
            "airflow_version": self.airflow_version,
            "python_version": self.python_version,
            "python_full": self.python_full,
            "platform": f"manylinux_{self.glibc[0]}_{self.glibc[1]}_{ARCH}",
            "os": self.os_name,
            "abi": self.abi,
            "known": self.known,
        }


MIN_PYTHON_MINOR = 8


def mwaa_pythons() -> list[str]:
    """The Python minor versions MWAA's own versions run, oldest first."""
    minors = {tuple(int(p) for p in r.python_full.split(".")[:2]) for r in KNOWN_VERSIONS}
    return [f"{a}.{b}" for a, b in sorted(minors)]


def check_python_version(text: str) -> str:
    """A target Python as 3.X or 3.X.Y with X >= 8; else a TargetError saying what is valid."""
    value = text.strip()
    match = re.fullmatch(r"3\.(\d{1,2})(\.\d{1,2})?", value)
    if match is None or int(match.group(1)) < MIN_PYTHON_MINOR:
        known = ", ".join(mwaa_pythons())
        raise TargetError(
            f"Python version {value!r} is not a valid target Python: valid are "
            f"3.{MIN_PYTHON_MINOR} and newer, written 3.X or 3.X.Y (MWAA runs {known}).",
            hint=f"Give e.g. --python-version {mwaa_pythons()[-1]} (or python-version in "
            "mwaadeps.toml), or leave it out: mwaadeps knows the Python of each MWAA version.",
        )
    return value


def known_version(airflow: str) -> KnownVersion | None:
    for row in KNOWN_VERSIONS:
        if row.airflow == airflow:
            return row
    return None


def resolve_target(airflow_version: str | None, python_version: str | None = None) -> Target:
    """The target for an Airflow version; unknown versions need their Python version."""
    if not airflow_version:
        raise TargetError(
            "No Airflow version given.",
            hint="Pass --airflow-version (e.g. 2.9.2) or set airflow-version in mwaadeps.toml "
            "(`mwaadeps init` writes one).",
        )
    airflow_version = airflow_version.strip()
    _version(airflow_version, "Airflow version")
    if python_version is not None:
        python_version = check_python_version(python_version)
    row = known_version(airflow_version)
    if row is not None:
        full = row.python_full
        if python_version and full.split(".")[: python_version.count(".") + 1] != (
            python_version.split(".")
        ):
            raise TargetError(
                f"MWAA {airflow_version} runs Python {full}, not {python_version}.",
                hint="Leave --python-version out for a known MWAA version.",
            )
        return Target(airflow_version, full, row.os_name, row.glibc, True, row.deprecated)
    if python_version:
        full = python_version if python_version.count(".") == 2 else python_version + ".0"
        return Target(airflow_version, full, "Amazon Linux 2023 (assumed)", AL2023_GLIBC, False)
    close = difflib.get_close_matches(airflow_version, [r.airflow for r in KNOWN_VERSIONS], n=1)
    known = ", ".join(r.airflow for r in KNOWN_VERSIONS)
    hint = f"Did you mean {close[0]}? " if close else ""
    raise TargetError(
        f"MWAA version {airflow_version} is not in mwaadeps' table ({known}).",
        hint=hint + "For a newer MWAA version, also give its Python version "
        "(--python-version 3.12).",
    )
