"""`mwaadeps upgrade`: what the requirements become on another MWAA version, before moving.

The current side comes from mwaadeps.lock when it is up to date, else from a resolution; the
new side is resolved with the lock machinery for a copy of the settings that targets the new
version. Nothing is written unless `write_upgrade` is called.
"""

from __future__ import annotations

import dataclasses
import os
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from packaging.requirements import Requirement
from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename

from mwaadeps.build import lockfile
from mwaadeps.build.base import base_versions, resolve_job
from mwaadeps.build.constraints import Constraints, load_constraints
from mwaadeps.build.lock import LockInputs, classify, gather_inputs, load_target_constraints
from mwaadeps.build.lockfile import BUNDLE, FALLBACK, Artifact
from mwaadeps.build.resolvers import RESOLVERS
from mwaadeps.build.resolvers.interface import Resolved
from mwaadeps.config import Settings
from mwaadeps.errors import ConfigError, RequirementsError, ResolutionError
from mwaadeps.progress import NullReporter, Reporter
from mwaadeps.requirements.model import ParsedRequirement, Problem, RequirementsFile
from mwaadeps.requirements.parser import parse_requirements
from mwaadeps.targets import PROVIDED_BY_IMAGE, Target

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

Status = Literal["same", "changed", "removed", "conflict", "new"]
STATUS_ORDER: tuple[Status, ...] = ("conflict", "removed", "changed", "new", "same")
# The check codes that depend on the target: a requirement that passes on the current
# version and fails these on the new one conflicts with the new constraints.
CONFLICT_CODES = ("constraint-conflict", "essential-conflict", "airflow-version")
MAX_RELAX_ROUNDS = 6
BASE_VIA = ("-r mwaa-base",)
PROVIDER_PREFIX = "apache-airflow-providers-"


@dataclass(frozen=True)
class PackageChange:
    """One package of the user's resolution (or the new one): old vs new version and why."""

    name: str
    old: str | None
    new: str | None
    status: Status
    top_level: bool = False
    blocking: bool = False
    allowed: str | None = None  # for a conflict: the version the new target accepts
    role: str | None = None  # in the new resolution: bundle, fallback or provided
    reasons: tuple[str, ...] = ()
    old_role: str | None = None  # in the current resolution

    @property
    def shipped(self) -> bool:
        """The bundle ships it (on either side), or the user asked for it."""
        return self.top_level or bool({self.role, self.old_role} & {BUNDLE, FALLBACK})

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "old": self.old,
            "new": self.new,
            "status": self.status,
            "top_level": self.top_level,
            "blocking": self.blocking,
            "allowed": self.allowed,
            "role": self.role,
            "old_role": self.old_role,
            "reasons": list(self.reasons),
        }


@dataclass(frozen=True)
class DagImport:
    """An import in a DAG file that Airflow 3 moved to a provider or removed."""

    file: Path
    line: int
    module: str
    replacement: str | None
    provider: str | None
    note: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": str(self.file),
            "line": self.line,
            "module": self.module,
            "replacement": self.replacement,
            "provider": self.provider,
            "note": self.note,
        }


@dataclass(frozen=True)
class UpgradeReport:
    """The preflight of a move from one MWAA version to another."""

    from_target: Target
    to_target: Target
    old_source: str  # "lock" or "resolved"
    constraints_source: str  # the new target's constraints
    packages: tuple[PackageChange, ...]
    dag_imports: tuple[DagImport, ...] = ()
    notes: tuple[str, ...] = ()
    error: str | None = None  # the new target does not resolve at all
    # Pins the resolver refused for the new target (not the constraints): no wheel, ...
    resolver_conflicts: tuple[str, ...] = ()

    @property
    def blocking(self) -> tuple[PackageChange, ...]:
        return tuple(p for p in self.packages if p.blocking)

    @property
    def ok(self) -> bool:
        """The requirements resolve for the new target as they are."""
        return self.error is None and not self.blocking

    @property
    def changes(self) -> tuple[PackageChange, ...]:
        return tuple(p for p in self.packages if p.status != "same")

    @property
    def fixable(self) -> bool:
        """Every blocker is a conflict with a version the new target accepts."""
        return self.error is None and all(
            p.status == "conflict" and p.allowed for p in self.blocking
        )

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = dict.fromkeys(STATUS_ORDER, 0)
        for pkg in self.packages:
            out[pkg.status] += 1
        return out

    def to_dict(self) -> dict[str, Any]:
        """The --json shape."""
        return {
            "ok": self.ok,
            "from": self.from_target.to_dict(),
            "to": self.to_target.to_dict(),
            "old_source": self.old_source,
            "constraints": self.constraints_source,
            "counts": self.counts(),
            "packages": [p.to_dict() for p in self.packages],
            "dag_imports": [d.to_dict() for d in self.dag_imports],
            "notes": list(self.notes),
            "error": self.error,
        }


