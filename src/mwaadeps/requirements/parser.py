"""Parse requirements files the way pip does (file:line, nested -r, options) -> the model."""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement

from mwaadeps.errors import RequirementsError
from mwaadeps.redact import redact
from mwaadeps.requirements.model import (
    MWAA_PREFIX,
    Origin,
    ParsedOption,
    ParsedRequirement,
    Problem,
    RequirementsFile,
    Severity,
)

BUNDLE_FIX = (
    "build a wheel and list it in a find-links folder, or list the folder under "
    "local-packages in mwaadeps.toml"
)


# pip's own patterns (pip/_internal/req/req_file.py); its comment and userinfo regexes are
# matched by hand below (they backtrack quadratically on long lines).
_ENV_VAR_RE = re.compile(r"\$\{(?P<name>[A-Z0-9_]+)\}")


_SCHEME_RE = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


_VCS_RE = re.compile(r"^(git|hg|svn|bzr)\+", re.IGNORECASE)


_DRIVE_RE = re.compile(r"^[a-zA-Z]:[\\/]")


_ARCHIVE_EXTS = (".whl", ".zip", ".tar.gz", ".tgz", ".tar.bz2", ".tbz", ".tar.xz", ".txz", ".tar")


_HINT_HEAD_RE = re.compile(r"[A-Za-z0-9._\[\],-]+\s*===?\s*")


_HINT_VERSION_RE = re.compile(r"\d+(?:\.\d+)*")


_CODING_RE = re.compile(rb"^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)")


# Long option -> takes a value. Every option pip accepts in a requirements file.
_OPTIONS: dict[str, bool] = {
    "--requirement": True,
    "--constraint": True,
    "--editable": True,
    "--index-url": True,
    "--extra-index-url": True,
    "--no-index": False,
    "--find-links": True,
    "--trusted-host": True,
    "--pre": False,
    "--only-binary": True,
    "--no-binary": True,
    "--prefer-binary": False,
    "--require-hashes": False,
    "--use-feature": True,
    "--hash": True,
    "--config-settings": True,
    "--global-option": True,
}


_SHORT = {
    "-r": "--requirement",
    "-c": "--constraint",
    "-e": "--editable",
    "-i": "--index-url",
    "-f": "--find-links",
    "-C": "--config-settings",
}


_PER_REQUIREMENT = {"--hash", "--config-settings", "--global-option"}


def expand_env_vars(text: str, env: Mapping[str, str]) -> str:
    """Expand ``${VAR}`` (upper-case names, as pip does); unset variables stay as written."""
    return _ENV_VAR_RE.sub(lambda m: env.get(m.group("name"), m.group(0)), text)


@dataclass(frozen=True)
class Decoded:
    """A file's text as pip reads it, and how to write it back byte for byte."""

    text: str
    encoding: str
    bom: bytes = b""
    bad_line: int | None = None  # the line of the first byte that is not UTF-8

    def encode(self, text: str) -> bytes:
        """``text`` in this file's encoding, its byte-order mark first."""
        return self.bom + text.encode(self.encoding)


def decode(data: bytes) -> Decoded:
    """Decode a requirements file: BOM, then a coding cookie, then UTF-8 (as pip does)."""
    boms = (
        (codecs.BOM_UTF8, "utf-8"),
        (codecs.BOM_UTF32_LE, "utf-32-le"),
        (codecs.BOM_UTF32_BE, "utf-32-be"),
        (codecs.BOM_UTF16_LE, "utf-16-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be"),
    )
    for bom, encoding in boms:
        if data.startswith(bom):
            return Decoded(data[len(bom) :].decode(encoding, errors="replace"), encoding, bom)
    for line in data.split(b"\n", 2)[:2]:
        match = _CODING_RE.match(line)
        if match:
            encoding = match.group(1).decode("ascii")
            try:
                return Decoded(data.decode(encoding, errors="replace"), encoding)
            except LookupError:
                break
    try:
        return Decoded(data.decode("utf-8"), "utf-8")
    except UnicodeDecodeError as exc:
        bad_line = data[: exc.start].count(b"\n") + 1
        return Decoded(data.decode("utf-8", errors="replace"), "utf-8", bad_line=bad_line)


