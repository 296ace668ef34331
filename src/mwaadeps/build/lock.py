"""`mwaadeps lock`: resolve the requirements with MWAA's base install, for the target."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.utils import canonicalize_name

from mwaadeps.build import lockfile
from mwaadeps.build.base import base_override, base_snapshot, base_versions, resolve_job
from mwaadeps.build.constraints import Constraints, load_constraints
from mwaadeps.build.lockfile import BUNDLE, FALLBACK, PROVIDED, Lock, LockedPackage
from mwaadeps.build.resolvers import RESOLVERS
from mwaadeps.build.resolvers.interface import Resolved
from mwaadeps.config import Settings
from mwaadeps.digest import sha256_file
from mwaadeps.errors import RequirementsError, ResolutionError
from mwaadeps.progress import NullReporter, Reporter
from mwaadeps.redact import redact_url
from mwaadeps.targets import PROVIDED_BY_IMAGE

if TYPE_CHECKING:
    from mwaadeps.requirements.model import RequirementsFile


@dataclass(frozen=True)
class LockInputs:
    """What a resolution depends on, and its digest (the lock is stale when it changes)."""

    user_lines: tuple[str, ...]
    top_level: frozenset[str]
    extra_constraints: str
    index_urls: tuple[str, ...]
    find_links: tuple[str, ...]
    digest: str
    # name -> (file:line, allowed "alg:hex" hashes) of the user's --hash lines.
    hashes: Mapping[str, tuple[str, tuple[str, ...]]] = field(default_factory=dict)


@dataclass(frozen=True)
class LockResult:
    lock: Lock
    path: Path
    reused: bool
    seconds: float
    inputs: LockInputs | None = None


_HASH_ALGOS = {"sha256", "sha384", "sha512"}


def user_hashes(parsed: RequirementsFile) -> dict[str, tuple[str, tuple[str, ...]]]:
    """The user's --hash values by package; with --require-hashes (or any --hash, as pip
    does) every requirement must be pinned with == and carry a hash."""
    required = bool(parsed.options_named("--require-hashes")) or any(
        r.hashes for r in parsed.requirements
    )
    if not required:
        return {}
    provided = {canonicalize_name(p) for p in PROVIDED_BY_IMAGE}
    out: dict[str, tuple[str, tuple[str, ...]]] = {}
    problems: list[str] = []
    for req in parsed.requirements:
        if req.name in provided:
            continue
        specs = list(req.requirement.specifier)
        pinned = (
            len(specs) == 1 and specs[0].operator in ("==", "===") and "*" not in specs[0].version
        )
        if not pinned:
            problems.append(f"{req.origin}: {req.requirement.name} is not pinned with ==")
        if not req.hashes:
            problems.append(f"{req.origin}: {req.requirement.name} has no --hash")
        bad = [
            h
            for h in req.hashes
            if h.partition(":")[0] not in _HASH_ALGOS or not h.partition(":")[2]
        ]
        if bad:
            problems.append(f"{req.origin}: {bad[0]} is not a sha256/sha384/sha512 hash")
        prior = out.get(req.name)
        joined = tuple(sorted(set(req.hashes) | set(prior[1] if prior else ())))
        out[req.name] = (prior[0] if prior else str(req.origin), joined)
    if problems:
        listed = "\n".join(f"  {p}" for p in problems[:10])
        raise RequirementsError(
            f"{parsed.path} checks hashes (--require-hashes or a --hash line), so every "
            f"requirement must be pinned with == and carry --hash:\n{listed}",
            hint="Add `==version --hash=sha256:...` to each line (pip-compile --generate-hashes "
            "writes them), or remove --require-hashes and every --hash.",
        )
    return out


def _local_wheels(settings: Settings, reporter: Reporter) -> tuple[list[str], list[str]]:
    """Build the configured local packages into wheels; (find-links dirs, their digests)."""
    if not settings.local_packages:
        return [], []
    from mwaadeps.build.wheels import build_local_package

    links: list[str] = []
    digests: list[str] = []
    for folder in settings.local_packages:
        index_urls = settings.index.resolved_urls(settings.env) if settings.index else []
        wheel = build_local_package(folder, settings.cache_dir, reporter, index_urls)
        links.append(str(wheel.parent))
        digests.append(wheel.name + ":" + sha256_file(wheel))
    return sorted(set(links)), digests


def load_target_constraints(settings: Settings, reporter: Reporter | None = None) -> Constraints:
    """The constraints of a lock or build: settings' own, else a -c URL line, else the target's.

    A ``-c`` URL in requirements.txt that is not the target's canonical one (a raw proxy, an
    internal host) is fetched through the usual loader; ``constraints`` in the settings wins
    over it, with a warning when they differ.
    """
    from mwaadeps.requirements.parser import expand_env_vars, parse_requirements
    from mwaadeps.requirements.rules import constraint_lines, constraints_from_requirements

    reporter = reporter or NullReporter()
    if not settings.requirements.is_file():
        return load_constraints(settings, reporter)
    parsed = parse_requirements(settings.requirements)
    wanted = constraints_from_requirements(parsed, settings.target)
    if settings.constraints is not None:
        lines = [line for line in constraint_lines(parsed) if line.url != settings.constraints]
        if lines:
            line = lines[0]
            reporter.warn(
                f"{line.option.origin}: --constraint {line.option.shown} is ignored; the "
                f"constraints option ({redact_url(settings.constraints)}) wins."
            )
        return load_constraints(settings, reporter)
    if wanted is None:
        return load_constraints(settings, reporter)
    source = expand_env_vars(wanted, settings.env)
    return load_constraints(dataclasses.replace(settings, constraints=source), reporter)


def explain_unknown(
    exc: ResolutionError, settings: Settings, constraints: Constraints
) -> ResolutionError:
    """The resolver's error, plus "did you mean" for requirements no index has."""
    from mwaadeps.requirements.parser import parse_requirements
    from mwaadeps.requirements.rules import did_you_mean, unknown_projects

    missing = unknown_projects(exc.message)
    if not missing or not settings.requirements.is_file():
        return exc
    known = {
        n: constraints.display_names.get(n, n) for n in (*constraints.pins, *constraints.essential)
    }
    for name in base_snapshot(settings.target, constraints) or {}:
        known.setdefault(name, name)
    for name in PROVIDED_BY_IMAGE:
        known.setdefault(canonicalize_name(name), name)
    for name in missing:
        known.pop(name, None)
    lines = did_you_mean(parse_requirements(settings.requirements), missing, known)
    if not lines:
        return exc
    return ResolutionError(
        exc.message + "\n" + "\n".join(f"  {line}" for line in lines),
        hint="Correct the name in requirements.txt (or add the index that has it).",
    )