# ---------------------------------------------------------------------------------------
# The known Airflow 3 changes (data/airflow3.toml).


@dataclass(frozen=True)
class Airflow3Data:
    providers: Mapping[str, Mapping[str, str]]
    modules: Mapping[str, Mapping[str, str]]


@cache
def airflow3_data() -> Airflow3Data:
    """The shipped table of providers and modules Airflow 3 removed or moved."""
    text = resources.files("mwaadeps").joinpath("data", "airflow3.toml").read_text("utf-8")
    raw = tomllib.loads(text)
    providers: dict[str, Mapping[str, str]] = {
        canonicalize_name(k): v for k, v in raw.get("providers", {}).items()
    }
    return Airflow3Data(providers, raw.get("modules", {}))


def removed_from_constraints(old: Constraints, new: Constraints) -> frozenset[str]:
    """Packages the old constraints pin and the new ones do not."""
    return frozenset(set(old.pins) - set(new.pins))


# ---------------------------------------------------------------------------------------
# The pure comparison.


def _has_target_wheel(wheels: Iterable[Artifact], target: Target) -> bool:
    for wheel in wheels:
        try:
            tags = parse_wheel_filename(wheel.filename)[3]
        except InvalidWheelFilename:
            continue
        if target.accepts(tags):
            return True
    return False


def removal_reason(name: str, old_target: Target, new_target: Target) -> str:
    """Why a package is gone from the new constraints (the data table's reason when known)."""
    base = (
        f"in the Airflow {old_target.airflow_version} constraints but not in "
        f"{new_target.airflow_version}'s (removed from the constraints)"
    )
    known = airflow3_data().providers.get(name)
    if not known:
        return base
    text = f"{base}: {known.get('reason', 'removed')}"
    if known.get("replacement"):
        text += f"; use {known['replacement']}"
    return text


def compare(
    old: Mapping[str, str],
    new: Mapping[str, str],
    *,
    top_level: Iterable[str] = (),
    conflicts: Mapping[str, tuple[str | None, str]] | None = None,
    removed: Mapping[str, str] | None = None,
    roles: Mapping[str, str] | None = None,
    old_roles: Mapping[str, str] | None = None,
    notes: Mapping[str, Iterable[str]] | None = None,
) -> tuple[PackageChange, ...]:
    """Old and new versions (name -> version) into changes, blockers first.

    conflicts: name -> (allowed version or None, reason): a requirement the new target
    refuses as written. removed: name -> reason: a package the new target no longer has
    (blocking when the user asks for it). notes: extra reasons per package.
    """
    conflicts = conflicts or {}
    removed = removed or {}
    roles = roles or {}
    old_roles = old_roles or {}
    notes = notes or {}
    top = {canonicalize_name(n) for n in top_level}
    out: list[PackageChange] = []
    for name in sorted(set(old) | set(new) | set(conflicts)):
        was, now = old.get(name), new.get(name)
        reasons = list(notes.get(name, ()))
        allowed: str | None = None
        blocking = False
        status: Status
        if name in conflicts:
            allowed, why = conflicts[name]
            status, blocking = "conflict", True
            reasons.insert(0, why)
        elif name in removed:
            status = "removed"
            blocking = name in top
            reasons.insert(0, removed[name])
        elif now is None:
            status = "removed"
            reasons.insert(0, "no longer required by your requirements on the new version")
        elif was is None:
            status = "new"
        elif was == now:
            status = "same"
        else:
            status = "changed"
        out.append(
            PackageChange(
                name=name,
                old=was,
                new=now,
                status=status,
                top_level=name in top,
                blocking=blocking,
                allowed=allowed,
                role=roles.get(name),
                reasons=tuple(reasons),
                old_role=old_roles.get(name),
            )
        )
    rank = {s: i for i, s in enumerate(STATUS_ORDER)}
    return tuple(sorted(out, key=lambda p: (not p.blocking, rank[p.status], p.name)))


