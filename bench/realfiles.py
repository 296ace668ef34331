"""Real-world requirement files: how many build as written, after `mwaadeps fix`, and
how many end in a clean error; the same files through the peers' recipes.

    python bench/realfiles.py [--only mwaadeps|peers] [--files 01,04] [--report-only]

Each file in bench/realfiles/ (written for this project in the shapes public MWAA projects
use) names its target in its first line: `# mwaadeps-bench: airflow=X.Y.Z shape="..."`.
Results go to bench/realfiles-results.json and the "Real-world files" section of
BENCHMARKS.md. Work folders live in bench/work/realfiles/ (ignored).

Verdicts:
- mwaadeps: `built` (exit 0, ok), `clean error` (non-zero exit, one message, no traceback),
  `crash` (a traceback or an internal error).
- peers (aws-mwaa-local-runner's `pip download` recipe, the seed's `pip wheel` recipe, on this
  host's Python): `installable` when pip exits 0 and every distribution of the bundle that MWAA's
  image lacks at that version (data/mwaa/<v>/preinstalled.txt) is a wheel for the target at
  the version MWAA's pins allow (its essential pins, and the file's -c or else its own
  constraints); `fails on MWAA` otherwise (a wrong-platform wheel, an sdist that must build
  offline, a version against MWAA's pins); `failed` when pip exits non-zero. The peers reach the
  constraints through a local copy (this machine cannot reach GitHub; their users can).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from measure import inspect_zip, run  # noqa: E402
from recipes import _zip_flat, child_env, mwaadeps_bin, python_for  # noqa: E402

from mwaadeps.build.shipped import shipped  # noqa: E402
from mwaadeps.targets import resolve_target  # noqa: E402

FILES = HERE / "realfiles"
WORK = HERE / "work" / "realfiles"
RESULTS = HERE / "realfiles-results.json"
REPORT = HERE.parent / "BENCHMARKS.md"
BEGIN = "<!-- realfiles:begin -->"
END = "<!-- realfiles:end -->"
_HEADER_RE = re.compile(r'#\s*mwaadeps-bench:\s*airflow=(\S+)\s+shape="([^"]*)"(.*)')
_CONSTRAINT_URL_RE = re.compile(
    r"""(?P<opt>-c|--constraint)[ =]+["']?https://raw\.githubusercontent\.com/apache/airflow/"""
    r"""constraints-(?P<af>[\d.]+)/constraints-(?P<py>[\d.]+)\.txt["']?"""
)
PEERS = ("local-runner-recipe", "seed-script-recipe")


def header(path: Path) -> tuple[str, str, bool]:
    """(airflow version, shape, peers skipped) from the file's first line."""
    first = path.read_bytes().decode("utf-8-sig").splitlines()[0]
    match = _HEADER_RE.match(first)
    if match is None:
        raise SystemExit(f"{path}: the first line must be '# mwaadeps-bench: airflow=...'")
    return match.group(1), match.group(2), "peers=skip" in match.group(3)


