"""Where a cold `mwaadeps build` spends its seconds, finer than the build's own timings.

Run as a child (`python bench/profiling.py <project> <constraints> <cache>`): it wraps the
build's phases (constraints, requirement check, local package build, each uv resolution, the
base resolution, wheel fetch, zip writing) with wall-clock timers and prints one JSON object.
"""

from __future__ import annotations

import functools
import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

_T0 = time.monotonic()
EVENTS: list[dict[str, Any]] = []
_LOCK = threading.Lock()


def _label(name: str, args: tuple[Any, ...]) -> str:
    if name == "_run_uv" and len(args) >= 2:
        fmt = "pylock" if "pylock.toml" in args[0] else "graph"
        offline = " offline" if "--offline" in args[0] else ""
        return f"uv pip compile ({fmt}{offline}; roots: {'+'.join(args[1].roots)})"
    return name


def _wrap(module: Any, name: str, phase: str) -> None:
    func = getattr(module, name)

    @functools.wraps(func)
    def timed(*args: Any, **kwargs: Any) -> Any:
        start = time.monotonic()
        try:
            return func(*args, **kwargs)
        finally:
            with _LOCK:
                EVENTS.append(
                    {
                        "phase": phase,
                        "what": _label(name, args),
                        "start_s": round(start - _T0, 2),
                        "seconds": round(time.monotonic() - start, 2),
                        "thread": threading.current_thread().name,
                    }
                )

    setattr(module, name, timed)


def main(project: str, constraints: str, cache: str) -> None:
    import mwaadeps.build.base as base_mod
    import mwaadeps.build.lock as lock_mod
    import mwaadeps.build.pipeline as build_mod
    import mwaadeps.build.resolvers.uv as resolvers_mod
    import mwaadeps.build.wheels as wheels_mod
    import mwaadeps.requirements.rules as check_mod
    from mwaadeps.config import load_settings

    for module, name, phase in (
        (lock_mod, "load_constraints", "constraints"),
        (check_mod, "check_requirements", "check"),
        (wheels_mod, "_build_wheel", "local package build"),
        (base_mod, "resolve_base", "resolution (MWAA base)"),
        (resolvers_mod, "_run_uv", "resolution (uv process)"),
        (build_mod, "fetch_all", "wheel downloads"),
        (build_mod, "write_bundle", "zip + manifest"),
    ):
        _wrap(module, name, phase)
    env = dict(os.environ, MWAADEPS_CACHE_DIR=cache)
    os.chdir(project)
    settings = load_settings({"constraints": constraints}, env, Path(project))
    started = time.monotonic()
    result = build_mod.build(settings)
    print(
        json.dumps(
            {
                "total_s": round(time.monotonic() - started, 2),
                "timings": {k: round(v, 2) for k, v in result.timings.items()},
                "downloaded_bytes": result.downloaded_bytes,
                "events": sorted(EVENTS, key=lambda e: e["start_s"]),
            }
        )
    )


if __name__ == "__main__":
    main(*sys.argv[1:4])
