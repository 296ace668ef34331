"""The contenders: the peers' recipes (pip download / pip wheel + zip) and mwaadeps build.

Every pip and mwaadeps child runs with `mwaadeps.build.isolation.clean_env()` (no PIP_*/UV_*
variables, PIP_CONFIG_FILE pointing at nothing) and pip also with `--isolated`, so this
machine's global pip configuration shapes none of them; every cold run gets a fresh cache.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from typing import Any

from bsets import EXAMPLE, LOCAL_PACKAGE, ReqSet
from measure import Run, inspect_zip, pip_logged_bytes, run, tree_bytes

from mwaadeps.build.isolation import clean_env
from mwaadeps.targets import Target, resolve_target

PEERS = ("local-runner-recipe", "seed-script-recipe")
SIMULATED = ("local-runner-recipe-arm64", "seed-script-recipe-macos")
MWAADEPS = ("mwaadeps-cold", "mwaadeps-warm", "mwaadeps-noop")
MWAA_PLUGINS = "/usr/local/airflow/plugins"


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """clean_env() without inherited MWAADEPS_* settings (each run sets its own)."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("MWAADEPS_")}
    return clean_env(extra, base=base)


def mwaadeps_bin() -> str:
    local = Path(sys.executable).parent / "mwaadeps"
    return str(local) if local.exists() else (shutil.which("mwaadeps") or "mwaadeps")


