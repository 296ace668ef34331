"""Resolvers: turn requirements + constraints into pinned artifacts for the target.

Each implementation translates its tool's failures into ResolutionError. uv resolves for
any platform; pip-tools only for the platform it runs on.
"""

from __future__ import annotations

import platform
import re
import subprocess
import sys
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name

from mwaadeps.build.isolation import clean_env, index_args, pip_index_env, uv_binary
from mwaadeps.build.lockfile import Artifact
from mwaadeps.errors import FileSystemError, ResolutionError
from mwaadeps.redact import redact_text
from mwaadeps.targets import Target

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
UV_TIMEOUT_S = 900


@dataclass(frozen=True)
class ResolveJob:
    """Everything a resolver needs; paths inside are temporary."""

    target: Target
    roots: dict[str, list[str]]  # input name -> requirement lines ("base", "user")
    constraints_text: str
    essential_text: str
    excludes: tuple[str, ...]
    index_urls: tuple[str, ...] = ()
    find_links: tuple[str, ...] = ()
    cache_dir: Path | None = None
    secrets: tuple[str, ...] = ()
    # Answer from uv's cache when it holds everything (a resolution of the same graph has
    # just filled it); the network only when it does not.
    prefer_cache: bool = False
    # Told what the user should know about the answer (an extra the package does not have).
    on_warning: Callable[[str], None] | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Resolved:
    """One resolved distribution."""

    name: str
    version: str
    wheels: tuple[Artifact, ...]
    sdist: Artifact | None
    via: tuple[str, ...] = ()


class Resolver(ABC):
    """Resolves a job into pinned distributions with their artifacts."""

    name: str

    @abstractmethod
    def resolve(self, job: ResolveJob) -> dict[str, Resolved]:
        """Canonical name -> Resolved."""


def _artifact(raw: dict[str, Any]) -> Artifact:
    url = raw.get("url")
    path = raw.get("path")
    filename = (url or path or "").rsplit("/", 1)[-1]
    from urllib.parse import unquote

    return Artifact(
        filename=unquote(filename),
        url=url,
        sha256=raw.get("hashes", {}).get("sha256", ""),
        size=raw.get("size"),
        path=path,
    )


_NO_EXTRA = re.compile(r"The package `([^`]+?)==([^`]+)` does not have an extra named `([^`]+)`")


def extra_warnings(stderr: str) -> list[str]:
    """uv's "does not have an extra named" warnings, as sentences for the user."""
    out = []
    for name, version, extra in _NO_EXTRA.findall(_ANSI.sub("", stderr)):
        text = (
            f"{name} {version} has no extra named {extra!r}: {name}[{extra}] installs {name} "
            "without it (check the extra's spelling, or drop it)."
        )
        if text not in out:
            out.append(text)
    return out


