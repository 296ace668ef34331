"""`make bench`: mwaadeps build against the peers' recipes, side by side, in one run.

    python bench/run.py [--rounds N] [--sets tiny,example,heavy,af3-slack]
                        [--set-rounds heavy=1] [--quick] [--no-profile] [--no-extras]

Writes bench/results.json and BENCHMARKS.md. Work folders live in bench/work/ (ignored).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bsets import SETS  # noqa: E402
from extras import LocalTester, deploy_unchanged  # noqa: E402
from measure import run  # noqa: E402
from recipes import (  # noqa: E402
    PEERS,
    SIMULATED,
    SetWork,
    child_env,
    run_mwaadeps,
    run_peer,
)
from report import aggregate, machine_info, targets, write_outputs  # noqa: E402

GROUPS = (PEERS[0], PEERS[1], "mwaadeps", SIMULATED[0], SIMULATED[1])


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3, help="rounds per set (default 3)")
    ap.add_argument("--sets", default=",".join(SETS), help="comma-separated: " + ",".join(SETS))
    ap.add_argument(
        "--set-rounds",
        action="append",
        default=[],
        metavar="SET=N",
        help="rounds for one set (e.g. heavy=1)",
    )
    ap.add_argument("--quick", action="store_true", help="smoke run: tiny set, 1 round")
    ap.add_argument("--no-simulated", action="store_true", help="skip the Apple-Silicon recipes")
    ap.add_argument("--no-profile", action="store_true", help="skip the cold-build profile")
    ap.add_argument("--no-extras", action="store_true", help="skip test-local and deploy")
    ap.add_argument(
        "--report-only",
        action="store_true",
        help="rewrite BENCHMARKS.md from bench/results.json (no runs)",
    )
    ap.add_argument("--work", type=Path, default=HERE / "work")
    ap.add_argument("--results", type=Path, default=HERE / "results.json")
    ap.add_argument("--markdown", type=Path, default=HERE.parent / "BENCHMARKS.md")
    args = ap.parse_args(argv)
    if args.quick:
        args.sets, args.rounds = "tiny", 1
    args.set_list = [s.strip() for s in args.sets.split(",") if s.strip()]
    unknown = [s for s in args.set_list if s not in SETS]
    if unknown:
        ap.error(f"unknown set(s): {', '.join(unknown)}")
    args.rounds_for = {}
    for item in args.set_rounds:
        name, _, count = item.partition("=")
        args.rounds_for[name.strip()] = int(count)
    return args


def profile_cold(work: SetWork) -> dict[str, Any]:
    """One more cold build of the set, in a child with phase timers."""
    project = work.root / "profile-project"
    if project.exists():
        shutil.rmtree(project)
    shutil.copytree(work.project, project, ignore=shutil.ignore_patterns("mwaadeps.lock"))
    cache = work.root / "profile-cache"
    shutil.rmtree(cache, ignore_errors=True)
    proc = run(
        [
            sys.executable,
            str(HERE / "profiling.py"),
            str(project),
            str(work.rset.constraints),
            str(cache),
        ],
        child_env(),
        cwd=project,
    )
    shutil.rmtree(cache, ignore_errors=True)
    if not proc.ok:
        return {"error": proc.tail()}
    data: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return data


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.report_only:
        results = json.loads(args.results.read_text())
        results["targets"] = targets(results)
        write_outputs(results, args.results, args.markdown, args)
        log(f"rewrote {args.markdown} from {args.results}")
        return 0
    started = time.time()
    info = machine_info()
    log(f"sets {args.set_list}, rounds {args.rounds} {args.rounds_for or ''}")
    raw: dict[str, Any] = {}
    works: dict[str, SetWork] = {}
    groups = [g for g in GROUPS if not (args.no_simulated and g in SIMULATED)]
    for name in args.set_list:
        work = SetWork(SETS[name], args.work)
        works[name] = work
        work.prepare()
        rounds = args.rounds_for.get(name, args.rounds)
        log(f"set {name}: Airflow {work.rset.airflow}, peers on {work.python_note}")
        runs: dict[str, list[dict[str, Any]]] = {}
        for r in range(rounds):
            order = groups[r % len(groups) :] + groups[: r % len(groups)]  # alternate
            round_dir = work.root / f"round{r + 1}"
            for group in order:
                if group == "mwaadeps":
                    results = run_mwaadeps(work, round_dir)
                else:
                    results = [run_peer(work, group, round_dir)]
                for res in results:
                    res["round"] = r + 1
                    runs.setdefault(res["contender"], []).append(res)
                    log(
                        f"  {name} r{r + 1} {res['contender']:<27} {res['wall_s']:>7.2f} s "
                        f"{'ok' if res['ok'] else 'FAILED'}"
                        f"{'' if res['ok'] else ': ' + res.get('error', '')[-160:]}"
                    )
        raw[name] = {"rounds": rounds, "runs": runs}
        if not args.no_profile:
            log(f"  {name}: profiling a cold build")
            raw[name]["profile"] = profile_cold(work)
    extras: dict[str, Any] = {}
    if not args.no_extras:
        tester = LocalTester()
        log(f"test-local: {'available' if tester.available else tester.reason}")
        for name, work in works.items():
            verdicts: dict[str, Any] = {}
            by_sha: dict[str, dict[str, Any]] = {}
            for contender, runs in raw[name]["runs"].items():
                last = next((x for x in reversed(runs) if x["ok"]), None)
                if last is None:
                    continue
                if contender in SIMULATED and name != "example":
                    continue  # their wrong-platform wheels are the finding; one set shows it
                if last.get("sha256") in by_sha:  # a byte-identical bundle: same verdict
                    verdicts[contender] = dict(by_sha[last["sha256"]], same_as_build=True)
                    continue
                verdicts[contender] = tester.check(
                    Path(last["dist"]), work.project, work.rset.airflow, work.rset.constraints
                )
                by_sha[last["sha256"]] = verdicts[contender]
                log(f"  test-local {name} {contender}: {verdicts[contender]}")
            raw[name]["installs"] = verdicts
        extras["test_local"] = {"available": tester.available, "reason": tester.reason}
        example = works.get("example")
        if example is not None and raw["example"]["runs"].get("mwaadeps-warm"):
            dist = Path(raw["example"]["runs"]["mwaadeps-warm"][-1]["dist"])
            extras["deploy"] = deploy_unchanged(example.project, dist)
            log(f"deploy: {extras['deploy']}")
        extras["test_local_vs_index_check"] = test_local_vs_index(tester, works, raw)
    results = aggregate(raw, works, info, extras, time.time() - started)
    write_outputs(results, args.results, args.markdown, args)
    log(f"wrote {args.results} and {args.markdown} in {time.time() - started:.0f} s")
    return 0


def test_local_vs_index(tester: LocalTester, works: dict[str, SetWork], raw: dict) -> dict:
    """mwaadeps test-local on a warm image vs a local-runner-style pip install from the index."""
    out: dict[str, Any] = {
        "index_check": "n/a: the local-runner-style check installs from the package index inside "
        "the container, and containers on this machine have no network (only the host reaches "
        "the index)"
    }
    installs = raw.get("example", {}).get("installs", {})
    warm = installs.get("mwaadeps-warm") or installs.get("mwaadeps-cold")
    if warm and warm.get("installs_offline") is not None:
        out["test_local_s"] = warm.get("seconds")
    else:
        out["test_local_s"] = None
        out["test_local"] = "n/a: " + (tester.reason or "no verdict")
    return out


if __name__ == "__main__":
    sys.exit(main())