def python_for(target: Target) -> tuple[str, str]:
    """(interpreter with the target's Python X.Y, note); the running one when none is found."""
    want = target.python_version
    here = f"{sys.version_info.major}.{sys.version_info.minor}"
    if here == want:
        return sys.executable, f"Python {here} ({sys.executable})"
    candidates = [shutil.which(f"python{want}") or ""]
    candidates += sorted(
        glob.glob(os.path.expanduser(f"~/.pyenv/versions/{want}.*/bin/python{want}"))
    )
    for cand in candidates:
        if not cand:
            continue
        probe = subprocess.run(
            [cand, "-c", "import sys, pip; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            env=child_env(),
            check=False,
        )
        if probe.returncode == 0 and probe.stdout.strip() == want:
            return cand, f"Python {want} ({cand})"
    return sys.executable, f"Python {here} (no {want} interpreter found: host Python used)"


def pip_version(python: str) -> str:
    proc = subprocess.run(
        [python, "-m", "pip", "--isolated", "--version"],
        capture_output=True,
        text=True,
        env=child_env(),
        check=False,
    )
    return proc.stdout.split(" from ")[0].strip()


class SetWork:
    """The folders and inputs of one requirement set under bench/work/<set>/."""

    def __init__(self, rset: ReqSet, root: Path) -> None:
        self.rset = rset
        self.root = root / rset.name
        self.target = resolve_target(rset.airflow)
        self.python, self.python_note = python_for(self.target)
        self.project = self.root / "project"
        self.peer_requirements = self.root / "peer-requirements.txt"
        self.local_wheels = self.root / "local-wheels"
        self.notes: list[str] = []

    def prepare(self) -> None:
        """Fresh project for mwaadeps, requirements for the peers (not timed)."""
        if self.root.exists():
            shutil.rmtree(self.root)
        self.root.mkdir(parents=True)
        lines = list(self.rset.lines)
        header = [f"-c {self.rset.constraints}"]
        if self.rset.example:
            shutil.copytree(
                EXAMPLE,
                self.project,
                ignore=shutil.ignore_patterns("dist", "mwaadeps.lock", "__pycache__", "build"),
            )
            # The peers get the local package the way a team would: its wheel, built once.
            proc = run(
                [
                    self.python,
                    "-m",
                    "pip",
                    "--isolated",
                    "wheel",
                    "--no-deps",
                    "-w",
                    str(self.local_wheels),
                    str(EXAMPLE / "packages" / LOCAL_PACKAGE),
                ],
                child_env(),
            )
            if proc.ok:
                header.append(f"--find-links {self.local_wheels}")
                self.notes.append(
                    f"{LOCAL_PACKAGE}: the peers get its wheel (built once beforehand, not timed) "
                    "through --find-links; mwaadeps builds it itself (local-packages)."
                )
            else:
                lines = [ln for ln in lines if not ln.lower().startswith(LOCAL_PACKAGE)]
                self.notes.append(
                    f"{LOCAL_PACKAGE}: its wheel did not build for the peers, so their "
                    "requirements drop that line."
                )
        else:
            self.project.mkdir(parents=True)
            (self.project / "requirements.txt").write_text("\n".join(lines) + "\n")
            (self.project / "mwaadeps.toml").write_text(
                f'airflow-version = "{self.rset.airflow}"\n'
            )
        self.peer_requirements.write_text("\n".join(header + lines) + "\n")


def _zip_flat(src: Path, dest: Path) -> None:
    """`cd dir && zip plugins.zip *`: the files at the folder's top, file mtimes kept."""
    with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(src.iterdir()):
            if path.is_file():
                zf.write(path, path.name)


def _peer_requirements_out(work: SetWork, dest: Path) -> None:
    """The recipe's requirements.txt for MWAA: find-links + no-index, then the user's lines."""
    user = [ln for ln in work.rset.lines]
    dest.write_text(f"--find-links {MWAA_PLUGINS}\n--no-index\n" + "\n".join(user) + "\n")


def run_peer(work: SetWork, contender: str, round_dir: Path) -> dict[str, Any]:
    """One peer recipe, cold (fresh pip cache); its measures."""
    out = round_dir / contender
    if out.exists():
        shutil.rmtree(out)
    files = out / ("wheels" if contender.startswith("seed") else "plugins")
    cache = out / "pip-cache"
    files.mkdir(parents=True)
    pyver = work.target.python_version
    pip = [work.python, "-m", "pip", "--isolated"]
    req = ["-r", str(work.peer_requirements)]
    if contender == "seed-script-recipe":
        cmd = [*pip, "wheel", *req, "-w", str(files)]
    else:
        # pip wheel has no --platform: the laptop's seed recipe is simulated by pip download.
        cmd = [*pip, "download", *req, "-d", str(files)]
    cmd += ["--cache-dir", str(cache), "--progress-bar", "off"]
    if contender == "local-runner-recipe-arm64":
        cmd += [
            "--platform",
            "manylinux2014_aarch64",
            "--only-binary=:all:",
            "--python-version",
            pyver,
        ]
    elif contender == "seed-script-recipe-macos":
        cmd += ["--platform", "macosx_14_0_arm64", "--only-binary=:all:"]
    result: dict[str, Any] = {"contender": contender, "cmd": " ".join(cmd[1:])}
    proc: Run = run(cmd, child_env())
    zip_path = out / "plugins.zip"
    seconds = proc.seconds
    if proc.ok:
        t0 = time.monotonic()
        _zip_flat(files, zip_path)
        _peer_requirements_out(work, out / "requirements.txt")
        seconds += time.monotonic() - t0
    result.update(
        ok=proc.ok,
        wall_s=round(seconds, 2),
        download_bytes=pip_logged_bytes(proc.stdout),
        saved_bytes=tree_bytes(files),
        dist=str(out),
    )
    if proc.ok:
        result.update(inspect_zip(zip_path, work.target).to_dict())
    else:
        result["error"] = proc.tail()
    shutil.rmtree(cache, ignore_errors=True)
    return result


def _build(work: SetWork, out: Path, cache: Path) -> tuple[Run, dict[str, Any]]:
    cmd = [
        mwaadeps_bin(),
        "build",
        "--constraints",
        str(work.rset.constraints),
        "--json",
        "-o",
        str(out),
    ]
    proc = run(cmd, child_env({"MWAADEPS_CACHE_DIR": str(cache)}), cwd=work.project)
    try:
        data = json.loads(proc.stdout) if proc.stdout.strip() else {}
    except json.JSONDecodeError:
        data = {}
    return proc, data


def run_mwaadeps(work: SetWork, round_dir: Path) -> list[dict[str, Any]]:
    """cold (fresh cache, no lock), warm (full cache, lock removed), noop (nothing changed)."""
    cache = round_dir / "mwaadeps-cache"
    if cache.exists():
        shutil.rmtree(cache)
    lock = work.project / "mwaadeps.lock"
    results = []
    for contender in MWAADEPS:
        out = round_dir / contender / "dist"
        if contender != "mwaadeps-noop":
            lock.unlink(missing_ok=True)
            if out.parent.exists():
                shutil.rmtree(out.parent)
        else:
            out = round_dir / "mwaadeps-warm" / "dist"  # same inputs, same output folder
        uv_before = tree_bytes(cache / "uv")
        proc, data = _build(work, out, cache)
        uv_growth = max(0, tree_bytes(cache / "uv") - uv_before)
        res: dict[str, Any] = {
            "contender": contender,
            "ok": proc.ok and bool(data.get("ok")),
            "wall_s": round(proc.seconds, 2),
            "download_bytes": int(data.get("downloaded_bytes", 0)) + uv_growth,
            "wheel_download_bytes": int(data.get("downloaded_bytes", 0)),
            "uv_cache_growth_bytes": uv_growth,
            "timings": data.get("timings", {}),
            "lock_reused": data.get("lock_reused"),
            "dist": str(out),
        }
        if res["ok"]:
            res.update(inspect_zip(out / "plugins.zip", work.target).to_dict())
            res["requirements_sha256"] = data["outputs"]["requirements.txt"]["sha256"]
        else:
            err = data.get("error") if isinstance(data.get("error"), dict) else {}
            res["error"] = err.get("message") or proc.tail()
        results.append(res)
    shutil.rmtree(cache, ignore_errors=True)
    return results