def gather_inputs(
    settings: Settings, constraints: Constraints, reporter: Reporter | None = None
) -> LockInputs:
    """Parse and check requirements.txt; the user's side of the resolution."""
    from mwaadeps.requirements.parser import expand_env_vars, parse_requirements
    from mwaadeps.requirements.rules import check_requirements

    reporter = reporter or NullReporter()
    target = settings.target
    if not settings.requirements.is_file():
        raise RequirementsError(
            f"Requirements file {settings.requirements} does not exist.",
            hint="Pass --requirements, or set requirements in mwaadeps.toml.",
        )
    parsed = parse_requirements(settings.requirements)
    report = check_requirements(parsed, target, constraints, mode=settings.mode)
    errors = [p for p in report.problems if p.severity == "error"]
    if errors:
        listed = "\n".join(
            f"  {p.origin or settings.requirements}: {p.message}" for p in errors[:10]
        )
        more = f"\n  ... and {len(errors) - 10} more" if len(errors) > 10 else ""
        raise RequirementsError(
            f"{settings.requirements} has {len(errors)} problem(s) that stop a lock:\n"
            f"{listed}{more}",
            hint="Run `mwaadeps check` for every problem and its fix.",
        )
    for problem in report.problems:
        if problem.severity == "warning":
            reporter.warn(f"{problem.origin or settings.requirements}: {problem.message}")
    provided = {canonicalize_name(p) for p in PROVIDED_BY_IMAGE}
    lines: list[str] = []
    top: set[str] = set()
    for req in parsed.requirements:
        name = canonicalize_name(req.requirement.name)
        if name in provided:
            continue
        top.add(name)
        lines.append(str(req.requirement))
    index_urls: list[str] = settings.index.resolved_urls(settings.env) if settings.index else []
    find_links: list[str] = []
    extra_constraints: list[str] = []
    for opt in parsed.options:
        value = opt.value or ""
        expanded = expand_env_vars(value, settings.env)
        if opt.name in ("--index-url", "-i"):
            index_urls.insert(0, expanded)
        elif opt.name == "--extra-index-url":
            index_urls.append(expanded)
        elif opt.name in ("--find-links", "-f") and "://" not in value:
            find_links.append(str((opt.origin.file.parent / value).resolve()))
    extra_constraints.extend(str(c.requirement) for c in parsed.constraints)
    hashes = user_hashes(parsed)
    local_links, local_digests = _local_wheels(settings, reporter)
    find_links.extend(local_links)
    digest_src = {
        "lock-version": lockfile.LOCK_VERSION,
        "target": target.to_dict(),
        "constraints": constraints.sha256,
        "lines": lines,
        "extra-constraints": extra_constraints,
        "index": [redact_url(u) for u in index_urls],
        "find-links": [f for f in find_links if f not in local_links],
        "local": local_digests,
        "resolver": settings.resolver,
    }
    override = base_override(settings)
    if override is not None:  # a changed override file makes the lock stale
        digest_src["base"] = override.source()
    digest = hashlib.sha256(json.dumps(digest_src, sort_keys=True).encode()).hexdigest()
    return LockInputs(
        tuple(lines),
        frozenset(top),
        "".join(c + "\n" for c in extra_constraints),
        tuple(index_urls),
        tuple(find_links),
        digest,
        hashes,
    )


