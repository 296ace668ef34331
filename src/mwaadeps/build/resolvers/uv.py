"""The uv resolver: any target platform; pylock + annotated graph merged into artifacts."""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name

from mwaadeps.build.isolation import clean_env, index_args, uv_binary
from mwaadeps.build.lockfile import Artifact
from mwaadeps.build.resolvers.interface import Resolved, ResolveJob, Resolver, write_roots
from mwaadeps.errors import FileSystemError, ResolutionError
from mwaadeps.redact import redact_text

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


UV_TIMEOUT_S = 900


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
            inputs = write_roots(job, work)
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
