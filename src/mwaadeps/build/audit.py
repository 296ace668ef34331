"""Known vulnerabilities of every locked package, from the PyPI JSON API's advisory data.

The data is the Python Packaging Advisory Database (and GitHub's) as PyPI serves it at
``<root>/pypi/<name>/<version>/json`` (key ``vulnerabilities``): pip-audit's PyPI service
reads the same, but only from pypi.org, while a private mirror (Nexus) must work too.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from mwaadeps.build.constraints import Constraints
from mwaadeps.build.lockfile import BUNDLE, FALLBACK, PROVIDED, Lock, LockedPackage
from mwaadeps.choices import FailOn, parse_choice
from mwaadeps.config import Settings
from mwaadeps.errors import AuditUnavailable, VulnerabilitiesFound
from mwaadeps.progress import NullReporter, Reporter
from mwaadeps.redact import redact_text, redact_url, strip_credentials

PYPI_ROOT = "https://pypi.org"
TIMEOUT_S = 20.0
WORKERS = 8
CACHE_TTL_S = 3600.0
SEVERITIES = tuple(f.value for f in FailOn if f is not FailOn.ANY)  # lowest first

ALLOWED = "allowed"
BLOCKED_CONSTRAINTS = "blocked by the Airflow constraints"
BLOCKED_ESSENTIAL = "blocked by MWAA's essential pins"
BLOCKED_IMAGE = "blocked: provided by MWAA's image"
NO_FIX = "no fix published"


@dataclass(frozen=True)
class Advisory:
    """One published vulnerability of a release."""

    id: str
    aliases: tuple[str, ...]
    summary: str
    fixed_in: tuple[str, ...]
    link: str | None
    severity: str | None  # low/medium/high/critical when the data has one

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "aliases": list(self.aliases),
            "summary": self.summary,
            "fixed_in": list(self.fixed_in),
            "link": self.link,
            "severity": self.severity,
        }


@dataclass(frozen=True)
class Finding:
    """An advisory of a locked package, the fix to move to and whether the target allows it."""

    name: str
    version: str
    role: str
    advisory: Advisory
    fix: str | None
    allowed: str
    ignored: str | None = None  # the reason, when ignored

    def to_dict(self) -> dict[str, Any]:
        return {
            "package": self.name,
            "version": self.version,
            "role": self.role,
            **self.advisory.to_dict(),
            "fix": self.fix,
            "fix_allowed": self.allowed,
            "ignored": self.ignored,
        }


@dataclass(frozen=True)
class Unchecked:
    """A package the audit could not check: skipped (not published) or unavailable."""

    name: str
    version: str
    reason: str

    def to_dict(self) -> dict[str, str]:
        return {"package": self.name, "version": self.version, "reason": self.reason}


@dataclass(frozen=True)
class AuditReport:
    """What the audit found for a lock."""

    target: Mapping[str, Any]
    index: str  # the advisory root, credentials redacted
    audited: int
    findings: tuple[Finding, ...]
    skipped: tuple[Unchecked, ...] = ()
    unavailable: tuple[Unchecked, ...] = ()
    unused_ignores: tuple[str, ...] = ()

    @property
    def active(self) -> list[Finding]:
        return [f for f in self.findings if f.ignored is None]

    def failing(self, fail_on: str = "any") -> list[Finding]:
        """The findings at or above ``fail_on``; an advisory without a severity always counts."""
        if fail_on == "any":
            return self.active
        floor = SEVERITIES.index(fail_on)
        return [
            f
            for f in self.active
            if f.advisory.severity is None or SEVERITIES.index(f.advisory.severity) >= floor
        ]

    def to_dict(self, fail_on: str = "any") -> dict[str, Any]:
        return {
            "ok": not self.failing(fail_on) and not self.unavailable,
            "target": dict(self.target),
            "index": self.index,
            "fail_on": fail_on,
            "audited": self.audited,
            "vulnerabilities": [f.to_dict() for f in self.findings if f.ignored is None],
            "ignored": [f.to_dict() for f in self.findings if f.ignored is not None],
            "skipped": [s.to_dict() for s in self.skipped],
            "unavailable": [s.to_dict() for s in self.unavailable],
            "unused_ignores": list(self.unused_ignores),
        }


def advisory_root(index_url: str | None) -> str:
    """The JSON API root of an index: ``https://host/repository/pypi/simple`` -> ``.../pypi``."""
    if not index_url:
        return PYPI_ROOT
    root = index_url.rstrip("/")
    if root.endswith("/simple"):
        root = root[: -len("/simple")]
    return root


