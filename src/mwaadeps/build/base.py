"""MWAA's base install for a target: resolved once and cached, or the shipped snapshot."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.utils import canonicalize_name

from mwaadeps.atomic import atomic_write
from mwaadeps.build.constraints import Constraints
from mwaadeps.build.resolvers import RESOLVERS
from mwaadeps.build.resolvers.interface import Resolved, ResolveJob
from mwaadeps.config import Settings
from mwaadeps.digest import sha256_file
from mwaadeps.errors import ConfigError
from mwaadeps.progress import NullReporter, Reporter
from mwaadeps.redact import redact_url
from mwaadeps.targets import PROVIDED_BY_IMAGE, Target

if TYPE_CHECKING:
    from mwaadeps.build.lock import LockInputs


def resolve_job(
    settings: Settings,
    target: Target,
    constraints: Constraints,
    inputs: LockInputs | None,
    roots: dict[str, list[str]],
) -> ResolveJob:
    """The resolver job for `roots` on the target, under the constraints and essential pins."""
    extra = inputs.extra_constraints if inputs else ""
    return ResolveJob(
        target=target,
        roots=roots,
        constraints_text=constraints.resolver_text() + extra,
        essential_text=constraints.essential_text(),
        excludes=PROVIDED_BY_IMAGE,
        index_urls=inputs.index_urls
        if inputs
        else tuple(settings.index.resolved_urls(settings.env) if settings.index else ()),
        find_links=inputs.find_links if inputs else (),
        cache_dir=settings.cache_dir / "uv",
        secrets=settings.secrets(),
    )


def resolve_base(
    settings: Settings,
    constraints: Constraints,
    reporter: Reporter | None = None,
    *,
    prefer_cache: bool = False,
) -> dict[str, Resolved]:
    """What MWAA's image installs for the target (cached per target and constraints).

    prefer_cache: uv answers from its cache when it can (right after a resolution that
    included the base install, it holds every page and metadata file this one needs).
    """
    reporter = reporter or NullReporter()
    target = settings.target
    key_src = json.dumps(
        [
            target.to_dict(),
            constraints.sha256,
            target.base_requirements(),
            [
                redact_url(u)
                for u in (settings.index.resolved_urls(settings.env) if settings.index else [])
            ],
        ],
        sort_keys=True,
    )
    key = hashlib.sha256(key_src.encode()).hexdigest()[:32]
    cache = settings.cache_dir / "base" / f"{key}.json"
    cached = _read_base_cache(cache)
    if cached is not None:
        return cached
    reporter.step(f"Resolving MWAA {target.airflow_version}'s base install")
    resolver = RESOLVERS["uv"]()
    job = resolve_job(settings, target, constraints, None, {"base": target.base_requirements()})
    resolved = resolver.resolve(dataclasses.replace(job, prefer_cache=prefer_cache))
    text = json.dumps(
        {
            n: {
                "version": r.version,
                "wheels": [w.to_dict() for w in r.wheels],
                "sdist": r.sdist.to_dict() if r.sdist else None,
            }
            for n, r in sorted(resolved.items())
        },
        indent=1,
    )
    atomic_write(cache, text.encode("utf-8"), 0o644)
    return resolved


def _read_base_cache(path: Path) -> dict[str, Resolved] | None:
    """The cached base resolution, or None when absent or unreadable (a miss)."""
    from mwaadeps.build.lockfile import Artifact

    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        out = {
            n: Resolved(
                n,
                str(r["version"]),
                tuple(Artifact.from_dict(w) for w in r["wheels"]),
                Artifact.from_dict(r["sdist"]) if r.get("sdist") else None,
            )
            for n, r in raw.items()
        }
    except FileNotFoundError:
        return None
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        # Truncated or damaged (a kill mid-write by an older mwaadeps): resolve again.
        path.unlink(missing_ok=True)
        return None
    return out if out else None


def base_snapshot(target: Target, constraints: Constraints) -> dict[str, str] | None:
    """MWAA's base install as mwaadeps resolved it for a known version (shipped data).

    Used only when made from the very same constraints file and Python; else None.
    """
    data = resources.files("mwaadeps").joinpath("data", "base", f"{target.airflow_version}.json")
    if not data.is_file():
        return None
    raw = json.loads(data.read_text(encoding="utf-8"))
    if (
        raw.get("constraints_sha256") != constraints.sha256
        or raw.get("python_full") != target.python_full
        or raw.get("base_requirements") != target.base_requirements()
    ):
        return None
    return {canonicalize_name(n): str(v) for n, v in raw["packages"].items()}


# -- the per-environment override (`mwaadeps discover --write`) ------------------------------

OVERRIDE_PREFIX = "# mwaadeps discover: "
_OVERRIDE_HEADER = re.compile(
    r"^# mwaadeps discover: environment (?P<name>.+), Airflow (?P<airflow>\S+), "
    r"Python (?P<python>\S+), (?P<when>\S+)\s*$"
)


@dataclass(frozen=True)
class BaseOverride:
    """An environment's base install as `mwaadeps discover` found it (mwaadeps-installed-*.txt)."""

    key: str
    path: Path
    sha256: str
    environment: str
    airflow_version: str
    python_version: str
    discovered_at: str
    packages: Mapping[str, str]

    def source(self) -> dict[str, str]:
        """What the lock records about the base it used."""
        return {"env": self.key, "file": self.path.name, "sha256": self.sha256}


