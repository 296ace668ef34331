"""``mwaadeps check``: lint parsed requirements for an MWAA target, without resolving."""

from __future__ import annotations

import difflib
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.specifiers import Specifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from mwaadeps.build.constraints import Constraints
from mwaadeps.choices import BuildMode, parse_choice
from mwaadeps.redact import literal_credentials, redact
from mwaadeps.requirements.model import (
    MWAA_PREFIX,
    ParsedOption,
    ParsedRequirement,
    Problem,
    RequirementsFile,
    Severity,
)
from mwaadeps.targets import PROVIDED_BY_IMAGE, Target

AIRFLOW = "apache-airflow"
PLUGINS_DIR = "/usr/local/airflow/plugins"
_CREDENTIAL_OPTIONS = (
    "--index-url", "--extra-index-url", "--find-links", "--trusted-host", "--constraint",
)  # fmt: skip
# The Apache constraints layout, on GitHub or a proxy of it:
# constraints-<airflow>/constraints-<X.Y>.txt
_CONSTRAINTS_PATH_RE = re.compile(
    r"constraints-(?P<airflow>\d+(?:\.\d+){1,3}[A-Za-z0-9.]*)/constraints-(?P<python>\d+\.\d+)\.txt"
)
_CANONICAL_PREFIX = "https://raw.githubusercontent.com/apache/airflow/"
_PROVIDED = frozenset(canonicalize_name(p) for p in PROVIDED_BY_IMAGE)
_CREDENTIALS_HINT = (
    "Use ${VAR} placeholders (https://${NEXUS_USER}:${NEXUS_PASSWORD}@host/...), or an "
    "[index] table in mwaadeps.toml with url, username-env and password-env; then rotate "
    "the exposed credential."
)


@dataclass(frozen=True)
class ConstraintsLine:
    """A ``-c/--constraint`` URL line of a requirements file and what it names."""

    option: ParsedOption
    url: str = field(repr=False)
    airflow: str | None  # the versions of a constraints-<airflow>/constraints-<X.Y>.txt path
    python: str | None

    @property
    def canonical(self) -> bool:
        """True for the Apache Airflow constraints URL on GitHub."""
        return self.url.startswith(_CANONICAL_PREFIX) and self.airflow is not None

    def stale(self, target: Target) -> bool:
        """True when it names another Airflow version or Python than the target's."""
        if self.airflow is None:
            return False
        return (self.airflow, self.python) != (target.airflow_version, target.python_version)

    def fixed_url(self, target: Target) -> str:
        """The same URL with the target's Airflow version and Python."""
        found = _CONSTRAINTS_PATH_RE.search(self.url)
        if found is None:
            return self.url
        wanted = f"constraints-{target.airflow_version}/constraints-{target.python_version}.txt"
        return self.url[: found.start()] + wanted + self.url[found.end() :]


def constraint_lines(req_file: RequirementsFile) -> tuple[ConstraintsLine, ...]:
    """Every ``-c`` line that names a URL (local files are read as nested constraints)."""
    out = []
    for option in req_file.options_named("--constraint"):
        value = (option.value or "").strip()
        if "://" not in value or value.lower().startswith("file:"):
            continue
        found = _CONSTRAINTS_PATH_RE.search(value)
        airflow = found.group("airflow") if found else None
        python = found.group("python") if found else None
        out.append(ConstraintsLine(option, value, airflow, python))
    return tuple(out)


def constraints_from_requirements(req_file: RequirementsFile, target: Target) -> str | None:
    """The constraints source a requirements file asks for, or None for the target's own.

    The target's canonical URL is the target's own constraints (mwaadeps' local or cached
    copy); a stale one is an error of the check, so it names no source; the first other
    URL (a Nexus raw proxy, a copy on an internal host) is the source to fetch.
    """
    for line in constraint_lines(req_file):
        if line.stale(target) or line.canonical:
            continue
        return line.url
    return None


_NOT_FOUND_RES = (
    # uv: "Because pandsa was not found in the package registry and you require pandsa, ..."
    re.compile(
        r"Because ([A-Za-z0-9][A-Za-z0-9._-]*) was not found in the "
        r"(?:package registry|provided package locations)"
    ),
    # pip / pip-tools
    re.compile(r"No matching distribution found for ([A-Za-z0-9][A-Za-z0-9._-]*)"),
)


def unknown_projects(message: str) -> tuple[str, ...]:
    """The (canonical) names a resolver's error says no index has, in order."""
    found: dict[str, None] = {}
    for pattern in _NOT_FOUND_RES:
        for match in pattern.finditer(message):
            found.setdefault(canonicalize_name(match.group(1)), None)
    return tuple(found)


