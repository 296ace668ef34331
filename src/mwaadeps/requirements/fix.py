"""``mwaadeps fix``: rewrite a requirements file so it installs on the target.

Each file (the top one and every nested ``-r``/``-c`` file) is edited line by line: comments,
order, markers, extras, inline comments, line endings and the byte-order mark stay. What the
rewrite cannot repair is left as it is and reported (``FixResult.remaining``). Planning reads
and returns data; only ``apply_fix`` writes.
"""

from __future__ import annotations

import difflib
import os
import re
import tempfile
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote

from packaging.specifiers import SpecifierSet
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)

from mwaadeps.build.constraints import Constraints
from mwaadeps.errors import RequirementsError
from mwaadeps.requirements.model import ParsedRequirement, Problem, RequirementsFile
from mwaadeps.requirements.parser import (
    Decoded,
    comment_start,
    decode,
    parse_requirements,
    split_args,
)
from mwaadeps.requirements.rules import check_requirements, combine, constraint_lines, satisfiable
from mwaadeps.targets import Target

_PIN_CODES = ("constraint-conflict", "essential-conflict")
_NAME_RE = re.compile(r"\s*[A-Za-z0-9][A-Za-z0-9._-]*\s*(?:\[[^\]]*\]\s*)?")
_EXTRAS_RE = re.compile(r"\[[^\]]*\]")
_BREAKS = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"


