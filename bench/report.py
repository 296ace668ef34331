"""Medians, ratios, the issue's targets, and the two outputs: results.json and BENCHMARKS.md."""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import time
from pathlib import Path
from typing import Any

from recipes import MWAADEPS, PEERS, SIMULATED, child_env, pip_version

import mwaadeps
from mwaadeps.build.isolation import uv_binary

HERE = Path(__file__).resolve().parent
BEFORE = HERE / "profile-before.json"  # the cold-build profile before the src/ change
NOTES = HERE / "notes.md"  # findings written after a run, appended verbatim
MB = 1e6


def _cmd(cmd: list[str]) -> str:
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, env=child_env(), check=False)
        return out.stdout.strip()
    except OSError:
        return "?"


def machine_info() -> dict[str, Any]:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "?"
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f"{kb / 1024 / 1024:.0f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    import sys

    return {
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
        "os": f"{platform.system()} {platform.release()} {platform.machine()}",
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "memory": mem,
        "python": platform.python_version(),
        "mwaadeps": mwaadeps.__version__ if hasattr(mwaadeps, "__version__") else "?",
        "uv": _cmd([uv_binary(), "--version"]),
        "pip": pip_version(sys.executable),
        "git_commit": _cmd(["git", "-C", str(HERE.parent), "rev-parse", "--short", "HEAD"]),
    }


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 2) if values else None


def _identical(runs: list[dict[str, Any]]) -> bool | None:
    shas = [r["sha256"] for r in runs if r.get("ok") and r.get("sha256")]
    if len(shas) < 2:
        return None
    return len(set(shas)) == 1


def summarize(runs: list[dict[str, Any]], rebuilds: list[dict[str, Any]]) -> dict[str, Any]:
    ok = [r for r in runs if r["ok"]]
    last = ok[-1] if ok else (runs[-1] if runs else {})
    return {
        "wall_s": _median([r["wall_s"] for r in ok]),
        "wall_s_runs": [r["wall_s"] for r in runs],
        "failed_runs": len(runs) - len(ok),
        "download_bytes": int(statistics.median([r["download_bytes"] for r in ok])) if ok else None,
        "zip_bytes": last.get("zip_bytes"),
        "wheels": last.get("wheels"),
        "wrong_platform_wheels": last.get("wrong_platform_wheels"),
        "wrong_platform_files": last.get("wrong_platform_files", []),
        "sdists": last.get("sdists"),
        "essential_bundled": last.get("essential_bundled"),
        "bundles_airflow": last.get("bundles_airflow"),
        "identical_rebuild": _identical(rebuilds),
        "installs_offline": None,
        "error": None if ok else last.get("error"),
        "timings": last.get("timings"),
    }


def aggregate(
    raw: dict[str, Any],
    works: dict[str, Any],
    info: dict[str, Any],
    extras: dict[str, Any],
    seconds: float,
) -> dict[str, Any]:
    sets: dict[str, Any] = {}
    meta: dict[str, Any] = {}
    for name, data in raw.items():
        runs = data["runs"]
        all_mwaadeps = [r for c in MWAADEPS for r in runs.get(c, [])]
        table = {}
        for contender, contender_runs in runs.items():
            rebuilds = all_mwaadeps if contender in MWAADEPS else contender_runs
            table[contender] = summarize(contender_runs, rebuilds)
        for contender, verdict in data.get("installs", {}).items():
            if contender in table:
                table[contender]["installs_offline"] = verdict.get("installs_offline")
                table[contender]["installs_offline_detail"] = verdict.get("detail", "")
        if "mwaadeps-noop" in table and "mwaadeps-warm" in table:
            table["mwaadeps-noop"]["installs_offline"] = table["mwaadeps-warm"]["installs_offline"]
        sets[name] = table
        work = works[name]
        peer_walls = [table[p]["wall_s"] for p in PEERS if table.get(p, {}).get("wall_s")]
        peer_zips = [table[p]["zip_bytes"] for p in PEERS if table.get(p, {}).get("zip_bytes")]
        cold = table.get("mwaadeps-cold", {})
        meta[name] = {
            "airflow": work.rset.airflow,
            "python_target": work.target.python_version,
            "peer_python": work.python_note,
            "peer_pip": pip_version(work.python),
            "requirements": list(work.rset.lines),
            "description": work.rset.description,
            "rounds": data["rounds"],
            "notes": work.notes,
            "cold_vs_faster_peer": round(cold["wall_s"] / min(peer_walls), 3)
            if cold.get("wall_s") and peer_walls
            else None,
            "faster_peer_s": min(peer_walls) if peer_walls else None,
            "zip_vs_smaller_peer": round(cold["zip_bytes"] / min(peer_zips), 3)
            if cold.get("zip_bytes") and peer_zips
            else None,
            "profile": data.get("profile"),
        }
    results = {
        "sets": sets,
        "meta": meta,
        "machine": info,
        "extras": extras,
        "bench_seconds": round(seconds),
    }
    results["targets"] = targets(results)
    return results