def _relaxed_line(req: Requirement, version: str | None) -> str:
    """The requirement with its version replaced (or dropped): extras and marker kept."""
    text = req.name
    if req.extras:
        text += "[" + ",".join(sorted(req.extras)) + "]"
    if version:
        text += f"=={version}"
    if req.marker is not None:
        text += f"; {req.marker}"
    return text


def _exact_pin(req: Requirement) -> str | None:
    specs = list(req.specifier)
    if len(specs) == 1 and specs[0].operator in ("==", "===") and "*" not in specs[0].version:
        return specs[0].version
    return None


_NAME_IN_ERROR = re.compile(r"[A-Za-z0-9][A-Za-z0-9._\-]*")


def names_in_error(message: str, candidates: Iterable[str]) -> list[str]:
    """Which of the candidate packages a resolver's explanation talks about."""
    words = {canonicalize_name(w) for w in _NAME_IN_ERROR.findall(message)}
    return sorted(c for c in candidates if canonicalize_name(c) in words)


def _error_lines_about(message: str, name: str) -> str:
    lines = [
        ln.strip()
        for ln in message.splitlines()
        if canonicalize_name(name) in {canonicalize_name(w) for w in _NAME_IN_ERROR.findall(ln)}
    ]
    return " ".join(lines[:2]) or message.strip().splitlines()[-1].strip()


# ---------------------------------------------------------------------------------------
# DAG imports Airflow 3 moved.

_IMPORT_RE = re.compile(r"^\s*(?:from\s+([\w.]+)\s+import\b|import\s+([\w.]+))")


def scan_dag_imports(folder: Path, modules: Mapping[str, Mapping[str, str]]) -> list[DagImport]:
    """Imports of moved or removed Airflow 2 modules in the .py files under `folder`."""
    found: list[DagImport] = []
    for path in sorted(folder.rglob("*.py")):
        if "__pycache__" in path.parts or not path.is_file():
            continue
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        for number, line in enumerate(text.splitlines(), 1):
            match = _IMPORT_RE.match(line)
            if not match:
                continue
            module = match.group(1) or match.group(2)
            for old, info in modules.items():
                if module == old or module.startswith(old + "."):
                    found.append(
                        DagImport(
                            path,
                            number,
                            module,
                            info.get("to"),
                            info.get("provider"),
                            info.get("note"),
                        )
                    )
                    break
    return found


# ---------------------------------------------------------------------------------------
# Resolutions.


@dataclass(frozen=True)
class _Side:
    versions: dict[str, str]
    wheels: dict[str, tuple[Artifact, ...]]  # what each package installs from
    roles: dict[str, str]


def _resolve(
    settings: Settings, constraints: Constraints, inputs: LockInputs, reporter: Reporter
) -> dict[str, Resolved]:
    """The user's requirements resolved against the target's base, as `mwaadeps lock` does."""
    if not inputs.user_lines:
        return {}
    target = settings.target
    resolver = RESOLVERS[settings.resolver]()
    if hasattr(resolver, "check_host"):
        resolver.check_host(target)
    reporter.step(
        f"Resolving for MWAA {target.airflow_version} (Python {target.python_version}) "
        f"with {resolver.name}"
    )
    job = resolve_job(settings, target, constraints, inputs, {"user": list(inputs.user_lines)})
    combined = resolver.resolve(job)
    airflow = combined.get("apache-airflow")
    if airflow is not None and airflow.version != target.airflow_version:
        raise ResolutionError(
            f"The resolution moved apache-airflow to {airflow.version}; "
            f"MWAA runs {target.airflow_version}.",
            hint="Remove the requirement that needs another Airflow version.",
        )
    return combined