def _logical_lines(text: str) -> Iterator[tuple[int, str]]:
    """pip's join_lines + ignore_comments: continuations joined, comments dropped."""
    pending: list[str] = []
    first = 0
    for number, line in enumerate(text.splitlines(), 1):
        whole_comment = comment_start(line) == 0
        if not line.endswith("\\") or whole_comment:
            if whole_comment:
                line = " " + line
            if pending:
                pending.append(line)
                joined, pending = "".join(pending), []
                yield first, joined
            else:
                yield number, line
        else:
            if not pending:
                first = number
            pending.append(line.strip("\\"))
    if pending:
        yield first, "".join(pending)


def comment_start(line: str) -> int | None:
    """Where pip's ``(^|\\s+)#.*$`` comment begins (its whitespace included), or None."""
    at = line.find("#")
    while at != -1:
        if at == 0 or line[at - 1].isspace():
            start = at
            while start > 0 and line[start - 1].isspace():
                start -= 1
            return start
        at = line.find("#", at + 1)
    return None


def _strip_comment(line: str) -> str:
    start = comment_start(line)
    return (line if start is None else line[:start]).strip()


def split_args(line: str) -> tuple[str, str]:
    """pip's break_args_options: the requirement part and the options part."""
    tokens = line.split(" ")
    args: list[str] = []
    for token in tokens:
        if token.startswith("-"):
            break
        args.append(token)
    return " ".join(args).strip(), " ".join(tokens[len(args) :]).strip()


def _shell_split(text: str) -> list[str]:
    """``shlex.split(text)`` (POSIX, no comments) in linear time; shlex itself is quadratic."""
    tokens: list[str] = []
    token: list[str] = []
    in_token = False
    quote = ""
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        i += 1
        if quote:
            if char == quote:
                quote = ""
            elif char == "\\" and quote == '"':
                if i >= n:
                    raise ValueError("No escaped character")
                if text[i] not in '"\\':
                    token.append("\\")
                token.append(text[i])
                i += 1
            else:
                token.append(char)
        elif char in " \t\r\n":
            if in_token:
                tokens.append("".join(token))
                token, in_token = [], False
        elif char in "'\"":
            quote, in_token = char, True
        elif char == "\\":
            if i >= n:
                raise ValueError("No escaped character")
            token.append(text[i])
            i += 1
            in_token = True
        else:
            token.append(char)
            in_token = True
    if quote:
        raise ValueError("No closing quotation")
    if in_token:
        tokens.append("".join(token))
    return tokens


def _bundle_hint(first: str | None = None) -> str:
    fix = BUNDLE_FIX[0].upper() + BUNDLE_FIX[1:]
    return f"{first}, or {BUNDLE_FIX}." if first else f"{fix}."


def _looks_like_path(text: str) -> bool:
    head = text.split(";", 1)[0].strip()
    lowered = head.split("[", 1)[0].lower()
    if ("@" in head and not _SCHEME_RE.match(head)) or re.search(r"[<>=!~\"'|*?]", head):
        return False
    return (
        head.startswith((".", "/", "~", "\\"))
        or bool(_DRIVE_RE.match(head))
        or "/" in head
        or "\\" in head
        or lowered.endswith(_ARCHIVE_EXTS)
    )


def _url_problem(url: str, origin: Origin, shown: str) -> Problem:
    """The problem of a requirement given as a URL (direct, VCS or file)."""
    if _VCS_RE.match(url):
        return Problem(
            "error", "vcs", origin,
            f"{shown} installs from a version-control repository; MWAA workers in a "
            "private network cannot clone it and an offline bundle holds wheels only.",
            _bundle_hint("Pin a released version (name==version)"),
        )  # fmt: skip
    if url.lower().startswith("file:"):
        return Problem(
            "error", "local-path", origin,
            f"{shown} points to a file on this machine; MWAA cannot see it.",
            _bundle_hint(),
        )  # fmt: skip
    return Problem(
        "error", "direct-url", origin,
        f"{shown} downloads from a direct URL; MWAA workers in a private network cannot "
        "reach it and mwaadeps cannot lock it with hashes.",
        _bundle_hint("Pin the package by name (name==version) from an index"),
    )  # fmt: skip