def log(msg: str) -> None:
    print(f"[realfiles {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def _verdict(proc: Any, data: dict[str, Any]) -> tuple[str, str]:
    text = proc.stdout + proc.stderr
    if "Traceback (most recent call last)" in text or "internal error" in text:
        return "crash", proc.tail()
    if proc.ok and data.get("ok"):
        return "built", ""
    err = data.get("error") if isinstance(data.get("error"), dict) else {}
    message = (err or {}).get("message") or proc.tail()
    lines = [ln.strip() for ln in str(message).strip().splitlines() if ln.strip()]
    shown = lines[0]
    if shown.endswith(":") and len(lines) > 1:  # "... has N problem(s) ...:" then the first
        shown = f"{shown} {lines[1]}"
    return "clean error", shown[:240]


def _project(dest: Path, source: Path, airflow: str) -> Path:
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    shutil.copy2(source, dest / "requirements.txt")
    (dest / "mwaadeps.toml").write_text(f'airflow-version = "{airflow}"\n')
    return dest


def _build(project: Path, cache: Path) -> tuple[str, str, dict[str, Any]]:
    proc = run([mwaadeps_bin(), "build", "--json"], child_env({"MWAADEPS_CACHE_DIR": str(cache)}),
               cwd=project)  # fmt: skip
    try:
        data = json.loads(proc.stdout) if proc.stdout.strip() else {}
    except json.JSONDecodeError:
        data = {}
    verdict, why = _verdict(proc, data)
    why = why.replace(f"{project}/", "")  # the file's name, not this machine's path
    facts: dict[str, Any] = {"seconds": round(proc.seconds, 1)}
    if verdict == "built":
        zip_facts = inspect_zip(project / "dist" / "plugins.zip", resolve_target(
            json.loads((project / "dist" / "manifest.json").read_text())["target"]
            ["airflow_version"]))  # fmt: skip
        facts.update(wheels=zip_facts.wheels, wrong_platform=len(zip_facts.wrong_platform),
                     sdists=len(zip_facts.sdists))  # fmt: skip
    return verdict, why, facts


def run_mwaadeps(path: Path, airflow: str, cache: Path) -> dict[str, Any]:
    """As written, then `mwaadeps fix` and build again."""
    work = WORK / path.stem
    written = _project(work / "as-written", path, airflow)
    verdict, why, facts = _build(written, cache)
    out: dict[str, Any] = {"as_written": {"verdict": verdict, "why": why, **facts}}
    fixed = _project(work / "fixed", path, airflow)
    proc = run([mwaadeps_bin(), "fix", "--json"], child_env(), cwd=fixed)
    fix_crash = "Traceback (most recent call last)" in proc.stdout + proc.stderr
    try:
        fix_data = json.loads(proc.stdout) if proc.stdout.strip() else {}
    except json.JSONDecodeError:
        fix_data = {}
    changes = fix_data.get("changes", [])
    verdict, why, facts = _build(fixed, cache)
    if fix_crash:
        verdict, why = "crash", "mwaadeps fix: " + proc.tail()
    out["after_fix"] = {
        "verdict": verdict, "why": why, "fix_exit": proc.returncode,
        "changes": len(changes) if isinstance(changes, list) else 0, **facts,
    }  # fmt: skip
    return out


def _peer_requirements(path: Path, dest: Path) -> None:
    """The file with canonical constraint URLs pointing at a local copy of the same file."""

    def local(match: re.Match[str]) -> str:
        found = shipped(match.group("af"), "constraints")
        if found is None or not found.source.endswith(f"constraints-{match.group('py')}.txt"):
            return match.group(0)  # no copy: the peer meets the URL as its users would not
        return f"{match.group('opt')} {found.path}"

    text = path.read_bytes().decode("utf-8-sig")
    dest.write_text(_CONSTRAINT_URL_RE.sub(local, text))


def _pins(text: str, target: Any) -> dict[str, str]:
    from mwaadeps.build.constraints import parse_constraints

    return dict(parse_constraints(text, target, "constraints").pins)


def _mwaa_pins(requirements: Path, target: Any) -> dict[str, str]:
    """The pins MWAA applies: its essential pins, and the file's -c or else its own copy."""
    from mwaadeps.build.constraints import parse_constraints

    own = shipped(target.airflow_version, "constraints")
    assert own is not None
    parsed = parse_constraints(own.text(), target, "c")
    pins = dict(parsed.pins)
    for line in requirements.read_text().splitlines():
        parts = line.strip().split(maxsplit=1)
        if len(parts) == 2 and parts[0] in ("-c", "--constraint") and Path(parts[1]).is_file():
            pins = _pins(Path(parts[1]).read_text(), target)
    pins.update(parsed.essential)
    return pins


def judge_peer(out: Path, target: Any) -> tuple[str, str]:
    """What MWAA makes of a peer's bundle: each distribution the image lacks at that version
    must install offline: a wheel for the target, at the version MWAA's pins allow."""
    from packaging.utils import canonicalize_name, parse_sdist_filename, parse_wheel_filename

    listing = shipped(target.airflow_version, "preinstalled")
    installed: dict[str, str] = {}
    if listing is not None:
        for line in listing.text().splitlines():
            if "==" in line and not line.startswith("#"):
                name, _, version = line.strip().partition("==")
                installed[canonicalize_name(name)] = version
    pins = _mwaa_pins(out / "requirements.txt", target)
    problems: list[str] = []
    for path in sorted((out / "files").iterdir()):
        if path.name.endswith(".whl"):
            name, version, _, wheel_tags = parse_wheel_filename(path.name)
        else:
            name, version = parse_sdist_filename(path.name)
            wheel_tags = frozenset()
        key, ver = canonicalize_name(name), str(version)
        if installed.get(key) == ver:
            continue  # MWAA's image has it: "Requirement already satisfied"
        if key in pins and pins[key] != ver:
            problems.append(f"{key} {ver} against MWAA's pin {pins[key]}")
        elif not wheel_tags:
            problems.append(f"{path.name} must build offline")
        elif not target.accepts(wheel_tags):
            problems.append(f"{path.name} is not for the target")
    if not problems:
        return "installable", ""
    more = f" (+{len(problems) - 2} more)" if len(problems) > 2 else ""
    return "fails on MWAA", "; ".join(problems[:2]) + more


def run_peer(path: Path, airflow: str, contender: str, pip_cache: Path) -> dict[str, Any]:
    target = resolve_target(airflow)
    python, _ = python_for(target)
    out = WORK / path.stem / contender
    if out.exists():
        shutil.rmtree(out)
    files = out / "files"
    files.mkdir(parents=True)
    req = out / "requirements.txt"
    _peer_requirements(path, req)
    pip = [python, "-m", "pip", "--isolated"]
    cmd = [*pip, "wheel", "-r", str(req), "-w", str(files)] if contender.startswith("seed") \
        else [*pip, "download", "-r", str(req), "-d", str(files)]  # fmt: skip
    cmd += ["--cache-dir", str(pip_cache), "--progress-bar", "off"]
    proc = run(cmd, child_env())
    result: dict[str, Any] = {"seconds": round(proc.seconds, 1), "pip_ok": proc.ok}
    if not proc.ok:
        lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("ERROR")]
        result.update(verdict="failed", why=(lines[0] if lines else proc.tail())[:200])
        return result
    _zip_flat(files, out / "plugins.zip")
    verdict, why = judge_peer(out, target)
    result.update(verdict=verdict, why=why, wheels=inspect_zip(out / "plugins.zip", target).wheels)
    return result