def _side_from_resolution(
    settings: Settings,
    constraints: Constraints,
    combined: dict[str, Resolved],
    top_level: frozenset[str],
    reporter: Reporter,
) -> _Side:
    base = base_versions(settings, constraints, reporter)
    packages = classify(combined, base, constraints, top_level)
    return _Side(
        {n: r.version for n, r in combined.items()},
        {n: r.wheels for n, r in combined.items()},
        {p.name: p.role for p in packages},
    )


def _side_from_lock(lock: lockfile.Lock) -> _Side:
    mine = [p for p in lock.packages if tuple(p.via) != BASE_VIA]
    return _Side(
        {p.name: p.version for p in mine},
        {p.name: (p.wheel,) if p.wheel else () for p in mine},
        {p.name: p.role for p in mine},
    )


def _current(
    settings: Settings, constraints: Constraints, inputs: LockInputs, reporter: Reporter
) -> tuple[_Side, str]:
    """The current resolution: the lock when it matches the inputs, else resolved now."""
    if settings.lock_file.is_file():
        try:
            existing: lockfile.Lock | None = lockfile.read(settings.lock_file)
        except ConfigError:
            existing = None
        if existing is not None and existing.inputs_sha256 == inputs.digest:
            return _side_from_lock(existing), "lock"
        reporter.warn(f"{settings.lock_file} is not up to date; resolving the current version.")
    combined = _resolve(settings, constraints, inputs, reporter)
    return _side_from_resolution(settings, constraints, combined, inputs.top_level, reporter), (
        "resolved"
    )


def target_settings(
    settings: Settings, version: str, python: str | None, constraints: str | None
) -> Settings:
    """A copy of the settings for the new version (the user's lock file is left alone).

    Without `constraints`, the new version's canonical constraints URL, or the configured
    constraints when the version is the current one.
    """
    if constraints is None and version == settings.airflow_version:
        constraints = settings.constraints
    if python is None and version == settings.airflow_version:
        python = settings.python_version
    # A discovered base install (--env) describes the current version only.
    base_env = settings.base_env if version == settings.airflow_version else None
    return dataclasses.replace(
        settings,
        airflow_version=version,
        python_version=python,
        constraints=constraints,
        base_env=base_env,
    )


@dataclass(frozen=True)
class _Plan:
    """The new side's requirement lines and why some differ from the user's."""

    lines: list[str]
    extra_constraints: str
    conflicts: dict[str, tuple[str | None, str]]
    by_name: dict[str, ParsedRequirement]


def _plan_lines(parsed: RequirementsFile, target: Target, constraints: Constraints) -> _Plan:
    """The user's lines for the new target: a conflicting pin becomes the allowed version."""
    from mwaadeps.requirements.rules import check_requirements

    report = check_requirements(parsed, target, constraints)
    bad: dict[tuple[Path, int], Problem] = {}
    for problem in report.problems:
        if problem.severity == "error" and problem.code in CONFLICT_CODES and problem.origin:
            bad[(problem.origin.file, problem.origin.line)] = problem
    provided = {canonicalize_name(p) for p in PROVIDED_BY_IMAGE}
    conflicts: dict[str, tuple[str | None, str]] = {}
    lines: list[str] = []
    by_name: dict[str, ParsedRequirement] = {}
    extra: list[str] = []
    for req in (*parsed.requirements, *parsed.constraints):
        name = req.name
        if name in provided and not req.constraint:
            continue
        found = bad.get((req.origin.file, req.origin.line))
        line = str(req.requirement)
        if found is not None:
            allowed = (
                target.airflow_version
                if name == "apache-airflow"
                else constraints.essential.get(name) or constraints.pin(name)
            )
            line = _relaxed_line(req.requirement, allowed)
            where = f"{req.origin.file.name}:{req.origin.line}"
            conflicts[name] = (allowed, f"{where}: {found.message}")
        if req.constraint:
            extra.append(line)
        else:
            lines.append(line)
            by_name[name] = req
    return _Plan(lines, "".join(c + "\n" for c in extra), conflicts, by_name)