def _syntax_hint(text: str) -> str:
    head = _HINT_HEAD_RE.match(text)
    rest = text[head.end() :] if head else ""
    version = _HINT_VERSION_RE.match(rest)
    if head and version and not any(c.isspace() for c in rest):
        good = version.group(0)
        if len(good) == len(rest):  # the regex gave the last character back to \S+
            good = good[:-1].rstrip(".")
        if good:
            return f"Did you mean {head.group(0).replace(' ', '')}{good}? "
    if "${" in text:
        return "mwaadeps expands ${VAR} only in option values (index URLs). "
    return "Write name, then an optional specifier, e.g. requests==2.31.0 or pandas>=2.1. "


class _Parser:
    """Walks a requirements file and the files it includes."""

    def __init__(self, overrides: Mapping[Path, bytes] | None = None) -> None:
        self.overrides = {k.resolve(): v for k, v in (overrides or {}).items()}
        self.requirements: list[ParsedRequirement] = []
        self.constraints: list[ParsedRequirement] = []
        self.options: list[ParsedOption] = []
        self.problems: list[Problem] = []
        self.files: list[Path] = []
        self.done: set[tuple[Path, bool]] = set()
        # A file of many repeated lines parses each distinct requirement once.
        self.parsed: dict[str, Requirement | str] = {}
        self.clean_lines: dict[str, tuple[Requirement, str]] = {}
        self.resolved: dict[Path, Path] = {}
        self.clean_includes: dict[tuple[Path, str, bool], tuple[str, str]] = {}

    def problem(
        self, severity: Severity, code: str, origin: Origin | None, msg: str, hint: str
    ) -> None:
        self.problems.append(Problem(severity, code, origin, redact(msg), redact(hint)))

    def parse_file(
        self, path: Path, stack: tuple[Path, ...], constraint: bool, included: Origin | None
    ) -> None:
        try:
            key = self.resolved.get(path) or self.resolved.setdefault(path, path.resolve())
        except (OSError, ValueError, RuntimeError) as exc:
            if included is None:
                raise RequirementsError(f"Cannot read {path}: {exc}.") from None
            self.problem("error", "unreadable", included, f"{str(path)!r} is not a usable path "
                         f"({exc}).", "Fix the path.")  # fmt: skip
            return
        if key in stack:
            chain = " -> ".join(p.name for p in (*stack, key))
            self.problem(
                "error", "cycle", included,
                f"{path} is included again while it is being read ({chain}).",
                "Remove the -r/-c line that closes the loop.",
            )  # fmt: skip
            return
        if (key, constraint) in self.done:
            return
        try:
            if key.exists() and not key.is_file():
                raise IsADirectoryError(21, "not a regular file")
            data = self.overrides[key] if key in self.overrides else path.read_bytes()
        except FileNotFoundError:
            if included is None:
                raise RequirementsError(
                    f"Requirements file {path} does not exist.",
                    hint="Pass --requirements PATH or set requirements in mwaadeps.toml.",
                ) from None
            self._missing(path, included)
            return
        except (OSError, ValueError) as exc:
            if included is None:
                raise RequirementsError(f"Cannot read {path}: {_reason(exc)}.") from None
            self.problem("error", "unreadable", included, f"Cannot read {path}: {_reason(exc)}.",
                         "Check the path and its permissions.")  # fmt: skip
            return
        self.done.add((key, constraint))
        self.files.append(path)
        decoded = decode(data)
        text, bad_line = decoded.text, decoded.bad_line
        if bad_line is not None:
            self.problem(
                "error", "encoding", Origin(path, bad_line),
                f"{path} is not UTF-8 text (first bad byte on line {bad_line}); pip on MWAA "
                "cannot read it.",
                "Save the file as UTF-8 (comments included).",
            )  # fmt: skip
        for number, line in _logical_lines(text):
            stripped = _strip_comment(line)
            if stripped:
                self.parse_line(stripped, Origin(path, number), (*stack, key), constraint)

    def _missing(self, path: Path, included: Origin) -> None:
        raw = str(path)
        if MWAA_PREFIX in raw.replace("\\", "/"):
            self.problem(
                "warning", "mwaa-path", included,
                f"{raw[raw.find(MWAA_PREFIX):]} is a path on the MWAA workers; mwaadeps cannot "
                "read it here.",
                "mwaadeps writes the find-links/constraint lines of dist/requirements.txt "
                "itself; drop this line from the source requirements.",
            )  # fmt: skip
            return
        self.problem(
            "error", "missing-file", included, f"{path} does not exist.",
            f"Fix the path: nested files are relative to the including file's folder "
            f"({included.file.parent}).",
        )  # fmt: skip

    def parse_line(
        self, line: str, origin: Origin, stack: tuple[Path, ...], constraint: bool
    ) -> None:
        included = self.clean_includes.get((origin.file, line, constraint))
        if included is not None:  # the same -r/-c line again in this file: the file is read
            self.options.append(ParsedOption(included[0], included[1], origin))
            return
        known = self.clean_lines.get(line)
        if known is not None:  # a line seen before that gave a requirement and nothing else
            requirement, text = known
            parsed = ParsedRequirement(requirement, origin, text, (), constraint)
            (self.constraints if constraint else self.requirements).append(parsed)
            return
        self._parse_line(line, origin, stack, constraint)

    def _parse_line(
        self, line: str, origin: Origin, stack: tuple[Path, ...], constraint: bool
    ) -> None:
        args, opts_text = split_args(line)
        try:
            tokens = _shell_split(opts_text)
        except ValueError as exc:
            self.problem("error", "syntax", origin, f"Cannot split the options of {line!r}: {exc}.",
                         "Close the quote or escape it.")  # fmt: skip
            return
        options = self.parse_options(tokens, origin)
        if args:
            hashes = []
            for name, value in options:
                if name == "--hash" and value:
                    hashes.append(value)
                elif name not in _PER_REQUIREMENT:
                    self.problem(
                        "warning", "ignored-option", origin,
                        f"{name} after a requirement on the same line is ignored by pip.",
                        f"Put {name} on its own line.",
                    )  # fmt: skip
            problems = len(self.problems)
            added = self.parse_requirement(args, line, origin, tuple(hashes), constraint)
            if added is not None and not options and len(self.problems) == problems:
                self.clean_lines[line] = (added.requirement, added.text)
            return
        for name, value in options:
            if name in _PER_REQUIREMENT:
                self.problem("warning", "ignored-option", origin,
                             f"{name} without a requirement on the line is ignored.",
                             "Put it after the requirement it belongs to.")  # fmt: skip
                continue
            self.options.append(ParsedOption(name, value, origin))
            if name == "--editable":
                shown = redact(value or "")
                self.problem(
                    "error", "editable", origin,
                    f"-e {shown} is an editable install from a checkout; an offline MWAA "
                    "bundle can only install wheels.",
                    _bundle_hint(),
                )  # fmt: skip
            elif name in ("--requirement", "--constraint") and value:
                problems = len(self.problems)
                self.include(value, origin, stack, constraint or name == "--constraint", name)
                if len(options) == 1 and len(self.problems) == problems:
                    self.clean_includes[(origin.file, line, constraint)] = (name, value)

    def parse_options(self, tokens: list[str], origin: Origin) -> list[tuple[str, str | None]]:
        out: list[tuple[str, str | None]] = []
        i = 0
        while i < len(tokens):
            token = tokens[i]
            i += 1
            if token.startswith("--"):
                given, eq, value = token.partition("=")
                name = _long_name(given)
                if name is None:
                    self.problem("error", "unknown-option", origin,
                                 f"pip does not accept {given} in a requirements file.",
                                 "Remove it, or move it to the pip/uv command line.")  # fmt: skip
                    continue
                takes = _OPTIONS[name]
                if takes and not eq:
                    if i >= len(tokens):
                        self.problem("error", "syntax", origin, f"{name} needs a value.",
                                     f"Write {name} VALUE.")  # fmt: skip
                        continue
                    value = tokens[i]
                    i += 1
                out.append((name, value if takes else None))
            elif token[:2] in _SHORT:
                name = _SHORT[token[:2]]
                value = token[2:].lstrip("=")
                if not value:
                    if i >= len(tokens):
                        self.problem("error", "syntax", origin, f"{token[:2]} needs a value.",
                                     f"Write {token[:2]} VALUE.")  # fmt: skip
                        continue
                    value = tokens[i]
                    i += 1
                out.append((name, value))
            elif token.startswith("-"):
                self.problem("error", "unknown-option", origin,
                             f"pip does not accept {token} in a requirements file.",
                             "Remove it.")  # fmt: skip
            else:
                self.problem("warning", "ignored", origin,
                             f"{redact(token)} after the options is ignored by pip.",
                             "Put each requirement on its own line.")  # fmt: skip
        return out

    def include(self, value: str, origin: Origin, stack: tuple[Path, ...], constraint: bool,
                option: str) -> None:  # fmt: skip
        if value.lower().startswith("file://"):
            value = value[len("file://") :]
        elif "://" in value:
            if option == "--requirement":
                self.problem(
                    "error", "remote-file", origin,
                    f"-r {redact(value)} fetches requirements from the network; mwaadeps "
                    "does not, and offline MWAA workers cannot.",
                    "Download the file next to requirements.txt and include it with -r.",
                )  # fmt: skip
            return
        nested = Path(value)
        if not nested.is_absolute() and not value.startswith(MWAA_PREFIX):
            nested = origin.file.parent / nested
        self.parse_file(nested, stack, constraint, origin)

    def parse_requirement(self, args: str, line: str, origin: Origin, hashes: tuple[str, ...],
                          constraint: bool) -> ParsedRequirement | None:  # fmt: skip
        shown = redact(args)
        text = redact(" ".join(line.split()))
        head = args.split(";", 1)[0].strip()
        if _VCS_RE.match(head) or (_SCHEME_RE.match(head) and not _DRIVE_RE.match(head)):
            self.problems.append(_url_problem(head, origin, shown))
            return None
        if _looks_like_path(args):
            self.problem(
                "error", "local-path", origin,
                f"{shown} is a local path; MWAA cannot see this machine's files.",
                _bundle_hint(),
            )  # fmt: skip
            return None
        requirement = self.parsed.get(args)
        if requirement is None:
            try:
                requirement = Requirement(args)
            except InvalidRequirement as exc:
                requirement = str(exc).splitlines()[0] if str(exc) else "invalid requirement"
            self.parsed[args] = requirement
        if isinstance(requirement, str):
            detail = requirement
            self.problem(
                "error", "syntax", origin, f"{shown} is not a valid requirement: {detail}.",
                _syntax_hint(args) + "See PEP 508 / pip's requirement specifiers.",
            )  # fmt: skip
            return None
        if any(not spec.version for spec in requirement.specifier):
            self.problem("error", "syntax", origin, f"{shown} has an operator without a version.",
                         "Write a version after the operator, e.g. requests==2.31.0.")  # fmt: skip
            return None
        parsed = ParsedRequirement(requirement, origin, text, hashes, constraint)
        if requirement.url:
            self.problems.append(_url_problem(requirement.url, origin, shown))
        (self.constraints if constraint else self.requirements).append(parsed)
        return parsed


def _reason(exc: Exception) -> str:
    return str(getattr(exc, "strerror", None) or exc)


def _long_name(given: str) -> str | None:
    """The option's full name; like optparse, an unambiguous prefix is accepted."""
    if given in _OPTIONS:
        return given
    matches = [name for name in _OPTIONS if name.startswith(given)]
    return matches[0] if len(matches) == 1 else None


def parse_requirements(
    path: Path, overrides: Mapping[Path, bytes] | None = None
) -> RequirementsFile:
    """Parse ``path`` and every file it includes; problems are returned, not raised.

    ``overrides`` gives the bytes of some files instead of the disk's (a planned edit).
    Raises ``RequirementsError`` only when ``path`` itself cannot be read.
    """
    parser = _Parser(overrides)
    parser.parse_file(path, (), False, None)
    return RequirementsFile(
        path=path,
        requirements=tuple(parser.requirements),
        options=tuple(parser.options),
        problems=tuple(parser.problems),
        files=tuple(parser.files),
        constraints=tuple(parser.constraints),
    )


__all__ = [
    "BUNDLE_FIX",
    "Decoded",
    "comment_start",
    "decode",
    "expand_env_vars",
    "parse_requirements",
    "split_args",
]