def classify(
    combined: dict[str, Resolved],
    base: Mapping[str, str],
    constraints: Constraints,
    top_level: frozenset[str],
    local_links: Path | None = None,
) -> tuple[LockedPackage, ...]:
    """Decide per package: provided by the image, bundled, or bundled as a fallback.

    `base` maps what MWAA's image installs to its version. A base package is provided when
    the constraints pin it (the image has exactly that version). An unpinned one may drift
    in the image: when a bundled package needs it, its wheel is bundled too, unpinned, so
    pip keeps the installed one if it fits.
    """

    def provided_pinned(name: str) -> bool:
        res = combined[name]
        pinned = (
            constraints.pin(name) == res.version or constraints.essential.get(name) == res.version
        )
        return base.get(name) == res.version and pinned

    children: dict[str, set[str]] = {}
    for name, res in combined.items():
        for parent in res.via:
            if not parent.startswith("-"):
                children.setdefault(canonicalize_name(parent), set()).add(name)
    reach: set[str] = set()
    stack = [n for n in top_level if n in combined]
    while stack:
        cur = stack.pop()
        if cur in reach:
            continue
        reach.add(cur)
        if not provided_pinned(cur):
            stack.extend(children.get(cur, ()))
    out = []
    for name, res in sorted(combined.items()):
        if base.get(name) == res.version:
            role = PROVIDED if provided_pinned(name) or name not in reach else FALLBACK
        else:
            role = BUNDLE
        wheel = _portable(_best_wheel(res), local_links)
        out.append(
            LockedPackage(
                name=name,
                version=res.version,
                role=role,
                wheel=wheel,
                sdist=res.sdist if wheel is None else None,
                top_level=name in top_level,
                via=tuple(sorted(res.via)),
            )
        )
    return tuple(out)