def _dags_notes(settings: Settings, old: Target, new: Target) -> list[DagImport]:
    if not (new.is_airflow3 and not old.is_airflow3) or settings.dags is None:
        return []
    if not settings.dags.is_dir():
        return []
    return scan_dag_imports(settings.dags, airflow3_data().modules)


def _resolve_relaxing(
    settings: Settings,
    constraints: Constraints,
    inputs: LockInputs,
    plan: _Plan,
    old: _Side,
    old_target: Target,
    reporter: Reporter,
) -> tuple[dict[str, Resolved], dict[str, tuple[str | None, str]], str | None]:
    """Resolve the plan's lines for the new target, unpinning what the target refuses.

    A pin the resolver names in its refusal, or whose version installed from a wheel on
    the current target and has none for the new one (no cp312 build, say), is unpinned so
    the resolver picks a version that works. Returns the resolution, the refused pins
    (name -> (None, why)) and the resolver's error when even that does not resolve.
    """
    target = settings.target
    lines = list(plan.lines)
    refused: dict[str, tuple[str | None, str]] = {}
    for _round in range(MAX_RELAX_ROUNDS):
        new_inputs = dataclasses.replace(
            inputs, user_lines=tuple(lines), extra_constraints=plan.extra_constraints
        )
        try:
            combined = _resolve(settings, constraints, new_inputs, reporter)
        except ResolutionError as exc:
            pinned = [
                n
                for n, r in plan.by_name.items()
                if n not in refused
                and n not in plan.conflicts
                and r.requirement.specifier
                and n != "apache-airflow"
            ]
            culprits = names_in_error(exc.message, pinned)
            if not culprits:
                return {}, refused, exc.message
            for name in culprits:
                refused[name] = (None, _error_lines_about(exc.message, name))
            lines = _relax(lines, plan.by_name, culprits)
            continue
        lost = [
            n
            for n, r in plan.by_name.items()
            if n not in refused
            and n not in plan.conflicts
            and n in combined
            and bool(r.requirement.specifier)
            and _has_target_wheel(old.wheels.get(n, ()), old_target)
            and not _has_target_wheel(combined[n].wheels, target)
        ]
        if not lost:
            return combined, refused, None
        for name in lost:
            refused[name] = (
                None,
                f"{name} {combined[name].version} has no wheel for Python "
                f"{target.python_version} ({target.abi}, manylinux x86_64); "
                "only a source build, which MWAA cannot compile offline",
            )
        lines = _relax(lines, plan.by_name, lost)
    return (
        {},
        refused,
        (
            f"The requirements still do not resolve for MWAA {target.airflow_version} after "
            f"unpinning {', '.join(sorted(refused))}."
        ),
    )