def _all(sets: dict[str, Any], key: str, pred: Any, names: tuple[str, ...] = MWAADEPS) -> Any:
    values = [t[c][key] for t in sets.values() for c in names if c in t and t[c]["wall_s"]]
    if not values or any(v is None for v in values):
        return None
    return all(pred(v) for v in values)


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    sets, meta = results["sets"], results["meta"]
    out = []

    def add(what: str, measured: str, met: bool | None) -> None:
        out.append({"target": what, "measured": measured, "met": met})

    for name, limit in (("heavy", 0.5), ("example", 0.5)):
        if name in meta and meta[name]["cold_vs_faster_peer"] is not None:
            r = meta[name]["cold_vs_faster_peer"]
            add(
                f"{name}: cold build <= {limit} x the faster peer recipe",
                f"{sets[name]['mwaadeps-cold']['wall_s']} s vs {meta[name]['faster_peer_s']} s "
                f"= {r}",
                r <= limit,
            )
    if "tiny" in meta and meta["tiny"]["faster_peer_s"] is not None:
        cold = sets["tiny"]["mwaadeps-cold"]["wall_s"]
        peer = meta["tiny"]["faster_peer_s"]
        add(
            "tiny: cold build within a few (<= 3) seconds of the faster peer",
            f"{cold} s vs {peer} s ({cold - peer:+.1f} s)",
            cold - peer <= 3,
        )
    for name, limit in (("heavy", 0.75), ("example", 0.4)):
        if name in meta and meta[name]["zip_vs_smaller_peer"] is not None:
            r = meta[name]["zip_vs_smaller_peer"]
            add(
                f"{name}: default bundle <= {limit} x the peers' plugins.zip",
                f"{sets[name]['mwaadeps-cold']['zip_bytes'] / MB:.1f} MB = {r} x",
                r <= limit,
            )
    for name, table in sets.items():
        cold = table.get("mwaadeps-cold")
        if cold is not None and cold["wall_s"] is None:
            err = (cold.get("error") or "").strip().splitlines()
            add(
                f"{name}: mwaadeps builds the set",
                "failed: " + (err[-1] if err else "?")[:200].replace("|", "/"),
                False,
            )
    noops = [t["mwaadeps-noop"]["wall_s"] for t in sets.values() if "mwaadeps-noop" in t]
    if noops and all(v is not None for v in noops):
        add("warm no-op build < 2 s", f"max {max(noops)} s", max(noops) < 2)
    for key, what in (
        ("wrong_platform_wheels", "zero wrong-platform wheels (mwaadeps)"),
        ("sdists", "zero sdists in the bundle (mwaadeps)"),
    ):
        met = _all(sets, key, lambda v: not v)
        add(what, "all sets" if met else "see table", met)
    met = _all(sets, "bundles_airflow", lambda v: not v)
    add("no apache-airflow (or other essential) wheel (mwaadeps)", "all sets", met)
    verdicts = {
        name: t[c]["installs_offline"]
        for name, t in sets.items()
        for c in MWAADEPS
        if c in t and t[c]["wall_s"]
    }
    known = {n: v for n, v in verdicts.items() if v is not None}
    unknown = sorted(n for n, v in verdicts.items() if v is None)
    met = all(known.values()) if known else None
    detail = ("yes: " + ", ".join(sorted(known)) if met else "see table") if known else ""
    if unknown:
        reason = results["extras"].get("test_local", {}).get("reason") or "no runner image"
        detail += f"; n/a for {', '.join(unknown)} ({reason})"
    add("every mwaadeps bundle installs offline in the runner image", detail.strip("; "), met)
    met = _all(sets, "identical_rebuild", bool)
    add("byte-identical rebuilds (mwaadeps: cold, warm, no-op, every round)", "all sets", met)
    return out