def report(results: dict[str, Any]) -> str:
    rows = []
    names = sorted(results)
    tally: dict[str, dict[str, int]] = {}

    def count(column: str, verdict: str) -> None:
        tally.setdefault(column, {}).setdefault(verdict, 0)
        tally[column][verdict] += 1

    for name in names:
        r = results[name]
        cells = []
        for column in ("as_written", "after_fix", *PEERS):
            cell = r.get(column)
            if cell is None:
                cells.append("n/a")
                continue
            count(column, cell["verdict"])
            why = f": {' '.join(str(cell['why']).split())}" if cell.get("why") else ""
            cells.append(f"{cell['verdict']}{why}".replace("|", "\\|"))
        rows.append(f"| `{name}` ({r['airflow']}) | {r['shape']} | " + " | ".join(cells) + " |")

    def summary(column: str) -> str:
        found = tally.get(column, {})
        return ", ".join(f"{n} {v}" for v, n in sorted(found.items())) or "not run"

    lines = [
        BEGIN,
        "## Real-world files (issue 8)",
        "",
        f"{len(names)} requirement files of real-world shape (`bench/realfiles/`, written for "
        "this project), each at the Airflow version it was written for; "
        "`python bench/realfiles.py` (part of `make bench`). mwaadeps: `built`, `clean error` "
        "(one message, non-zero exit, no traceback) or `crash`. Peers, on this host's Python "
        "3.11 with a local copy of the constraints: `installable` (pip exits 0 and everything "
        "the bundle adds to MWAA's image is a target wheel at a version MWAA's pins allow), "
        "`fails on MWAA` (a wrong-platform wheel, an sdist that must build offline, or a "
        "version against MWAA's pins), `failed` (pip exits non-zero).",
        "",
        f"- mwaadeps as written: {summary('as_written')}",
        f"- mwaadeps after `mwaadeps fix`: {summary('after_fix')}",
        f"- local-runner recipe (`pip download`): {summary('local-runner-recipe')}",
        f"- seed recipe (`pip wheel`): {summary('seed-script-recipe')}",
        "",
        "| file (Airflow) | shape | mwaadeps as written | after `mwaadeps fix` | "
        "local-runner recipe | seed recipe |",
        "|---|---|---|---|---|---|",
        *rows,
        END,
    ]
    return "\n".join(lines) + "\n"


def write_report(results: dict[str, Any]) -> None:
    text = REPORT.read_text() if REPORT.exists() else ""
    section = report(results)
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        text = head + section + rest.split(END, 1)[1].lstrip("\n")
    else:
        marker = "\n## Reproduce"
        text = text.replace(marker, "\n" + section + marker, 1) if marker in text \
            else text + "\n" + section  # fmt: skip
    REPORT.write_text(text)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", choices=("mwaadeps", "peers"))
    ap.add_argument("--files", help="comma-separated prefixes, e.g. 01,04")
    ap.add_argument("--report-only", action="store_true")
    ap.add_argument("--rejudge", action="store_true", help="judge the peers' bundles again")
    args = ap.parse_args(argv)
    results: dict[str, Any] = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    if args.rejudge:
        for name, entry in results.items():
            for peer in PEERS:
                out = WORK / Path(name).stem / peer
                if entry.get(peer, {}).get("verdict") != "failed" and (out / "files").is_dir():
                    verdict, why = judge_peer(out, resolve_target(entry["airflow"]))
                    entry[peer].update(verdict=verdict, why=why)
        RESULTS.write_text(json.dumps(results, indent=1, sort_keys=True) + "\n")
    elif not args.report_only:
        WORK.mkdir(parents=True, exist_ok=True)
        cache, pip_cache = WORK / "mwaadeps-cache", WORK / "pip-cache"
        wanted = tuple(args.files.split(",")) if args.files else ()
        for path in sorted(FILES.glob("*.txt")):
            if wanted and not path.name.startswith(wanted):
                continue
            airflow, shape, skip_peers = header(path)
            entry = results.setdefault(path.name, {})
            entry.update(airflow=airflow, shape=shape)
            if args.only != "peers":
                log(f"{path.name}: mwaadeps")
                entry.update(run_mwaadeps(path, airflow, cache))
            if args.only != "mwaadeps" and not skip_peers:
                for peer in PEERS:
                    log(f"{path.name}: {peer}")
                    entry[peer] = run_peer(path, airflow, peer, pip_cache)
            RESULTS.write_text(json.dumps(results, indent=1, sort_keys=True) + "\n")
    write_report(results)
    log(f"wrote {RESULTS.name} and the section of {REPORT.name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