def plan_upgrade(
    settings: Settings,
    to_version: str,
    *,
    to_python: str | None = None,
    to_constraints: str | None = None,
    reporter: Reporter | None = None,
) -> UpgradeReport:
    """Resolve the requirements for `to_version` and compare with the current resolution."""
    reporter = reporter or NullReporter()
    old_target = settings.target
    new_settings = target_settings(settings, to_version, to_python, to_constraints)
    new_target = new_settings.target
    # The current side's constraints as `lock` finds them (so its digest matches the lock).
    old_constraints = load_target_constraints(settings, reporter)
    new_constraints = load_constraints(new_settings, reporter)
    reporter.step("Checking requirements")
    try:
        inputs = gather_inputs(settings, old_constraints, reporter)
    except RequirementsError as exc:
        raise RequirementsError(
            f"{exc.message}\n(upgrade compares with MWAA {old_target.airflow_version}, the "
            "current version: the requirements must lock for it.)",
            hint=f"Run `mwaadeps check` for the current version; if you already edited them "
            f"for {to_version}, run `mwaadeps check -a {to_version}` and then set "
            f'airflow-version = "{to_version}" instead.',
        ) from None
    old, old_source = _current(settings, old_constraints, inputs, reporter)

    parsed = parse_requirements(settings.requirements)
    plan = _plan_lines(parsed, new_target, new_constraints)
    conflicts = dict(plan.conflicts)
    notes: dict[str, list[str]] = {}
    # The same target and constraints: the current resolution is the new one.
    same = old_target == new_target and old_constraints.sha256 == new_constraints.sha256
    combined: dict[str, Resolved] = {}
    error: str | None = None
    resolver_conflicts: tuple[str, ...] = ()
    if not same:
        combined, refused, error = _resolve_relaxing(
            new_settings, new_constraints, inputs, plan, old, old_target, reporter
        )
        conflicts.update(refused)
        resolver_conflicts = tuple(sorted(refused))
    if same:
        new_side = old
    elif combined:
        new_side = _side_from_resolution(
            new_settings, new_constraints, combined, frozenset(plan.by_name), reporter
        )
    else:
        new_side = _Side({}, {}, {})
    for name, (allowed, why) in list(conflicts.items()):
        if allowed is None and name in new_side.versions:
            conflicts[name] = (new_side.versions[name], why)
    # Transitive packages that lose their wheel: worth knowing, not blocking (the build says).
    for name, version in new_side.versions.items():
        if (
            name not in conflicts
            and new_side.roles.get(name) in (BUNDLE, FALLBACK)
            and _has_target_wheel(old.wheels.get(name, ()), old_target)
            and not _has_target_wheel(new_side.wheels.get(name, ()), new_target)
        ):
            notes.setdefault(name, []).append(
                f"{version} has no wheel for {new_target.abi}: the build compiles its sdist"
            )
    gone = removed_from_constraints(old_constraints, new_constraints)
    removed = {
        n: removal_reason(n, old_target, new_target)
        for n in (set(old.versions) | set(plan.by_name)) & gone
        if n.startswith(PROVIDER_PREFIX) or n in airflow3_data().providers
    }
    for name in (set(old.versions) & gone) - set(removed):
        notes.setdefault(name, []).append(
            f"no longer pinned by the Airflow {new_target.airflow_version} constraints"
        )
    if error is not None:
        # Without a new resolution only what the user asked for can be compared.
        old_versions = {n: v for n, v in old.versions.items() if n in plan.by_name}
    else:
        old_versions = old.versions
    packages = compare(
        old_versions,
        new_side.versions,
        top_level=plan.by_name,
        conflicts=conflicts,
        removed=removed,
        roles=new_side.roles,
        old_roles=old.roles,
        notes=notes,
    )
    general: list[str] = []
    if old_target.python_version != new_target.python_version:
        general.append(
            f"Python changes from {old_target.python_version} to {new_target.python_version}: "
            f"compiled packages need {new_target.abi} wheels."
        )
    if new_target.is_airflow3 and not old_target.is_airflow3:
        general.append(
            "Airflow 3 moved the core operators to apache-airflow-providers-standard (MWAA "
            "preinstalls it); DAGs that import airflow.operators.* need the new paths."
        )
    return UpgradeReport(
        from_target=old_target,
        to_target=new_target,
        old_source=old_source,
        constraints_source=new_constraints.source,
        packages=packages,
        dag_imports=tuple(_dags_notes(settings, old_target, new_target)),
        notes=tuple(general),
        error=error,
        resolver_conflicts=resolver_conflicts,
    )


def _relax(
    lines: list[str], by_name: Mapping[str, ParsedRequirement], names: Iterable[str]
) -> list[str]:
    """The lines with the named requirements unpinned."""
    targets = {
        str(by_name[n].requirement): _relaxed_line(by_name[n].requirement, None) for n in names
    }
    return [targets.get(line, line) for line in lines]


# ---------------------------------------------------------------------------------------
# --write: fix the requirements for the new target and move the config to it.


