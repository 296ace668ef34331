"""MWAA's base install for a target: resolved once and cached, or the shipped snapshot."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import tempfile
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.utils import canonicalize_name

from mwaadeps.build.constraints import Constraints
from mwaadeps.build.resolvers import RESOLVERS
from mwaadeps.build.resolvers.interface import Resolved, ResolveJob
from mwaadeps.config import Settings
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
    _atomic_write_text(cache, text)
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


def _atomic_write_text(path: Path, text: str) -> None:
    """Write a file in one rename: readers never see half of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


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


def base_versions(
    settings: Settings, constraints: Constraints, reporter: Reporter | None = None
) -> dict[str, str]:
    """What MWAA's image has installed: name -> version (shipped snapshot, else resolved)."""
    snapshot = base_snapshot(settings.target, constraints)
    if snapshot is not None:
        return snapshot
    return {n: r.version for n, r in resolve_base(settings, constraints, reporter).items()}