@dataclass(frozen=True)
class FixChange:
    """One line rewritten (``after``) or removed (``after`` None), and why."""

    file: Path
    line: int
    before: str
    after: str | None
    reason: str

    def to_dict(self) -> dict[str, object]:
        return {
            "file": str(self.file),
            "line": self.line,
            "before": self.before,
            "after": self.after,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class FixResult:
    """The planned rewrite: the changes, each changed file's old and new text, what remains."""

    changes: tuple[FixChange, ...]
    files: dict[Path, tuple[str, str]]  # path -> (old text, new text), only files that change
    remaining: tuple[Problem, ...]  # check problems fix cannot repair

    @property
    def changed(self) -> bool:
        return bool(self.files)

    @property
    def ok(self) -> bool:
        """True when no error remains after the fix."""
        return not any(p.severity == "error" for p in self.remaining)

    def diff(self) -> str:
        """A unified diff of every changed file."""
        out: list[str] = []
        for path, (old, new) in self.files.items():
            lines = difflib.unified_diff(
                old.splitlines(keepends=True),
                new.splitlines(keepends=True),
                f"{path}",
                f"{path}",
            )
            for line in lines:
                if not line.endswith(tuple(_BREAKS)):
                    line += "\n\\ No newline at end of file\n"
                out.append(line)
        return "".join(out)

    def to_dict(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "changed": self.changed,
            "files": [str(p) for p in self.files],
            "diff": self.diff(),
            "changes": [c.to_dict() for c in self.changes],
            "remaining": [p.to_dict() for p in self.remaining],
        }


@dataclass
class _File:
    """A file being edited: its decoded text split into physical lines (endings kept)."""

    path: Path
    decoded: Decoded
    lines: list[str]
    editable: bool
    edits: dict[int, tuple[str | None, str]] = field(default_factory=dict)  # line -> new, why

    def content(self, number: int) -> str:
        raw = self.lines[number - 1]
        return raw[: len(raw) - len(_ending(raw))]

    def single(self, number: int) -> bool:
        """True when the logical line at ``number`` is that one physical line."""
        return 0 < number <= len(self.lines) and not self.content(number).endswith("\\")

    def current(self, number: int) -> str:
        """The line as planned so far (a removed line reads as it was)."""
        new = self.edits.get(number, (None, ""))[0]
        return self.content(number) if new is None else new

    def edit(self, number: int, new: str | None, reason: str) -> None:
        if new == self.content(number):
            return
        self.edits[number] = (new, reason)


def _ending(raw: str) -> str:
    if raw.endswith("\r\n"):
        return "\r\n"
    return raw[-1] if raw and raw[-1] in _BREAKS else ""


def _line_parts(content: str) -> tuple[str, str, str, str]:
    """(text before the requirement, the requirement, options after it, the comment)."""
    cut = comment_start(content)
    body, comment = (content, "") if cut is None else (content[:cut], content[cut:])
    lead = body[: len(body) - len(body.lstrip())]
    args, _ = split_args(body.strip())
    end = len(lead) + len(args)
    return lead, body[len(lead) : end], body[end:], comment


def _respec(args: str, spec: str, extras: list[str] | None = None) -> str:
    """``args`` (``name[extras] spec ; marker``) with another specifier (and extras)."""
    head, sep, marker = args.partition(";")
    named = _NAME_RE.match(head)
    if named is None:
        return args
    name_part = head[: named.end()].rstrip()
    gap = head[len(name_part) : named.end()]
    region = head[named.end() :]
    trailing = region[len(region.rstrip()) :]
    if extras is not None:
        listed = "[" + ",".join(extras) + "]"
        if _EXTRAS_RE.search(name_part):
            name_part = _EXTRAS_RE.sub(lambda _: listed, name_part, count=1)
        elif extras:
            name_part += listed
    return name_part + (gap + spec if spec else "") + trailing + sep + marker


def _version_in_name(location: str) -> tuple[str, str] | None:
    """(name, version) from the file name of a wheel or sdist URL or path."""
    tail = unquote(location.split("#", 1)[0].split("?", 1)[0]).rstrip("/\\")
    tail = re.split(r"[/\\]", tail)[-1]
    try:
        if tail.endswith(".whl"):
            name, version, _, _ = parse_wheel_filename(tail)
            return str(name), str(version)
        name, version = parse_sdist_filename(tail)
        return str(name), str(version)
    except (InvalidWheelFilename, InvalidSdistFilename):
        return None


def _exact(spec: SpecifierSet) -> bool:
    specs = list(spec)
    return len(specs) == 1 and specs[0].operator in ("==", "===") and "*" not in specs[0].version


class _Planner:
    def __init__(self, parsed: RequirementsFile, target: Target, constraints: Constraints) -> None:
        self.parsed = parsed
        self.target = target
        self.constraints = constraints
        self.files: dict[Path, _File] = {}
        self.keys: dict[Path, Path] = {}
        for path in parsed.files:
            key = self.key(path)
            if key in self.files:
                continue
            data = path.read_bytes()
            decoded = decode(data)
            editable = decoded.bad_line is None and decoded.encode(decoded.text) == data
            lines = decoded.text.splitlines(keepends=True)
            self.files[key] = _File(path, decoded, lines, editable)
        self.codes: dict[tuple[Path, int], set[str]] = defaultdict(set)
        report = check_requirements(parsed, target, constraints)
        for problem in report.problems:
            if problem.origin is not None:
                where = (self.key(problem.origin.file), problem.origin.line)
                self.codes[where].add(problem.code)
        # What each requirement line asks for once fixed: its specifier (None = removed).
        self.wanted: dict[int, SpecifierSet | None] = {}

    def key(self, path: Path) -> Path:
        """The resolved path (files are keyed by it; resolving is a system call per part)."""
        found = self.keys.get(path)
        if found is None:
            found = self.keys[path] = path.resolve()
        return found

    def file_of(self, parsed: ParsedRequirement) -> _File | None:
        found = self.files.get(self.key(parsed.origin.file))
        if found is None or not found.editable or not found.single(parsed.origin.line):
            return None
        return found

    def allowed(self, name: str) -> str | None:
        return self.constraints.essential.get(name) or self.constraints.pin(name)

    def shown(self, name: str, written: str) -> str:
        return self.constraints.display_names.get(name, written)

    def run(self) -> None:
        for parsed in (*self.parsed.requirements, *self.parsed.constraints):
            self.fix_requirement(parsed)
        self.merge_duplicates()
        self.fix_bare_paths()
        self.fix_constraint_urls()

    def fix_requirement(self, parsed: ParsedRequirement) -> None:
        where = self.file_of(parsed)
        if where is None:
            return
        number = parsed.origin.line
        codes = self.codes.get((self.key(where.path), number), set())
        req = parsed.requirement
        name = parsed.name
        content = where.content(number)
        if "airflow-version" in codes:
            why = (
                f"MWAA {self.target.airflow_version} runs apache-airflow "
                f"{self.target.airflow_version} itself; a pin to another version cannot install"
            )
            where.edit(number, None, why)
            self.wanted[id(parsed)] = None
            return
        if "freeze-artifact" in codes:
            where.edit(number, None, "pkg-resources==0.0.0 is an artifact of pip freeze")
            self.wanted[id(parsed)] = None
            return
        lead, args, rest, comment = _line_parts(content)
        if req.url and req.url.lower().startswith("file:") and not parsed.hashes:
            found = _version_in_name(req.url)
            version, how = (found[1], "the version in its file name") if found else (None, "")
            allowed = self.allowed(name)
            if allowed and (version is None or not SpecifierSet(f"=={version}").contains(allowed)):
                version, how = allowed, "the version the constraints allow"
            spec = f"=={version}" if version else ""
            name_part = args[: args.index("@")].rstrip()
            marker = args[args.find(req.url) + len(req.url) :] if req.url in args else ""
            new_args = name_part + spec + marker
            file_name = re.split(r"[/\\]", req.url.rstrip("/"))[-1]
            why = f"{req.name} @ .../{file_name} is a file on this machine; " + (
                f"pinned to {how}" if version else "left unpinned (no version known)"
            )
            where.edit(number, lead + new_args + rest + comment, why)
            self.wanted[id(parsed)] = SpecifierSet(spec)
            return
        if req.url or parsed.hashes:
            return
        self.wanted[id(parsed)] = req.specifier
        if not codes & set(_PIN_CODES):
            return
        allowed = self.allowed(name)
        if allowed is None:
            return
        spec = f"=={allowed}" if _exact(req.specifier) else ""
        shown = self.shown(name, req.name)
        why = f"{req.name}{req.specifier} conflicts with the target's pin {shown}=={allowed}; " + (
            f"pinned to {allowed}" if spec else "the constraints choose the version"
        )
        where.edit(number, lead + _respec(args, spec) + rest + comment, why)
        self.wanted[id(parsed)] = SpecifierSet(spec)

    def fix_bare_paths(self) -> None:
        """A path to a wheel or sdist (``C:\\wheels\\x-1.0-py3-none-any.whl``) -> x==1.0.

        When the file lists the project already, the path line goes instead.
        """
        listed: dict[tuple[Path, str], int] = {}
        for parsed in self.parsed.requirements:
            if parsed.requirement.marker is None and self.wanted.get(id(parsed), 0) is not None:
                listed.setdefault((self.key(parsed.origin.file), parsed.name), parsed.origin.line)
        for (key, number), codes in sorted(self.codes.items(), key=lambda kv: kv[0][1]):
            where = self.files.get(key)
            if "local-path" not in codes or where is None or not where.editable:
                continue
            if not where.single(number):
                continue
            lead, args, rest, comment = _line_parts(where.content(number))
            if "@" in args or ";" in args:
                continue
            found = _version_in_name(args)
            if found is None:
                continue
            name, version = found
            first = listed.setdefault((key, canonicalize_name(name)), number)
            if first != number:
                where.edit(number, None, f"{args} is a file on this machine; {name} is on line "
                           f"{first} already")  # fmt: skip
                continue
            allowed = self.allowed(canonicalize_name(name))
            if allowed and allowed != version:
                version = allowed
            why = f"{args} is a file on this machine; pinned to {name}=={version}"
            where.edit(number, f"{lead}{name}=={version}{rest}{comment}", why)

    def merge_duplicates(self) -> None:
        """Lines naming the same project (same file and marker) become one, at the first."""
        groups: dict[tuple[Path, str, str], list[ParsedRequirement]] = defaultdict(list)
        for parsed in self.parsed.requirements:
            key = self.key(parsed.origin.file)
            marker = str(parsed.requirement.marker or "")
            groups[(key, parsed.name, marker)].append(parsed)
        for (key, name, _), entries in groups.items():
            where = self.files[key]
            live = [e for e in entries if self.wanted.get(id(e), False) is not None]
            if len(live) < 2 or any(id(e) not in self.wanted for e in live):
                continue  # a URL, hashes or a line fix cannot edit keeps the group as it is
            specs = [self.wanted[id(e)] or SpecifierSet() for e in live]
            same_extras = len({frozenset(e.requirement.extras) for e in live}) == 1
            if len({str(s) for s in specs if s}) <= 1 and not same_extras:
                # apache-airflow[celery]==2.9.2 and apache-airflow[amazon]: pip reads them as
                # one; only exact repeats go.
                self.drop_repeats(where, live, specs)
                continue
            combined = combine(specs)
            allowed = self.allowed(name)
            if satisfiable(combined) and (
                allowed is None or combined.contains(allowed, prereleases=True)
            ):
                spec = str(combined)
            elif allowed is not None:
                spec = f"=={allowed}" if any(_exact(s) for s in specs) else ""
            else:
                continue  # no version satisfies them all and nothing says which: the user's call
            extras: list[str] = []
            for entry in live:
                for extra in sorted(entry.requirement.extras):
                    if extra not in extras:
                        extras.append(extra)
            first = live[0]
            number = first.origin.line
            lines = ", ".join(str(e.origin.line) for e in live[:10])
            lines += f" and {len(live) - 10} more" if len(live) > 10 else ""
            if specs[0] != SpecifierSet(spec) or set(extras) != first.requirement.extras:
                lead, args, rest, comment = _line_parts(where.current(number))
                where.edit(
                    number,
                    lead + _respec(args, spec, extras or None) + rest + comment,
                    f"{name} is listed {len(live)} times (lines {lines}); merged into one line",
                )
            for entry in live[1:]:
                where.edit(entry.origin.line, None, f"duplicate of {name} on line {number}")

    def drop_repeats(
        self, where: _File, live: list[ParsedRequirement], specs: list[SpecifierSet]
    ) -> None:
        seen: dict[tuple[frozenset[str], str], int] = {}
        for entry, spec in zip(live, specs, strict=True):
            extras = (frozenset(entry.requirement.extras), str(spec))
            if extras in seen:
                name = entry.requirement.name
                where.edit(entry.origin.line, None, f"repeats {name} of line {seen[extras]}")
            else:
                seen[extras] = entry.origin.line

    def fix_constraint_urls(self) -> None:
        for line in constraint_lines(self.parsed):
            if not line.stale(self.target):
                continue
            key = self.key(line.option.origin.file)
            where = self.files.get(key)
            number = line.option.origin.line
            if where is None or not where.editable or not where.single(number):
                continue
            content = where.content(number)
            fixed = line.fixed_url(self.target)
            if line.url not in content:
                continue
            t = self.target
            where.edit(
                number,
                content.replace(line.url, fixed, 1),
                f"the constraints of Airflow {line.airflow} (Python {line.python}) -> the "
                f"target's (Airflow {t.airflow_version}, Python {t.python_version})",
            )

    def result(self, top: Path) -> FixResult:
        changes: list[FixChange] = []
        texts: dict[Path, tuple[str, str]] = {}
        overrides: dict[Path, bytes] = {}
        for key, where in self.files.items():
            if not where.edits:
                continue
            out: list[str] = []
            for number, raw in enumerate(where.lines, 1):
                if number not in where.edits:
                    out.append(raw)
                    continue
                new, why = where.edits[number]
                changes.append(FixChange(where.path, number, where.content(number), new, why))
                if new is not None:
                    out.append(new + _ending(raw))
            old, new_text = where.decoded.text, "".join(out)
            if new_text != old:
                texts[where.path] = (old, new_text)
                overrides[key] = where.decoded.encode(new_text)
        after = parse_requirements(top, overrides)
        remaining = check_requirements(after, self.target, self.constraints).problems
        return FixResult(tuple(changes), texts, remaining)


def plan_fix(path: Path, target: Target, constraints: Constraints) -> FixResult:
    """What ``mwaadeps fix`` would change in ``path`` and its nested files, and what remains.

    Raises ``RequirementsError`` when ``path`` cannot be read.
    """
    planner = _Planner(parse_requirements(path), target, constraints)
    planner.run()
    return planner.result(path)


def apply_fix(result: FixResult) -> None:
    """Write each changed file atomically, in its own encoding, byte-order mark and mode."""
    for path, (old, new) in result.files.items():
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise RequirementsError(f"Cannot read {path}: {exc.strerror or exc}.") from None
        decoded = decode(data)
        if decoded.text != old:
            raise RequirementsError(
                f"{path} changed since the fix was planned; nothing was written to it.",
                hint="Run `mwaadeps fix` again.",
            )
        real = path.resolve()  # a symlinked file is rewritten where it lives
        mode = real.stat().st_mode & 0o7777
        fd, tmp = tempfile.mkstemp(dir=real.parent, prefix=f".{real.name}-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(decoded.encode(new))
            os.chmod(tmp, mode)
            os.replace(tmp, real)
        except OSError as exc:
            Path(tmp).unlink(missing_ok=True)
            raise RequirementsError(f"Cannot write {path}: {exc.strerror or exc}.") from None


__all__ = ["FixChange", "FixResult", "apply_fix", "plan_fix"]