@dataclass(frozen=True)
class WriteResult:
    """What `write_upgrade` changed: file -> (old text, new text)."""

    files: dict[Path, tuple[str, str]]
    messages: tuple[str, ...]
    remaining: tuple[Problem, ...] = ()  # errors `fix` could not repair for the new target

    @property
    def ok(self) -> bool:
        return not any(p.severity == "error" for p in self.remaining)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "files": [str(p) for p in self.files],
            "messages": list(self.messages),
            "remaining": [p.to_dict() for p in self.remaining],
        }


_KEY_RE = r"^(?P<lead>\s*{key}\s*=\s*)(?P<value>\"(?:[^\"\\]|\\.)*\"|'[^']*')(?P<rest>.*)$"


def _toml_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def rewrite_toml(
    text: str, updates: Mapping[str, str | None], *, table: str | None = None
) -> tuple[str, list[str]]:
    """Set top-level string keys in TOML text, changing only their lines.

    A value None comments the key's line out. A missing key is added after the leading
    comments of the table (`table`, e.g. "tool.mwaadeps"; None = the top level). Returns
    the text and one message per change.
    """
    lines = text.splitlines(keepends=True)
    start, end = 0, len(lines)
    if table is not None:
        header = re.compile(rf"^\s*\[\s*{re.escape(table)}\s*\]\s*(#.*)?$")
        found = [i for i, ln in enumerate(lines) if header.match(ln.rstrip("\r\n"))]
        if not found:
            raise ConfigError(f"No [{table}] table to update.")
        start = found[0] + 1
    for i in range(start, len(lines)):
        if re.match(r"^\s*\[", lines[i]):
            end = i
            break
    messages: list[str] = []
    for key, value in updates.items():
        pattern = re.compile(_KEY_RE.format(key=re.escape(key)))
        hit = None
        for i in range(start, end):
            body = lines[i].rstrip("\r\n")
            match = pattern.match(body)
            if match:
                hit = (i, match, lines[i][len(body) :])
                break
        if hit is None:
            if value is None:
                continue
            at = start
            while at < end and lines[at].lstrip().startswith("#"):
                at += 1
            newline = "\r\n" if lines and lines[0].endswith("\r\n") else "\n"
            lines.insert(at, f"{key} = {_toml_string(value)}{newline}")
            end += 1
            messages.append(f"added {key} = {_toml_string(value)}")
            continue
        i, match, eol = hit
        old_value = match.group("value")
        if value is None:
            lines[i] = f"# {match.group(0).lstrip()}  # (mwaadeps upgrade: the old version's){eol}"
            messages.append(f"commented out {key} = {old_value}")
        elif tomllib.loads(f"v = {old_value}")["v"] != value:
            lines[i] = f"{match.group('lead')}{_toml_string(value)}{match.group('rest')}{eol}"
            messages.append(f"{key}: {old_value} -> {_toml_string(value)}")
    return "".join(lines), messages


def _config_updates(
    settings: Settings, raw: Mapping[str, Any], report: UpgradeReport, to_constraints: str | None
) -> dict[str, str | None]:
    updates: dict[str, str | None] = {"airflow-version": report.to_target.airflow_version}
    if raw.get("python-version"):
        updates["python-version"] = report.to_target.python_version
    if raw.get("constraints"):
        if to_constraints is None:
            if report.to_target.airflow_version != settings.airflow_version:
                updates["constraints"] = None  # the new version's canonical URL from now on
        elif "://" in to_constraints:
            updates["constraints"] = to_constraints
        else:
            assert settings.config_file is not None
            path = Path(to_constraints).resolve()
            try:
                updates["constraints"] = os.path.relpath(path, settings.config_file.parent)
            except ValueError:  # another drive (Windows)
                updates["constraints"] = str(path)
    return updates


def write_refusal(report: UpgradeReport) -> ResolutionError | None:
    """Why `write_upgrade` would refuse the report (None when it can write it)."""
    if report.fixable:
        return None
    names = ", ".join(p.name for p in report.blocking if not p.allowed) or "the resolution"
    return ResolutionError(
        f"The upgrade to MWAA {report.to_target.airflow_version} cannot be written: "
        f"{names} has no version the new target accepts.",
        hint=report.error
        or "Drop or replace those requirements (see the reasons), then run upgrade again.",
    )