def did_you_mean(
    req_file: RequirementsFile, missing: Iterable[str], known: Mapping[str, str]
) -> tuple[str, ...]:
    """``file:line: pandsa is on no index; did you mean pandas?`` per requirement of ``missing``.

    ``known`` maps canonical names mwaadeps already has (the constraints, the base install)
    to their display names; no index is asked for its list of names.
    """
    names = sorted(known)
    out = []
    wanted = set(missing)
    for parsed in (*req_file.requirements, *req_file.constraints):
        if parsed.name not in wanted:
            continue
        close = difflib.get_close_matches(parsed.name, names, n=2, cutoff=0.8)
        shown = " or ".join(known[c] for c in close)
        guess = f"; did you mean {shown}?" if close else " (no similar name in the constraints)."
        out.append(f"{parsed.origin}: {parsed.requirement.name} is on no package index{guess}")
    return tuple(out)


@dataclass(frozen=True)
class CheckReport:
    """The verdict of ``check_requirements``: ``ok`` when no problem is an error."""

    requirements: Path
    target: Target
    problems: tuple[Problem, ...]
    mode: str = "bundle"

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def errors(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity == "error")

    @property
    def warnings(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity == "warning")

    def to_dict(self) -> dict[str, object]:
        """The --json shape."""
        return {
            "ok": self.ok,
            "requirements": str(self.requirements),
            "target": self.target.to_dict(),
            "problems": [p.to_dict() for p in self.problems],
        }


def _marker_env(target: Target) -> dict[str, str]:
    return {**target.marker_env(), "extra": ""}


def _applies(marker: Marker | None, env: dict[str, str]) -> bool:
    """True when the requirement's marker holds on the target (or cannot be decided)."""
    if marker is None:
        return True
    try:
        return bool(marker.evaluate(env))  # type: ignore[arg-type]
    except Exception:
        return True


def _describe(req: Requirement) -> str:
    """``pandas 2.2.0`` for an exact pin, ``pandas>=2.2`` otherwise."""
    specs = list(req.specifier)
    if len(specs) == 1 and specs[0].operator == "==" and "*" not in specs[0].version:
        return f"{req.name} {specs[0].version}"
    return f"{req.name}{req.specifier}"


def _admits(spec: SpecifierSet, version: str) -> bool:
    return spec.contains(version, prereleases=True)


def _candidates(spec: SpecifierSet) -> Iterable[str]:
    """Versions around every bound of ``spec``: if none satisfies it, nothing does."""
    yield "0"
    yield "99999"
    for single in spec:
        text = single.version.removesuffix(".*")
        yield text
        try:
            version = Version(text)
        except InvalidVersion:
            continue
        release = list(version.release)
        yield ".".join(map(str, [*release, 0, 1]))
        yield ".".join(map(str, [*release, 1]))
        for i in range(len(release)):
            bumped = [*release[:i], release[i] + 1]
            yield ".".join(map(str, bumped))
            if release[i] > 0:
                yield ".".join(map(str, [*release[:i], release[i] - 1, 99999]))


def satisfiable(spec: SpecifierSet) -> bool:
    """Whether some version meets every specifier (a sound test for real-world specifiers)."""
    if any(s.operator == "===" for s in spec):
        return True
    singles = list(spec)
    for candidate in dict.fromkeys(_candidates(spec)):
        if not _valid(candidate):
            continue
        for i, single in enumerate(singles):
            if not single.contains(candidate, prereleases=True):
                # The specifier that refused this candidate goes first for the next one: a
                # long list of specifiers costs a long scan only for candidates that pass.
                singles[0], singles[i] = singles[i], singles[0]
                break
        else:
            return True
    return False


def _valid(text: str) -> bool:
    try:
        Version(text)
    except InvalidVersion:
        return False
    return True


def _listing(entries: list[ParsedRequirement], most: int = 10) -> str:
    """The entries as ``pandas 2.1.4 (file:line)``, the first ``most`` of them."""
    shown = ", ".join(_where(e) for e in entries[:most])
    return shown + (f" and {len(entries) - most} more" if len(entries) > most else "")


def combine(specifiers: Iterable[SpecifierSet]) -> SpecifierSet:
    """Every specifier at once (pip's view of duplicate lines), each distinct one once."""
    distinct: dict[str, Specifier] = {}
    for spec_set in specifiers:
        for spec in spec_set:
            distinct.setdefault(str(spec), spec)
    return SpecifierSet(",".join(distinct))


def _where(parsed: ParsedRequirement) -> str:
    kind = "constraint at " if parsed.constraint else ""
    return f"{_describe(parsed.requirement)} ({kind}{parsed.origin})"


@dataclass(frozen=True)
class _Finding:
    severity: Severity
    code: str
    message: str
    hint: str
    pin_error: bool