def check_fail_on(value: str) -> FailOn:
    """The fail-on severity (case-insensitive, moderate = medium); else a ConfigError."""
    hint = "Use --fail-on any (the default) or a severity such as high."
    return parse_choice(FailOn, value, "fail-on", hint=hint)


def _severity(raw: Mapping[str, Any]) -> str | None:
    """A low/medium/high/critical severity from an advisory entry (PyPI publishes none)."""
    candidates: list[Any] = [raw.get("severity")]
    specific = raw.get("database_specific")
    if isinstance(specific, Mapping):
        candidates.append(specific.get("severity"))
    for value in candidates:
        if isinstance(value, str):
            low = value.lower()
            low = "medium" if low == "moderate" else low
            if low in SEVERITIES:
                return low
    return None


def parse_advisories(entries: Iterable[Any]) -> list[Advisory]:
    """Advisories of a PyPI ``vulnerabilities`` list: withdrawn ones dropped, aliases merged.

    PyPI lists one advisory under each database (PYSEC-..., GHSA-...); entries naming each
    other as aliases are one vulnerability, shown under the first id.
    """
    out: list[Advisory] = []
    for raw in entries:
        if not isinstance(raw, Mapping) or not raw.get("id") or raw.get("withdrawn"):
            continue
        ident = str(raw["id"])
        aliases = tuple(str(a) for a in raw.get("aliases") or ())
        fixed = tuple(str(v) for v in raw.get("fixed_in") or ())
        twin = next((a for a in out if ident in a.aliases or a.id in aliases), None)
        if twin is not None:
            merged = Advisory(
                twin.id,
                tuple(sorted(({*twin.aliases, *aliases, ident}) - {twin.id})),
                twin.summary or str(raw.get("summary") or raw.get("details") or ""),
                tuple(dict.fromkeys((*twin.fixed_in, *fixed))),
                twin.link or raw.get("link"),
                twin.severity or _severity(raw),
            )
            out[out.index(twin)] = merged
            continue
        summary = str(raw.get("summary") or raw.get("details") or "").strip().splitlines()
        out.append(
            Advisory(
                ident,
                tuple(sorted(set(aliases) - {ident})),
                summary[0] if summary else "",
                fixed,
                str(raw["link"]) if raw.get("link") else None,
                _severity(raw),
            )
        )
    return sorted(out, key=lambda a: a.id)


def _vkey(text: str) -> Version | None:
    try:
        return Version(text)
    except InvalidVersion:
        return None


def first_fix(version: str, fixed_in: Sequence[str]) -> str | None:
    """The lowest fixed version above ``version`` (None when no fix is published)."""
    current = _vkey(version)
    fixes = sorted(
        (v, text)
        for text in fixed_in
        if (v := _vkey(text)) is not None and (current is None or v > current)
    )
    return fixes[0][1] if fixes else None


def fix_allowed(pkg: LockedPackage, fix: str | None, constraints: Constraints) -> str:
    """Whether the target lets the package move to ``fix``: pinned packages cannot."""
    if fix is None:
        return NO_FIX
    name = canonicalize_name(pkg.name)
    if name in constraints.essential:
        return BLOCKED_ESSENTIAL
    if constraints.pin(name) is not None:
        return BLOCKED_CONSTRAINTS
    if pkg.role == PROVIDED:
        return BLOCKED_IMAGE
    return ALLOWED


class NoReleaseData(OSError):
    """The index has the project but serves no advisory data for this release."""


