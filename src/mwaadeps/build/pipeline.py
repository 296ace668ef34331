"""`mwaadeps build`: lock when stale, fetch target wheels, write the bundle."""

from __future__ import annotations

import dataclasses
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mwaadeps.build.audit import fail_on_for, gate
from mwaadeps.build.base import resolve_base
from mwaadeps.build.constraints import Constraints, load_constraints
from mwaadeps.build.dist import (
    BundleSpec,
    check_out_dir,
    input_digest,
    protected_inputs,
    write_bundle,
)
from mwaadeps.build.lock import load_target_constraints, lock
from mwaadeps.build.lockfile import BUNDLE, FALLBACK, PROVIDED, LockedPackage
from mwaadeps.build.sbom import FILE_NAME as SBOM_NAME
from mwaadeps.build.sbom import sbom_bytes
from mwaadeps.build.wheels import FetchedWheel, check_user_hashes, fetch_all
from mwaadeps.config import Settings
from mwaadeps.errors import ConfigError, ResolutionError
from mwaadeps.progress import NullReporter, Reporter


@dataclass(frozen=True)
class BuildResult:
    """What a build wrote and how it went."""

    target: dict[str, Any]
    mode: str
    full: bool
    outputs: dict[str, dict[str, Any]]
    wheels: tuple[FetchedWheel, ...]
    pins: tuple[str, ...]
    lock_reused: bool
    downloaded_bytes: int
    seconds: float
    timings: dict[str, float] = field(default_factory=dict)
    audit: dict[str, Any] | None = None  # `build --audit`: the audit's report

    @property
    def compiled_on_mwaa(self) -> list[dict[str, Any]]:
        """The sdists bundled for MWAA to compile, with their build requirements."""
        return [w.compiled.to_dict() for w in self.wheels if w.compiled is not None]

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": True,
            "target": self.target,
            "mode": self.mode,
            "full": self.full,
            "outputs": self.outputs,
            "wheels": [w.to_dict() for w in self.wheels],
            "pins": list(self.pins),
            "compiled_on_mwaa": self.compiled_on_mwaa,
            "lock_reused": self.lock_reused,
            "downloaded_bytes": self.downloaded_bytes,
            "seconds": round(self.seconds, 3),
            "timings": {k: round(v, 3) for k, v in self.timings.items()},
            **({"audit": self.audit} if self.audit is not None else {}),
        }


def select(packages: Sequence[LockedPackage], full: bool) -> tuple[list[LockedPackage], list[str]]:
    """(packages whose wheels go in the bundle, pins for requirements.txt)."""
    if full:
        chosen = [p for p in packages]
        return chosen, [p.pin for p in chosen]
    bundled = [p for p in packages if p.role in (BUNDLE, FALLBACK)]
    return bundled, [p.pin for p in packages if p.role == BUNDLE]


def with_base_artifacts(
    settings: Settings,
    constraints: Constraints,
    packages: Sequence[LockedPackage],
    reporter: Reporter,
) -> list[LockedPackage]:
    """Fill in the wheels of base packages the lock records by version only (for --full)."""
    base = resolve_base(settings, constraints, reporter)
    out = []
    for pkg in packages:
        if pkg.wheel is None and pkg.sdist is None:
            found = base.get(pkg.name)
            if found is None or found.version != pkg.version:
                raise ResolutionError(
                    f"{pkg.name} {pkg.version} of MWAA's base install resolves differently now "
                    f"({found.version if found else 'absent'}).",
                    hint="Run `mwaadeps lock` again.",
                )
            wheels = sorted(found.wheels, key=lambda w: (len(w.filename), w.filename))
            pkg = dataclasses.replace(
                pkg, wheel=wheels[0] if wheels else None, sdist=None if wheels else found.sdist
            )
        out.append(pkg)
    return out