def _mb(value: Any) -> str:
    return "-" if value is None else f"{value / MB:.1f}"


def _flag(value: Any, yes: str = "yes", no: str = "no") -> str:
    return "n/a" if value is None else (yes if value else no)


def write_outputs(results: dict[str, Any], json_path: Path, md_path: Path, args: Any) -> None:
    json_path.write_text(json.dumps(results, indent=1, sort_keys=False) + "\n")
    md_path.write_text(markdown(results, args))


def markdown(res: dict[str, Any], args: Any) -> str:
    m = res["machine"]
    lines = [
        "# Benchmarks: mwaadeps build vs the peers' recipes",
        "",
        "Written by `make bench` (`bench/run.py`); raw figures in `bench/results.json`.",
        "",
        "## Machine and versions",
        "",
        f"- Date: {m['date']}; whole run {res['bench_seconds']} s",
        f"- {m['os']}, {m['cpu']}, {m['cpus']} CPUs, {m['memory']} RAM",
        f"- mwaadeps {m['mwaadeps']} (commit {m['git_commit']}), {m['uv']}, "
        f"Python {m['python']}, {m['pip']}",
        "- Network: the package index over the internet, through this machine's proxy; "
        "timings include its latency and vary between runs (hence medians).",
        "",
        "## Method",
        "",
        "Each set runs several rounds; every round runs every contender, in an order rotated "
        "from round to round; the table shows medians (the runs in brackets). All contenders "
        "see the same constraints file (the copy mwaadeps ships, "
        "`src/mwaadeps/data/mwaa/<version>/airflow-constraints.txt`, "
        "the peers through a `-c` line, as the MWAA guide's recipe does with the URL).",
        "",
        "- `local-runner-recipe`: aws-mwaa-local-runner's `package-requirements`: "
        "`pip download -r requirements.txt -d plugins`, then `zip plugins.zip *` (zipfile, flat), "
        "and a requirements.txt starting `--find-links /usr/local/airflow/plugins` + `--no-index`.",
        "- `seed-script-recipe`: the seed's `build_dependencies.sh`: "
        "`pip wheel -r requirements.txt -w wheels/`, then the same zip.",
        "- `mwaadeps-cold`: `mwaadeps build` with an empty MWAADEPS_CACHE_DIR and no lock; "
        "`mwaadeps-warm`: same cache, lock removed (resolves again, downloads nothing); "
        "`mwaadeps-noop`: nothing changed.",
        "- `local-runner-recipe-arm64` / `seed-script-recipe-macos`: the recipes as they behave "
        "on an Apple-Silicon laptop, simulated with pip's `--platform manylinux2014_aarch64 "
        "--only-binary=:all: --python-version X.Y` (the local-runner container on arm64) and "
        "`--platform macosx_14_0_arm64 --only-binary=:all:` (the seed script with the laptop's "
        "Python; `pip wheel` has no `--platform`, so `pip download`). mwaadeps has no such "
        "variant because it never consults the host platform: uv resolves with "
        "`--python-platform x86_64-manylinux_2_34 --python-version <MWAA's Python>` and every "
        "wheel is tag-checked against the target, so its figures are the same on any host.",
        "- Isolation: every pip runs with `--isolated` and every pip/uv/mwaadeps child with "
        "`mwaadeps.build.isolation.clean_env()` (no PIP_*/UV_* variables, "
        "PIP_CONFIG_FILE=/dev/null), "
        "so this machine's global pip.conf (constraints, find-links) shapes none of them. Every "
        "cold run has a fresh pip `--cache-dir` or MWAADEPS_CACHE_DIR.",
        "- Downloaded bytes: pip's own `Downloading x (N MB)` lines (rounded as pip prints; "
        "index pages not counted); mwaadeps: the wheels it fetched (`downloaded_bytes`) plus the "
        "growth of uv's cache (index pages and metadata uv fetched while resolving).",
        "- Wrong-platform wheels: wheels in the zip whose tags MWAA's target does not accept "
        "(`mwaadeps.targets.resolve_target(v).accepts(tags)`: Linux x86_64, glibc <= 2.34, the "
        "target's CPython). Essential: apache-airflow or any package MWAA pins "
        "(`targets.is_essential_name`).",
        "- Identical rebuild: every build of the contender in this run gave the same "
        "plugins.zip bytes (mwaadeps: cold, warm and no-op across all rounds; peers: across "
        "rounds, n/a with one round).",
        "",
    ]
    for name, table in res["sets"].items():
        meta = res["meta"][name]
        lines += [
            f"## Set `{name}` (Airflow {meta['airflow']}, Python {meta['python_target']}; "
            f"{meta['rounds']} round{'s' if meta['rounds'] != 1 else ''})",
            "",
            f"{meta['description']}. Requirements: `{'`, `'.join(meta['requirements'])}`. "
            f"Peers ran on {meta['peer_python']}, {meta['peer_pip']}.",
            "",
        ]
        lines += [f"- {note}" for note in meta["notes"]]
        if meta["notes"]:
            lines.append("")
        lines += [
            "| contender | wall s (median) [runs] | downloaded MB | plugins.zip MB | wheels "
            "| wrong-platform | sdists | essential bundled | identical rebuild | "
            "installs offline |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for contender in (*PEERS, *MWAADEPS, *SIMULATED):
            row = table.get(contender)
            if row is None:
                continue
            runs = ", ".join(f"{v:g}" for v in row["wall_s_runs"])
            if row["wall_s"] is None:
                err = [
                    ln.strip()
                    for ln in (row.get("error") or "").splitlines()
                    if ln.strip() and not ln.startswith("[notice]")
                ]
                lines.append(
                    f"| `{contender}` | failed [{runs}] | | | | | | | | "
                    f"{(err[-1] if err else '')[:120].replace('|', '/')} |"
                )
                continue
            essential = row["essential_bundled"] or []
            ess = ", ".join(e.split("-")[0] + " " + e.split("-")[1] for e in essential) or "none"
            installs = _flag(row["installs_offline"])
            lines.append(
                f"| `{contender}` | {row['wall_s']} [{runs}] | {_mb(row['download_bytes'])} | "
                f"{_mb(row['zip_bytes'])} | {row['wheels']} | {row['wrong_platform_wheels']} | "
                f"{len(row['sdists'] or [])} | {ess} | "
                f"{_flag(row['identical_rebuild'])} | {installs} |"
            )
        lines.append("")
        if meta["cold_vs_faster_peer"] is not None:
            lines.append(
                f"Ratios: cold build / faster peer = **{meta['cold_vs_faster_peer']}** "
                f"(faster peer {meta['faster_peer_s']} s); mwaadeps plugins.zip / smaller peer "
                f"zip = **{meta['zip_vs_smaller_peer']}**."
            )
            lines.append("")
        for contender in SIMULATED:
            row = table.get(contender)
            if row and row.get("wrong_platform_files"):
                files = row["wrong_platform_files"]
                shown = ", ".join(f"`{f}`" for f in files[:6])
                more = f" and {len(files) - 6} more" if len(files) > 6 else ""
                lines.append(f"- `{contender}` wrong-platform wheels: {shown}{more}")
        for contender, row in table.items():
            if row.get("sdists"):
                lines.append(f"- `{contender}` sdists: {', '.join(row['sdists'])}")
            detail = row.get("installs_offline_detail")
            if row.get("installs_offline") is False and detail:
                lines.append(f"- `{contender}` offline install failed: {detail[:300]}")
        lines.append("")
    lines += ["## Targets (issue 5)", "", "| target | measured | met |", "|---|---|---|"]
    for t in res["targets"]:
        lines.append(f"| {t['target']} | {t['measured']} | {_flag(t['met'])} |")
    lines.append("")
    lines += _profile_section(res)
    lines += _extras_section(res)
    if NOTES.is_file():
        lines += [NOTES.read_text().rstrip(), ""]
    sets = ",".join(res["sets"])
    lines += [
        "## Reproduce",
        "",
        "```",
        "make bench                                     # every set, 3 rounds",
        f"{'.venv/bin/python bench/run.py --sets ' + sets + ' --rounds N --set-rounds heavy=1'}",
        ".venv/bin/python bench/run.py --quick          # tiny set, one round (smoke)",
        "```",
        "",
        "Options: `--no-simulated` (skip the Apple-Silicon recipes), `--no-profile`, "
        "`--no-extras` (skip test-local and the sandbox deploy). Needs network access to the "
        "package index; test-local needs a Docker engine and the base image "
        "`mwaadeps-base:bookworm-toolchain` (`make docker`).",
        "",
    ]
    return "\n".join(lines)


def _profile_table(profile: dict[str, Any]) -> list[str]:
    out = [
        f"Total {profile['total_s']} s; build timings {profile['timings']}.",
        "",
        "| start s | seconds | phase | what |",
        "|---|---|---|---|",
    ]
    for e in profile["events"]:
        out.append(f"| {e['start_s']} | {e['seconds']} | {e['phase']} | {e['what']} |")
    out.append("")
    return out


def _profile_section(res: dict[str, Any]) -> list[str]:
    out = ["## Where a cold build spends its time", ""]
    before = json.loads(BEFORE.read_text()) if BEFORE.is_file() else {}
    for name, meta in res["meta"].items():
        prof = meta.get("profile")
        if not prof or "events" not in prof:
            continue
        if name in before:
            out += [f"### `{name}` before the change (`bench/profile-before.json`)", ""]
            out += _profile_table(before[name])
        out += [f"### `{name}`{' after the change' if name in before else ''}", ""]
        out += _profile_table(prof)
    return out


def _extras_section(res: dict[str, Any]) -> list[str]:
    ex = res.get("extras", {})
    out = ["## test-local and deploy", ""]
    tl = ex.get("test_local", {})
    if tl:
        out.append(
            "- Offline install in the runner image (`mwaadeps test-local --dist <bundle> --json`"
            " on every contender's output): "
            + ("see the tables." if tl.get("available") else f"n/a: {tl.get('reason')}.")
        )
    cmp = ex.get("test_local_vs_index_check", {})
    if cmp:
        t = cmp.get("test_local_s")
        out.append(
            f"- `mwaadeps test-local` on a warm image (example set): "
            f"{f'{t} s' if t is not None else cmp.get('test_local', 'n/a')}; the local-runner "
            f"style check (pip install from the index in the same image): {cmp['index_check']}."
        )
    dep = ex.get("deploy")
    if dep:
        if dep.get("available"):
            first, same = dep["first"], dep["unchanged"]
            out.append(
                f"- `mwaadeps deploy` against the sandbox (example bundle): first deploy "
                f"{first['seconds']} s, {_mb(first['bytes_uploaded'])} MB uploaded, "
                f"{first['update_calls']} update call(s); unchanged bundle: "
                f"{same['seconds']} s, {same['bytes_uploaded']} bytes uploaded, "
                f"{same['update_calls']} update call(s)"
                + ("" if same["ok"] else f" (failed: {same.get('error')})")
                + "."
            )
        else:
            out.append(f"- `mwaadeps deploy` against the sandbox: {dep.get('detail')}.")
    out.append("")
    return out