def write_upgrade(
    settings: Settings, report: UpgradeReport, *, to_constraints: str | None = None
) -> WriteResult:
    """Apply `fix` for the new target to the requirements, and move mwaadeps.toml to it.

    Refuses (writing nothing) when a blocker is not a conflict with an allowed version.
    """
    refusal = write_refusal(report)
    if refusal is not None:
        raise refusal
    from mwaadeps.requirements.fix import apply_fix, plan_fix

    new_settings = target_settings(settings, report.to_target.airflow_version, None, to_constraints)
    constraints = load_constraints(new_settings)
    result = plan_fix(settings.requirements, report.to_target, constraints)
    files: dict[Path, tuple[str, str]] = {}
    messages = [
        f"{c.file.name}:{c.line}: {c.before} -> {c.after if c.after is not None else '(removed)'}"
        for c in result.changes
    ]
    if result.changed:
        apply_fix(result)
        files.update(result.files)
    # Pins the resolver refused (no wheel for the new Python...): the version it chose.
    repins = {
        p.name: p.allowed
        for p in report.blocking
        if p.allowed and p.name in report.resolver_conflicts
    }
    for path, (old, new) in _repin(settings.requirements, repins, messages).items():
        files[path] = (files[path][0] if path in files else old, new)
    if settings.config_file is not None:
        text = settings.config_file.read_text(encoding="utf-8")
        table = "tool.mwaadeps" if settings.config_file.name == "pyproject.toml" else None
        raw = tomllib.loads(text)
        if table:
            raw = raw.get("tool", {}).get("mwaadeps", {})
        new_text, changed = rewrite_toml(
            text, _config_updates(settings, raw, report, to_constraints), table=table
        )
        if new_text != text:
            _replace_text(settings.config_file, new_text)
            files[settings.config_file] = (text, new_text)
            messages += [f"{settings.config_file.name}: {m}" for m in changed]
    else:
        messages.append(
            f"No mwaadeps.toml: pass --airflow-version {report.to_target.airflow_version} "
            "from now on."
        )
    return WriteResult(files, tuple(messages), result.remaining)


def _replace_text(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(text.encode("utf-8"))
    tmp.replace(path)


def _repin(
    requirements: Path, repins: Mapping[str, str], messages: list[str]
) -> dict[Path, tuple[str, str]]:
    """Pin the named requirements to the given versions, one line each, comments kept."""
    if not repins:
        return {}
    parsed = parse_requirements(requirements)
    texts: dict[Path, tuple[str, str]] = {}
    for req in parsed.requirements:
        version = repins.get(req.name)
        if version is None or _exact_pin(req.requirement) == version:
            continue
        path, number = req.origin.file, req.origin.line
        old_text, text = texts.get(path) or (path.read_text(encoding="utf-8"),) * 2
        lines = text.splitlines(keepends=True)
        body = lines[number - 1].rstrip("\r\n")
        eol = lines[number - 1][len(body) :]
        code, sep, comment = body.partition(" #")
        try:
            same = canonicalize_name(Requirement(code.strip()).name) == req.name
        except ValueError:
            same = False
        if not same:
            messages.append(f"{path.name}:{number}: not rewritten (not a one-line requirement)")
            continue
        new_line = _relaxed_line(req.requirement, version)
        lines[number - 1] = new_line + (f"  #{comment}" if sep else "") + eol
        texts[path] = (old_text, "".join(lines))
        messages.append(f"{path.name}:{number}: {code.strip()} -> {new_line}")
    for path, (_old, new) in texts.items():
        _replace_text(path, new)
    return texts


__all__ = [
    "DagImport",
    "PackageChange",
    "UpgradeReport",
    "WriteResult",
    "compare",
    "plan_upgrade",
    "removed_from_constraints",
    "rewrite_toml",
    "scan_dag_imports",
    "write_refusal",
    "write_upgrade",
]