def build(settings: Settings, reporter: Reporter | None = None, audit: bool = False) -> BuildResult:
    """Build dist/ for settings.target; a warm rebuild with unchanged inputs stays offline.

    With ``audit``, a locked package with a known vulnerability (see audit.gate) stops the
    build before dist/ is touched.
    """
    reporter = reporter or NullReporter()
    started = time.monotonic()
    timings: dict[str, float] = {}
    target = settings.target
    if settings.mode == "index" and settings.index is None:
        raise ConfigError(
            "--mode index needs a private index.",
            hint="Set [index] url (and username-env/password-env) in mwaadeps.toml.",
        )
    if settings.mode == "index" and settings.index is not None:
        settings.index.placeholder_urls()  # refuses literal credentials before any work
    check_out_dir(settings.out_dir, protected_inputs(settings))
    locked = lock(settings, reporter, force=False)
    user_hashes = locked.inputs.hashes if locked.inputs else {}
    timings["lock"] = time.monotonic() - started
    constraints = load_target_constraints(settings, NullReporter())
    audited = gate(settings, locked.lock, constraints, reporter) if audit else None
    packages, pins = select(locked.lock.packages, settings.full)
    if any(p.wheel is None and p.sdist is None for p in packages):
        packages = with_base_artifacts(settings, constraints, packages, reporter)
    wheels: list[FetchedWheel] = []
    downloaded = 0
    t0 = time.monotonic()
    if settings.mode == "bundle":
        index_urls = (
            list(locked.inputs.index_urls)
            if locked.inputs
            else (settings.index.resolved_urls(settings.env) if settings.index else [])
        )
        wheels, downloaded = fetch_all(
            packages, target, settings.cache_dir, index_urls, reporter,
            user_hashes=user_hashes, env=dict(settings.env), secrets=settings.secrets(),
        )  # fmt: skip
    else:
        for pkg in packages:  # index mode downloads nothing: check the lock's hashes
            artifact = pkg.wheel or pkg.sdist
            if artifact is not None:
                check_user_hashes(user_hashes, pkg.name, artifact.filename, artifact.sha256)
    timings["fetch"] = time.monotonic() - t0
    t0 = time.monotonic()
    reporter.step(f"Writing {settings.out_dir}")
    inputs = {
        "requirements.txt": input_digest(settings.requirements),
        "mwaadeps.lock": input_digest(settings.lock_file),
        "plugins": input_digest(settings.plugins),
        "startup.sh": input_digest(settings.startup_script),
        "constraints": constraints.sha256,
    }
    sbom = sbom_bytes(
        target, locked.lock, wheels, mode=settings.mode, full=settings.full,
        constraints=(constraints.source, constraints.sha256), env=settings.env,
    )  # fmt: skip
    spec = BundleSpec(
        target=target,
        mode=settings.mode,
        full=settings.full,
        lock=locked.lock,
        constraints=constraints,
        wheels=wheels,
        pins=sorted(pins),
        plugins=settings.plugins,
        startup_script=settings.startup_script,
        index_urls=settings.index.placeholder_urls()
        if settings.index and settings.mode == "index"
        else [],
        inputs={k: v for k, v in inputs.items() if v},
        protected=protected_inputs(settings),
        extra_outputs=[(SBOM_NAME, sbom)],
    )
    outputs = write_bundle(spec, settings.out_dir)
    timings["bundle"] = time.monotonic() - t0
    return BuildResult(
        target=target.to_dict(),
        mode=settings.mode,
        full=settings.full,
        outputs=outputs,
        wheels=tuple(wheels),
        pins=tuple(sorted(pins)),
        lock_reused=locked.reused,
        downloaded_bytes=downloaded,
        seconds=time.monotonic() - started,
        timings=timings,
        audit=audited.to_dict(fail_on_for(settings)) if audited else None,
    )


def fetch_base_wheels(
    settings: Settings,
    dest: Path,
    reporter: Reporter | None = None,
    extra: Sequence[str] = (),
    python_full: str | None = None,
) -> list[Path]:
    """Wheels of MWAA's base install (plus `extra` requirements) for the target, into dest.

    python_full resolves markers for another patch level of the target's Python (a runner
    image's base may have 3.11.2 where MWAA has 3.11.9: `python_full_version` markers differ).
    """
    from mwaadeps.build.base import resolve_job
    from mwaadeps.build.resolvers import RESOLVERS

    reporter = reporter or NullReporter()
    target = settings.target
    if python_full is not None:
        if not python_full.startswith(target.python_version + "."):
            raise ConfigError(
                f"Python {python_full} cannot stand in for MWAA {target.airflow_version}'s "
                f"Python {target.python_full}.",
                hint=f"Use an image with Python {target.python_version}.",
            )
        target = dataclasses.replace(target, python_full=python_full)
    constraints = load_constraints(settings, reporter)
    if extra or python_full is not None:
        reporter.step(f"Resolving MWAA {target.airflow_version}'s base install")
        roots = {"base": target.base_requirements()}
        if extra:
            roots["user"] = list(extra)
        resolved = RESOLVERS["uv"]().resolve(
            resolve_job(settings, target, constraints, None, roots)
        )
    else:
        resolved = resolve_base(settings, constraints, reporter)
    packages = [
        LockedPackage(
            r.name,
            r.version,
            PROVIDED,
            wheel=sorted(r.wheels, key=lambda w: (len(w.filename), w.filename))[0]
            if r.wheels
            else None,
            sdist=r.sdist if not r.wheels else None,
        )
        for r in resolved.values()
    ]
    index_urls = settings.index.resolved_urls(settings.env) if settings.index else []
    # The runner image installs wheels only: MWAA's base install has no sdist to compile.
    wheels, _ = fetch_all(
        packages, target, settings.cache_dir, index_urls, reporter, compile_sdists=False
    )
    dest.mkdir(parents=True, exist_ok=True)
    out = []
    for wheel in wheels:
        target_path = dest / wheel.filename
        if not target_path.exists():
            shutil.copy2(wheel.path, target_path)
        out.append(target_path)
    return out