def _portable(
    wheel: lockfile.Artifact | None, local_links: Path | None
) -> lockfile.Artifact | None:
    """A locally built wheel is recorded as `local:<file>`, not a path of this machine."""
    if wheel is None or not wheel.url or not wheel.url.startswith("file://") or local_links is None:
        return wheel
    if local_links.parent in Path(wheel.url[len("file://") :]).parents:
        return lockfile.Artifact(
            wheel.filename, None, wheel.sha256, wheel.size, f"local:{wheel.filename}"
        )
    return wheel


def _best_wheel(res: Resolved) -> lockfile.Artifact | None:
    """The single wheel uv picked for the target (the most specific if several)."""
    if not res.wheels:
        return None
    return sorted(res.wheels, key=lambda w: (len(w.filename), w.filename))[0]


def lock(settings: Settings, reporter: Reporter | None = None, *, force: bool = True) -> LockResult:
    """Resolve and write the lock; with force=False reuse a lock whose inputs are unchanged."""
    reporter = reporter or NullReporter()
    started = time.monotonic()
    target = settings.target
    constraints = load_target_constraints(settings, reporter)
    reporter.step("Checking requirements")
    inputs = gather_inputs(settings, constraints, reporter)
    if not force and settings.lock_file.is_file():
        try:
            existing = lockfile.read(settings.lock_file)
        except Exception:  # an unreadable lock is simply stale
            existing = None
        if existing is not None and existing.inputs_sha256 == inputs.digest:
            return LockResult(
                existing, settings.lock_file, True, time.monotonic() - started, inputs
            )
    resolver_cls = RESOLVERS[settings.resolver]
    resolver = resolver_cls()
    if hasattr(resolver, "check_host"):
        resolver.check_host(target)
    reporter.step(
        f"Resolving for MWAA {target.airflow_version} (Python {target.python_version}, "
        f"{target.uv_platform}) with {resolver.name}"
    )
    # The user's requirements resolve against MWAA's installed base as the constraints and
    # essential pins fix it; which of the answer MWAA already has comes from the base set.
    job = resolve_job(settings, target, constraints, inputs, {"user": list(inputs.user_lines)})
    job = dataclasses.replace(job, on_warning=reporter.warn)
    try:
        combined = resolver.resolve(job) if inputs.user_lines else {}
    except ResolutionError as exc:
        raise explain_unknown(exc, settings, constraints) from None
    base = base_versions(settings, constraints, reporter)
    airflow = combined.get("apache-airflow")
    if airflow is not None and airflow.version != target.airflow_version:
        raise ResolutionError(
            f"The resolution moved apache-airflow to {airflow.version}; "
            f"MWAA runs {target.airflow_version}.",
            hint="Remove the requirement that needs another Airflow version.",
        )
    result = Lock(
        target=target.to_dict(),
        inputs_sha256=inputs.digest,
        constraints_sha256=constraints.sha256,
        constraints_source=constraints.source,
        resolver=resolver.name,
        packages=classify(
            combined, base, constraints, inputs.top_level, settings.cache_dir / "local" / "links"
        )
        + tuple(
            # The rest of MWAA's base install, for the record and for --full (artifacts are
            # looked up then: the shipped base snapshot holds versions only).
            LockedPackage(name=name, version=version, role=PROVIDED, via=("-r mwaa-base",))
            for name, version in sorted(base.items())
            if name not in combined
        ),
        provided_by_image=PROVIDED_BY_IMAGE,
        base_source=override.source() if (override := base_override(settings)) else {},
    )
    if inputs.hashes:  # the index's sha256 of each chosen file against the user's --hash
        from mwaadeps.build.wheels import check_user_hashes

        for pkg in result.packages:
            artifact = pkg.wheel or pkg.sdist
            if artifact is not None and artifact.sha256:
                check_user_hashes(inputs.hashes, pkg.name, artifact.filename, artifact.sha256)
    settings.lock_file.parent.mkdir(parents=True, exist_ok=True)
    lockfile.write(result, settings.lock_file)
    return LockResult(result, settings.lock_file, False, time.monotonic() - started, inputs)