class AdvisoryIndex:
    """Reads advisories from an index's JSON API, with a short-lived disk cache.

    ``index_url`` may carry credentials (resolved from the environment); they travel only in
    a Basic auth header and never reach a message, the cache or the report.
    """

    def __init__(
        self,
        index_url: str | None,
        cache_dir: Path | None,
        *,
        secrets: Sequence[str] = (),
        ttl: float = CACHE_TTL_S,
        timeout: float = TIMEOUT_S,
    ) -> None:
        bare, creds = strip_credentials(advisory_root(index_url))
        self.root = bare
        self.display = redact_url(bare)
        self._creds = creds if creds and creds != ("", "") else None
        self._secrets = tuple(secrets) + tuple(c for c in creds or () if c)
        self._cache = cache_dir / "advisories" if cache_dir else None
        self._ttl = ttl
        self._timeout = timeout

    def _cache_file(self, name: str, version: str) -> Path | None:
        if self._cache is None:
            return None
        key = hashlib.sha256(f"{self.root}\0{name}\0{version}".encode()).hexdigest()[:32]
        return self._cache / f"{key}.json"

    def _get(self, url: str) -> Any:
        headers = {"User-Agent": "mwaadeps", "Accept": "application/json"}
        if self._creds is not None:
            token = base64.b64encode(f"{self._creds[0]}:{self._creds[1]}".encode()).decode()
            headers["Authorization"] = f"Basic {token}"
        request = urllib.request.Request(url, headers=headers)
        with urllib.request.urlopen(request, timeout=self._timeout) as resp:
            return json.loads(resp.read().decode("utf-8"))

    def reason(self, exc: BaseException) -> str:
        """Why a query failed, naming the index without credentials."""
        if isinstance(exc, NoReleaseData):
            return f"{self.display} serves no advisory data for this release"
        if isinstance(exc, urllib.error.HTTPError):
            return f"HTTP {exc.code} from {self.display}"
        if isinstance(exc, ValueError):
            return f"{self.display} did not answer with JSON"
        reason = getattr(exc, "reason", exc)
        return redact_text(f"cannot reach {self.display}: {reason}", self._secrets)

    def query(self, name: str, version: str) -> list[Any] | str:
        """The raw ``vulnerabilities`` list of a release, or why it is not on the index.

        Raises OSError or ValueError when the index cannot answer (``reason`` says why);
        returns a string when the project is not on the index.
        """
        cache = self._cache_file(name, version)
        if cache is not None and cache.is_file():
            try:
                cached = json.loads(cache.read_text(encoding="utf-8"))
                if time.time() - float(cached["fetched"]) < self._ttl:
                    result: list[Any] | str = cached["result"]
                    return result
            except (OSError, ValueError, KeyError, TypeError):
                pass
        result = self._fetch(name, version)
        if cache is not None:
            self._store(cache, result)
        return result

    @staticmethod
    def _store(cache: Path, result: list[Any] | str) -> None:
        """Write a cache entry atomically; a cache that cannot be written is only slower."""
        try:
            cache.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=cache.parent, prefix=f".{cache.name}-")
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump({"fetched": time.time(), "result": result}, fh)
            os.replace(tmp, cache)
        except OSError:
            pass

    def _fetch(self, name: str, version: str) -> list[Any] | str:
        base = f"{self.root}/pypi/{canonicalize_name(name)}"
        try:
            data = self._get(f"{base}/{version}/json")
            return list(data.get("vulnerabilities") or [])
        except urllib.error.HTTPError as exc:
            if exc.code != 404:
                raise
        # No release page: the project page describes the latest release only.
        try:
            data = self._get(f"{base}/json")
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return f"not on {self.display}"
            raise
        latest = str((data.get("info") or {}).get("version") or "")
        if _vkey(latest) is not None and _vkey(latest) == _vkey(version):
            return list(data.get("vulnerabilities") or [])
        raise NoReleaseData(version)


@dataclass
class _Outcome:
    pkg: LockedPackage
    advisories: list[Advisory] = field(default_factory=list)
    skipped: str | None = None
    failed: str | None = None


def _local(pkg: LockedPackage) -> bool:
    artifact = pkg.wheel or pkg.sdist
    return bool(artifact and artifact.path and artifact.path.startswith("local:"))