def _run_uv(
    args: list[str], job: ResolveJob, what: str, offline: bool = False, warn: bool = False
) -> str:
    # --python: the interpreter for sdist metadata builds, without a search of the PATH.
    # Without --quiet when warnings are wanted: uv's -q drops them.
    report = warn and job.on_warning is not None
    quiet = [] if report else ["--quiet"]
    cmd = [uv_binary(), *args, "--no-config", *quiet, "--no-progress"]
    cmd += ["--python", sys.executable]
    if offline:
        cmd.append("--offline")
    if job.cache_dir:
        cmd += ["--cache-dir", str(job.cache_dir)]
    try:
        proc = subprocess.run(
            cmd,
            capture_output=True,
            text=True,
            env=clean_env(index_args(job.index_urls)[1]),
            timeout=UV_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise ResolutionError(
            f"{what} took longer than {UV_TIMEOUT_S} s and was stopped."
        ) from None
    if proc.returncode != 0 and "Failed to initialize cache" in proc.stderr:
        reason = explain_uv_error(proc.stderr, job.secrets).strip().splitlines()[-1].strip()
        raise FileSystemError(
            f"Cannot use the cache folder {job.cache_dir}: {reason}",
            hint="Make it writable, or point MWAADEPS_CACHE_DIR (or cache-dir in mwaadeps.toml) "
            "at a writable folder.",
        )
    if proc.returncode != 0:
        raise ResolutionError(
            f"{what}:\n" + explain_uv_error(proc.stderr, job.secrets),
            hint="Loosen or change the requirement named above, or pin the version the Airflow "
            "constraints allow (`mwaadeps check` lists conflicts line by line).",
        )
    if report and job.on_warning is not None:
        for message in extra_warnings(proc.stderr):
            job.on_warning(message)
    return proc.stdout


def _run_uv_cached(args: list[str], job: ResolveJob, what: str, warn: bool = False) -> str:
    """uv from its cache alone (no revalidation round trips); online when that fails."""
    try:
        return _run_uv(args, job, what, offline=True, warn=warn)
    except ResolutionError:
        return _run_uv(args, job, what, warn=warn)


def explain_uv_error(stderr: str, secrets: tuple[str, ...] = ()) -> str:
    """uv's explanation, without colours, temp paths or credentials."""
    text = _ANSI.sub("", stderr)
    text = re.sub(r"(?:/[^\s:]*)?/mwaadeps-resolve-[^/\s]+/", "", text)
    text = text.replace("base.in", "MWAA's base install").replace("user.in", "your requirements")
    text = text.replace("constraints.txt", "the Airflow constraints")
    text = text.replace("essential.txt", "MWAA's essential pins")
    lines = []
    for line in text.splitlines():
        if not line.strip() or line.startswith("warning:") or "No solution found" in line:
            continue
        lines.append("  " + re.sub(r"^\s*(cause:|error:|╰─▶|×)\s*", "", line).rstrip())
    return redact_text("\n".join(lines[:40]), secrets)


def _common_args(job: ResolveJob, work: Path) -> list[str]:
    (work / "constraints.txt").write_text(job.constraints_text, encoding="utf-8")
    (work / "essential.txt").write_text(job.essential_text, encoding="utf-8")
    args = ["-c", str(work / "constraints.txt"), "-c", str(work / "essential.txt")]
    if job.excludes:
        (work / "excludes.txt").write_text("\n".join(job.excludes) + "\n", encoding="utf-8")
        args += ["--excludes", str(work / "excludes.txt")]
    args += [
        "--python-platform",
        job.target.uv_platform,
        "--python-version",
        job.target.python_full,
        "--no-header",
    ]
    args += index_args(job.index_urls)[0]
    for link in job.find_links:
        args += ["--find-links", link]
    return args


def _write_roots(job: ResolveJob, work: Path) -> list[str]:
    files = []
    for root, lines in job.roots.items():
        path = work / f"{root}.in"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        files.append(str(path))
    return files


def parse_pylock(text: str) -> dict[str, Resolved]:
    data = tomllib.loads(text)
    out: dict[str, Resolved] = {}
    for pkg in data.get("packages", []):
        name = canonicalize_name(pkg["name"])
        wheels = tuple(_artifact(w) for w in pkg.get("wheels", []))
        if "archive" in pkg and not wheels:
            wheels = (_artifact(pkg["archive"]),)
        sdist = _artifact(pkg["sdist"]) if "sdist" in pkg else None
        out[name] = Resolved(name, str(pkg["version"]), wheels, sdist)
    return out


def _via(item: str) -> str:
    """A `# via` entry without temporary paths: `-r user`, `-c constraints`, or a name."""
    item = item.strip()
    if item.startswith(("-r ", "-c ")):
        return f"{item[:2]} {Path(item[3:].strip()).stem}"
    return item


_VIA_LINE = re.compile(r"^([A-Za-z0-9_.\-]+)==(\S+)\s+#\s*via\s+(.*)$")


def parse_annotated(text: str) -> dict[str, tuple[str, tuple[str, ...]]]:
    """name -> (version, via) from uv's `--annotation-style line` output."""
    out: dict[str, tuple[str, tuple[str, ...]]] = {}
    for line in text.splitlines():
        match = _VIA_LINE.match(line.strip())
        if match:
            via = tuple(_via(v) for v in match.group(3).split(",") if v.strip())
            out[canonicalize_name(match.group(1))] = (match.group(2), via)
        elif "==" in line and not line.startswith((" ", "#")):
            name, _, version = line.strip().partition("==")
            out[canonicalize_name(name)] = (version.split()[0], ())
    return out


class UvResolver(Resolver):
    """uv pip compile for the target platform and Python, wherever mwaadeps runs."""

    name = "uv"

    def resolve(self, job: ResolveJob) -> dict[str, Resolved]:
        with tempfile.TemporaryDirectory(prefix="mwaadeps-resolve-") as tmp:
            work = Path(tmp)
            inputs = _write_roots(job, work)
            common = _common_args(job, work)
            pylock_args = ["pip", "compile", *inputs, *common, "--format", "pylock.toml"]
            graph_args = ["pip", "compile", *inputs, *common, "--annotation-style", "line"]
            what = (
                f"The requirements cannot be resolved for MWAA {job.target.airflow_version} "
                f"(Python {job.target.python_version}, Linux x86_64)"
            )
            if job.prefer_cache:
                with ThreadPoolExecutor(2) as pool:
                    lock_f = pool.submit(_run_uv_cached, pylock_args, job, what, True)
                    graph_f = pool.submit(_run_uv_cached, graph_args, job, what)
                    pylock_text, graph_text = lock_f.result(), graph_f.result()
            else:
                # One pass goes to the index; the graph pass then reads what it cached instead
                # of racing it for the same pages (two cold uv processes in parallel fetched
                # everything twice and were slower than one after the other).
                pylock_text = _run_uv(pylock_args, job, what, warn=True)
                graph_text = _run_uv_cached(graph_args, job, what)
        return merge(parse_pylock(pylock_text), parse_annotated(graph_text), job)


def merge(
    artifacts: dict[str, Resolved],
    graph: dict[str, tuple[str, tuple[str, ...]]],
    job: ResolveJob,
) -> dict[str, Resolved]:
    """Join artifacts with the dependency graph (who requires each package)."""
    for name, res in artifacts.items():
        if name in graph and graph[name][0] != res.version:
            raise ResolutionError(
                f"The resolver gave two answers for {name} ({res.version}, {graph[name][0]}): "
                "the index changed during resolution.",
                hint="Run the command again.",
            )
    out = {}
    for name, res in artifacts.items():
        via = graph.get(name, ("", ()))[1]
        out[name] = Resolved(res.name, res.version, res.wheels, res.sdist, via)
    return out


class PipToolsResolver(Resolver):
    """pip-compile on the host: only valid when the host is the target platform."""

    name = "pip-tools"

    def check_host(self, target: Target) -> None:
        host_py = f"{sys.version_info.major}.{sys.version_info.minor}"
        machine = platform.machine().lower()
        if (
            sys.platform != "linux"
            or machine not in ("x86_64", "amd64")
            or host_py != target.python_version
        ):
            raise ResolutionError(
                f"pip-tools resolves for the machine it runs on (Python {host_py}, "
                f"{sys.platform} {machine}), not for MWAA {target.airflow_version} "
                f"(Python {target.python_version}, Linux x86_64).",
                hint="Use the default resolver (--resolver uv), which resolves for the target, "
                f"or run on Linux x86_64 with Python {target.python_version}.",
            )

    def resolve(self, job: ResolveJob) -> dict[str, Resolved]:
        self.check_host(job.target)
        with tempfile.TemporaryDirectory(prefix="mwaadeps-resolve-") as tmp:
            work = Path(tmp)
            inputs = _write_roots(job, work)
            (work / "constraints.txt").write_text(job.constraints_text, encoding="utf-8")
            (work / "essential.txt").write_text(job.essential_text, encoding="utf-8")
            merged = work / "all.in"
            merged.write_text(
                "".join(Path(i).read_text() for i in inputs)
                + f"-c {work / 'constraints.txt'}\n-c {work / 'essential.txt'}\n",
                encoding="utf-8",
            )
            cmd = [
                sys.executable,
                "-m",
                "piptools",
                "compile",
                "--quiet",
                "--no-header",
                "--no-annotate",
                "--strip-extras",
                "--allow-unsafe",
                "--no-emit-index-url",
                "--output-file",
                str(work / "out.txt"),
                str(merged),
            ]
            for link in job.find_links:
                cmd += ["--find-links", link]
            # The index URLs (and their credentials) go in pip's environment, not argv.
            env = clean_env(pip_index_env(job.index_urls))
            proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
            if proc.returncode != 0:
                raise ResolutionError(
                    "pip-compile failed:\n" + explain_uv_error(proc.stderr, job.secrets)
                )
            pins = [
                line.strip()
                for line in (work / "out.txt").read_text().splitlines()
                if "==" in line and not line.startswith("#")
            ]
        excluded = {canonicalize_name(e) for e in job.excludes}
        pins = [p for p in pins if canonicalize_name(p.split("==")[0]) not in excluded]
        # The pins are pip-tools' answer; uv, held to them, fetches the target's artifacts.
        fixed = ResolveJob(
            job.target,
            job.roots,
            job.constraints_text + "\n".join(pins) + "\n",
            job.essential_text,
            job.excludes,
            job.index_urls,
            job.find_links,
            job.cache_dir,
            job.secrets,
        )
        return UvResolver().resolve(fixed)


RESOLVERS: dict[str, type[Resolver]] = {"uv": UvResolver, "pip-tools": PipToolsResolver}