class _Checker:
    def __init__(self, req_file: RequirementsFile, target: Target,
                 constraints: Constraints | None, mode: str) -> None:  # fmt: skip
        self.req_file = req_file
        self.target = target
        self.constraints = constraints
        self.mode = mode
        self.env = _marker_env(target)
        self.problems: list[Problem] = list(req_file.problems)
        self.pin_errors: set[int] = set()
        self.findings: list[_Finding] = []

    def find(self, severity: Severity, code: str, message: str, hint: str,
             pin_error: bool = False) -> None:  # fmt: skip
        """A finding of check_requirement, independent of the line it is on."""
        self.findings.append(_Finding(severity, code, message, hint, pin_error))

    def add(self, severity: Severity, code: str, item: ParsedRequirement | ParsedOption,
            message: str, hint: str) -> None:  # fmt: skip
        self.problems.append(Problem(severity, code, item.origin, redact(message), redact(hint)))

    def run(self) -> tuple[Problem, ...]:
        verdicts: dict[tuple[int, bool], tuple[bool, list[_Finding]]] = {}
        applicable = []
        for parsed in (*self.req_file.requirements, *self.req_file.constraints):
            # Repeated lines share one Requirement object: judge each distinct one once.
            seen = (id(parsed.requirement), parsed.constraint)
            if seen not in verdicts:
                self.findings = []
                applies = _applies(parsed.requirement.marker, self.env)
                if applies:
                    self.check_requirement(parsed)
                verdicts[seen] = (applies, self.findings)
            applies, findings = verdicts[seen]
            if not applies:
                continue
            applicable.append(parsed)
            for finding in findings:
                self.add(finding.severity, finding.code, parsed, finding.message, finding.hint)
                if finding.pin_error:
                    self.pin_errors.add(id(parsed))
        self.check_duplicates(applicable)
        for option in self.req_file.options:
            self.check_option(option)
        self.check_constraint_lines()
        order = {path: i for i, path in enumerate(self.req_file.files)}

        def key(p: Problem) -> tuple[int, int]:
            if p.origin is None:
                return (len(order) + 1, 0)
            return (order.get(p.origin.file, len(order)), p.origin.line)

        return tuple(sorted(self.problems, key=key))

    def check_requirement(self, parsed: ParsedRequirement) -> None:
        req = parsed.requirement
        name = parsed.name
        kind = "constraint" if parsed.constraint else "requirement"
        if req.url and literal_credentials(req.url):
            self.find("error", "index-credentials",
                     f"The URL of {req.name} carries a literal credential "
                     f"({redact(req.url)}).", _CREDENTIALS_HINT)  # fmt: skip
        if name == AIRFLOW:
            wanted = self.target.airflow_version
            if req.specifier and not _admits(req.specifier, wanted):
                self.find(
                    "error", "airflow-version",
                    f"{_describe(req)} does not match the target: MWAA "
                    f"{wanted} runs apache-airflow {wanted} and never lets a {kind} change it.",
                    f"Use apache-airflow=={wanted} or drop the pin (or target another MWAA "
                    "version with --airflow-version).", pin_error=True,
                )  # fmt: skip
            return
        if name == "pkg-resources" and str(req.specifier) == "==0.0.0":
            self.find("error", "freeze-artifact",
                     "pkg-resources==0.0.0 is an artifact of pip freeze on Debian/Ubuntu; no "
                     "such release exists, so the install fails.",
                     "Delete the line.")  # fmt: skip
            return
        if name in _PROVIDED and not parsed.constraint:
            self.find(
                "warning", "provided",
                f"{req.name} is preinstalled in the MWAA image (compiled there from source); "
                "mwaadeps never bundles it, and MWAA keeps the image's copy.",
                f"Drop the line: your DAGs import the image's {req.name}.",
            )  # fmt: skip
        if self.constraints is None or not req.specifier:
            return
        essential = self.constraints.essential.get(name)
        shown = self.constraints.display_names.get(name, req.name)
        if essential is not None and not _admits(req.specifier, essential):
            self.find(
                "error", "essential-conflict",
                f"{_describe(req)} conflicts with MWAA's essential pin {shown}=={essential}: "
                "it can never install on MWAA.",
                f"Use {shown}=={essential} or drop the pin; MWAA never lets requirements "
                f"override {shown}.", pin_error=True,
            )  # fmt: skip
            return
        pin = self.constraints.pin(name)
        if pin is not None and not _admits(req.specifier, pin):
            self.find(
                "error", "constraint-conflict",
                f"{_describe(req)} conflicts with the Airflow {self.target.airflow_version} "
                f"constraint {shown}=={pin}",
                f"Use {shown}=={pin} or drop the pin (the constraints choose the version).",
                pin_error=True,
            )  # fmt: skip

    def check_duplicates(self, applicable: list[ParsedRequirement]) -> None:
        groups: dict[str, list[ParsedRequirement]] = defaultdict(list)
        for parsed in applicable:
            groups[parsed.name].append(parsed)
        for name, entries in groups.items():
            reqs = [e for e in entries if not e.constraint]
            if not reqs or len(entries) < 2 or any(e.requirement.url for e in entries):
                continue
            combined = combine(e.requirement.specifier for e in entries)
            last = reqs[-1]
            pinned_out = any(id(e) in self.pin_errors for e in entries)
            possible = satisfiable(combined)
            if not pinned_out and not possible:
                self.add(
                    "error", "duplicate-conflict", last,
                    f"{name} is listed {len(entries)} times and no version satisfies them all: "
                    f"{_listing(entries)}.",
                    f"Keep one line for {name} with the version you need.",
                )  # fmt: skip
                continue
            specs = {
                str(s)
                for s in {id(r.requirement): r.requirement.specifier for r in reqs}.values()
                if s
            }
            if len(specs) > 1:
                outcome = (
                    f"pip combines them into {combined}"
                    if possible
                    else ("no version satisfies them all")
                )
                self.add(
                    "warning", "duplicate", reqs[-1],
                    f"{name} is listed {len(reqs)} times with different specifiers: "
                    f"{_listing(reqs)}; {outcome}.",
                    f"Keep one line for {name}.",
                )  # fmt: skip

    def check_option(self, option: ParsedOption) -> None:
        value = option.value or ""
        shown = option.shown or ""
        if option.name in _CREDENTIAL_OPTIONS and literal_credentials(value):
            self.add("error", "index-credentials", option,
                     f"{option.name} {shown} carries a literal credential.",
                     _CREDENTIALS_HINT)  # fmt: skip
        if option.name == "--find-links" and "://" not in value:
            self.check_find_links(option, value)
        elif option.name == "--no-binary" and self.mode == "bundle":
            self.add(
                "warning", "no-binary", option,
                f"--no-binary {shown} asks for source distributions; an offline MWAA bundle "
                "installs wheels only.",
                "Drop the line: mwaadeps builds pure-Python sdists into wheels itself.",
            )  # fmt: skip

    def check_constraint_lines(self) -> None:
        lines = constraint_lines(self.req_file)
        used: ConstraintsLine | None = None
        for line in lines:
            shown = line.option.shown or ""
            if line.stale(self.target):
                t = self.target
                self.add(
                    "error", "constraint-url", line.option,
                    f"--constraint {shown} is the constraints of Airflow {line.airflow} "
                    f"(Python {line.python}), but the target is MWAA {t.airflow_version} "
                    f"(Python {t.python_version}).",
                    f"Run `mwaadeps fix` to point it at {redact(line.fixed_url(t))}, or "
                    "remove the line (mwaadeps then uses the target's constraints).",
                )  # fmt: skip
            elif used is None:
                used = line
            elif line.url != used.url:
                self.add(
                    "warning", "constraint-url-ignored", line.option,
                    f"--constraint {shown} is a second constraints URL; mwaadeps reads only "
                    f"the first ({used.option.shown} at {used.option.origin}).",
                    "Keep one --constraint URL line.",
                )  # fmt: skip

    def check_find_links(self, option: ParsedOption, value: str) -> None:
        if value.startswith(MWAA_PREFIX):
            self.add(
                "warning", "mwaa-path", option,
                f"--find-links {value} is a folder on the MWAA workers, not on this machine.",
                "Drop the line: mwaadeps writes --find-links "
                f"{PLUGINS_DIR} into dist/requirements.txt itself.",
            )  # fmt: skip
            return
        folder = Path(value.removeprefix("file:"))
        if not folder.is_absolute():
            folder = option.origin.file.parent / folder
        state = "" if folder.is_dir() else " (it does not exist here either)"
        self.add(
            "warning", "find-links-local", option,
            f"--find-links {value} is a folder on this machine{state}: mwaadeps can lock from "
            "it, but MWAA cannot see it.",
            "List the folder under local-packages in mwaadeps.toml: mwaadeps bundles its "
            f"wheels into plugins.zip and points MWAA at {PLUGINS_DIR}.",
        )  # fmt: skip


def check_requirements(
    req_file: RequirementsFile,
    target: Target,
    constraints: Constraints | None,
    *,
    mode: str = BuildMode.BUNDLE,
) -> CheckReport:
    """Lint a parsed requirements file for ``target``; problems sorted by file and line."""
    chosen = parse_choice(BuildMode, mode, "mode")
    problems = _Checker(req_file, target, constraints, chosen).run()
    return CheckReport(req_file.path, target, problems, chosen)


__all__ = [
    "CheckReport",
    "ConstraintsLine",
    "check_requirements",
    "combine",
    "constraint_lines",
    "constraints_from_requirements",
    "did_you_mean",
    "satisfiable",
    "unknown_projects",
]