def audit_lock(
    lock: Lock,
    constraints: Constraints,
    index: AdvisoryIndex,
    *,
    ignore: Sequence[tuple[str, str]] = (),
    reporter: Reporter | None = None,
) -> AuditReport:
    """Check every locked package (bundled, fallback and provided) against the advisories.

    ``ignore`` is (advisory id or alias, reason) pairs: such findings stay in the report,
    marked with the reason. Packages the index cannot answer for are ``unavailable``.
    """
    reporter = reporter or NullReporter()
    packages = [p for p in lock.packages if p.role in (BUNDLE, FALLBACK, PROVIDED)]
    reporter.step(f"Auditing {len(packages)} packages against {index.display}")

    def one(pkg: LockedPackage) -> _Outcome:
        if _local(pkg):
            return _Outcome(pkg, skipped="a local package, not published")
        try:
            result = index.query(pkg.name, pkg.version)
        except (OSError, ValueError) as exc:  # URLError, HTTPError, timeouts, bad JSON
            return _Outcome(pkg, failed=index.reason(exc))
        if isinstance(result, str):
            return _Outcome(pkg, skipped=result)
        return _Outcome(pkg, advisories=parse_advisories(result))

    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        outcomes = list(pool.map(one, sorted(packages, key=lambda p: p.name)))
    ignored = {ident.upper(): reason for ident, reason in ignore}
    used: set[str] = set()
    findings: list[Finding] = []
    for out in outcomes:
        for adv in out.advisories:
            fix = first_fix(out.pkg.version, adv.fixed_in)
            hit = next((i for i in (adv.id, *adv.aliases) if i.upper() in ignored), None)
            if hit is not None:
                used.add(hit.upper())
            findings.append(
                Finding(
                    out.pkg.name,
                    out.pkg.version,
                    out.pkg.role,
                    adv,
                    fix,
                    fix_allowed(out.pkg, fix, constraints),
                    ignored[hit.upper()] if hit is not None else None,
                )
            )
    skipped = tuple(Unchecked(o.pkg.name, o.pkg.version, o.skipped) for o in outcomes if o.skipped)
    failed = tuple(Unchecked(o.pkg.name, o.pkg.version, o.failed) for o in outcomes if o.failed)
    published = [o for o in outcomes if not _local(o.pkg)]
    if published and all(o.skipped for o in published):
        # An index without the JSON API answers 404 for everything: never a silent pass.
        failed = tuple(Unchecked(s.name, s.version, f"{s.reason}: no JSON API?") for s in skipped)
        skipped = ()
    return AuditReport(
        target=lock.target,
        index=index.display,
        audited=sum(1 for o in outcomes if not o.skipped and not o.failed),
        findings=tuple(findings),
        skipped=skipped,
        unavailable=failed,
        unused_ignores=tuple(i for i, _ in ignore if i.upper() not in used),
    )


def unavailable_error(report: AuditReport) -> AuditUnavailable:
    """The error of an incomplete audit, naming the index and the first reasons."""
    first = report.unavailable[0]
    many = len(report.unavailable)
    return AuditUnavailable(
        f"The advisory data of {many} of {many + report.audited + len(report.skipped)} "
        f"package(s) could not be read ({first.name} {first.version}: {first.reason}); "
        "the audit is incomplete.",
        hint=f"Check your network (and index credentials); mwaadeps reads advisories from "
        f"{report.index}/pypi/<name>/<version>/json. Set [index] url to a mirror that serves "
        "that JSON API when PyPI is not reachable.",
    )


def failure_error(report: AuditReport, fail_on: str) -> VulnerabilitiesFound:
    """The error of `build --audit` when findings remain at or above ``fail_on``."""
    failing = report.failing(fail_on)
    shown = "; ".join(
        f"{f.name} {f.version}: {f.advisory.id} (fix {f.fix or 'none'}, {f.allowed})"
        for f in failing[:5]
    )
    more = f" and {len(failing) - 5} more" if len(failing) > 5 else ""
    return VulnerabilitiesFound(
        f"{len(failing)} known vulnerabilit{'y' if len(failing) == 1 else 'ies'} in the locked "
        f"packages ({shown}{more}); the bundle was not written.",
        hint="Upgrade the package where the fix is allowed, or ignore the advisory with a "
        'reason in mwaadeps.toml: [audit] ignore = [{ id = "...", reason = "..." }]. '
        "`mwaadeps audit` shows the full table.",
    )


def index_for(settings: Settings) -> AdvisoryIndex:
    """The advisory source of the settings: ``[index] url``'s JSON API, else PyPI's."""
    url = settings.index.resolved_urls(settings.env)[0] if settings.index else None
    return AdvisoryIndex(url, settings.cache_dir, secrets=settings.secrets())


def fail_on_for(settings: Settings, cli_value: str | None = None) -> FailOn:
    """--fail-on, else [audit] fail-on, else any."""
    if cli_value is not None:
        return check_fail_on(cli_value)
    return settings.audit_fail_on or FailOn.ANY


def run_audit(
    settings: Settings,
    lock: Lock,
    constraints: Constraints,
    *,
    ignore: Sequence[tuple[str, str]] = (),
    reporter: Reporter | None = None,
) -> AuditReport:
    """Audit a lock with the settings' index, [audit] ignore entries and the given ones."""
    return audit_lock(
        lock,
        constraints,
        index_for(settings),
        ignore=(*settings.audit_ignore, *ignore),
        reporter=reporter,
    )


def gate(
    settings: Settings, lock: Lock, constraints: Constraints, reporter: Reporter
) -> AuditReport:
    """`build --audit`: the report, or an error when it is incomplete or fails the policy."""
    fail_on = fail_on_for(settings)
    report = run_audit(settings, lock, constraints, reporter=reporter)
    if report.unavailable:
        raise unavailable_error(report)
    if report.failing(fail_on):
        raise failure_error(report, fail_on)
    return report