def override_name(key: str) -> str:
    """The override file's name for [environments.<key>]."""
    return f"mwaadeps-installed-{key}.txt"


def format_override(
    environment: str, airflow: str, python: str, when: str, packages: Mapping[str, str]
) -> str:
    """The override file's text: the header line, then sorted name==version lines."""
    lines = [
        f"{OVERRIDE_PREFIX}environment {environment}, Airflow {airflow}, Python {python}, {when}"
    ]
    canonical = {canonicalize_name(n): v for n, v in packages.items()}
    lines += [f"{n}=={v}" for n, v in sorted(canonical.items())]
    return "\n".join(lines) + "\n"


def read_override(path: Path, key: str) -> BaseOverride:
    """Parse an override file; a damaged one is a ConfigError naming the file and line."""
    from mwaadeps.requirements.parser import parse_requirements

    rerun = f"Run `mwaadeps discover --env {key} --write` to write it again."
    if not path.is_file():
        raise ConfigError(f"{path} (installed of [environments.{key}]) does not exist.", hint=rerun)
    first = path.read_text(encoding="utf-8").partition("\n")[0]
    header = _OVERRIDE_HEADER.match(first)
    if header is None:
        raise ConfigError(
            f"{path}:1 is not a `mwaadeps discover` header "
            "(# mwaadeps discover: environment NAME, Airflow V, Python V, TIME).",
            hint=rerun,
        )
    parsed = parse_requirements(path)
    problems = [p for p in parsed.problems if p.severity == "error"]
    if problems:
        raise ConfigError(f"{problems[0].origin or path}: {problems[0].message}", hint=rerun)
    packages: dict[str, str] = {}
    for req in parsed.requirements:
        specs = list(req.requirement.specifier)
        if len(specs) != 1 or specs[0].operator != "==" or req.requirement.marker:
            raise ConfigError(
                f"{req.origin}: {req.text!r} is not a name==version line.", hint=rerun
            )
        packages[req.name] = specs[0].version
    if not packages:  # a discovery lists hundreds: only the header is left
        raise ConfigError(
            f"{path} lists no package after its header: it is not a whole `mwaadeps discover` "
            "snapshot (emptied or cut short?), and an empty base install would be trusted.",
            hint=rerun,
        )
    return BaseOverride(
        key,
        path,
        sha256_file(path),
        header["name"],
        header["airflow"],
        header["python"],
        header["when"],
        packages,
    )


def base_override(settings: Settings) -> BaseOverride | None:
    """The override of settings.base_env (--env / [build] env), checked against the target;
    None without one."""
    if not settings.base_env:
        return None
    config = settings.environment(settings.base_env)
    key = config.key
    if config.installed is None:
        raise ConfigError(
            f"[environments.{key}] has no installed file, so --env {key} has no discovered "
            "base install to lock against.",
            hint=f"Run `mwaadeps discover --env {key} --write` (it writes "
            f"{override_name(key)} and sets installed), or drop --env / [build] env.",
        )
    found = read_override(config.installed, key)
    target = settings.target
    same_python = found.python_version.split(".")[:2] == target.python_version.split(".")
    if found.airflow_version != target.airflow_version or not same_python:
        raise ConfigError(
            f"{found.path} was discovered on Airflow {found.airflow_version} (Python "
            f"{found.python_version}), but the target is MWAA {target.airflow_version} "
            f"(Python {target.python_version}): it does not describe that base install.",
            hint=f"Run `mwaadeps discover --env {key} --write` once {config.name} runs "
            f"{target.airflow_version}, or drop --env / [build] env.",
        )
    return found


def base_versions(
    settings: Settings, constraints: Constraints, reporter: Reporter | None = None
) -> dict[str, str]:
    """What MWAA's image has installed: name -> version (the environment's discovered
    override with --env, else the shipped snapshot, else resolved)."""
    override = base_override(settings)
    if override is not None:
        return dict(override.packages)
    snapshot = base_snapshot(settings.target, constraints)
    if snapshot is not None:
        return snapshot
    return {n: r.version for n, r in resolve_base(settings, constraints, reporter).items()}
