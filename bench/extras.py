"""Offline installs in the runner image (`mwaadeps test-local`) and deploys to the sandbox.

Both degrade to "n/a" with the reason when the command, the engine or the image is missing.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from measure import run
from recipes import child_env, mwaadeps_bin


def _help_works(*args: str) -> tuple[bool, str]:
    proc = run([mwaadeps_bin(), *args, "--help"], child_env(), timeout=60)
    if proc.ok:
        return True, ""
    return False, (proc.stderr.strip() or proc.stdout.strip()).splitlines()[0][:200]


def docker_engine() -> tuple[bool, str]:
    """Whether a Docker engine answers (through the SDK mwaadeps itself uses)."""
    try:
        import docker  # type: ignore[import-untyped]

        client = docker.from_env(timeout=10)
        version = client.version().get("Version", "?")
        return True, f"Docker engine {version}"
    except Exception as exc:  # any failure means: no engine here
        return False, f"no Docker engine answers ({type(exc).__name__})"


class LocalTester:
    """Runs `mwaadeps test-local --dist <dir> --json` where it can; remembers why not."""

    def __init__(self, base_image: str = "mwaadeps-base:bookworm-toolchain") -> None:
        ok, why = _help_works("test-local")
        self.reason = "" if ok else f"`mwaadeps test-local` is not available ({why})"
        if ok:
            engine, what = docker_engine()
            if not engine:
                self.reason = what
        self.base_image = base_image
        self.images: dict[str, str] = {}  # airflow version -> "" (ready) or the reason

    @property
    def available(self) -> bool:
        return not self.reason

    def ensure_image(self, airflow: str, project: Path, constraints: Path) -> str:
        """'' when the runner image for that version is ready, else why not."""
        if airflow in self.images:
            return self.images[airflow]
        proc = run(
            [
                mwaadeps_bin(),
                "runner",
                "build",
                "--airflow-version",
                airflow,
                "--base-image",
                self.base_image,
                "--constraints",
                str(constraints),
            ],
            child_env(),
            cwd=project,
            timeout=3600,
        )
        self.images[airflow] = "" if proc.ok else f"runner image build failed: {proc.tail(3)}"
        return self.images[airflow]

    def check(self, dist: Path, project: Path, airflow: str, constraints: Path) -> dict[str, Any]:
        """{"installs_offline": bool | None, "seconds", "detail"}."""
        if not self.available:
            return {"installs_offline": None, "detail": "n/a: " + self.reason}
        why = self.ensure_image(airflow, project, constraints)
        if why:
            return {"installs_offline": None, "detail": "n/a: " + why}
        cmd = [mwaadeps_bin(), "test-local", "--dist", str(dist), "-a", airflow, "--json"]
        env = child_env({"MWAADEPS_CONSTRAINTS": str(constraints)})
        proc = run(cmd, env, cwd=project, timeout=1800)
        try:
            data = json.loads(proc.stdout)
        except json.JSONDecodeError:
            data = {}
        detail = ""
        if not proc.ok:
            failed = [st for st in data.get("steps", []) if not st.get("ok")]
            if failed:
                detail = "; ".join(f"{st['name']}: {st.get('message', '')}" for st in failed)
            else:
                detail = json.dumps(data.get("error") or data)[:400] if data else proc.tail(4)
        return {
            "installs_offline": bool(proc.ok and data.get("ok", True)),
            "seconds": round(proc.seconds, 1),
            "detail": detail,
        }


def deploy_unchanged(project: Path, dist: Path) -> dict[str, Any]:
    """Deploy the bundle to a fresh sandbox, then deploy it again unchanged: time the 2nd."""
    ok, why = _help_works("sandbox")
    ok2, why2 = _help_works("deploy")
    if not (ok and ok2):
        return {"available": False, "detail": "n/a: " + (why or why2)}
    tmp = Path(tempfile.mkdtemp(prefix="bench-sandbox-"))
    env_file = tmp / "sandbox.env"
    log = (tmp / "sandbox.log").open("w")
    proc = subprocess.Popen(
        [
            mwaadeps_bin(),
            "sandbox",
            "--seed",
            str(project),
            "--port",
            "0",
            "--no-install",
            "--update-polls",
            "1",
            "--env-file",
            str(env_file),
            "--json",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=child_env(),
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not env_file.is_file() and time.monotonic() < deadline:
            if proc.poll() is not None:
                return {"available": False, "detail": "n/a: the sandbox exited at start"}
            time.sleep(0.2)
        if not env_file.is_file():
            return {"available": False, "detail": "n/a: the sandbox did not start in 60 s"}
        time.sleep(0.3)
        env = child_env()
        for line in env_file.read_text().splitlines():
            key, _, value = line.removeprefix("export ").partition("=")
            env[key] = value
        env["MWAADEPS_POLL_INTERVAL"] = "0.2"
        cmd = [mwaadeps_bin(), "deploy", "--env", "dev", "--dist", str(dist), "--json", "--wait"]
        runs = []
        for _ in range(2):
            res = run(cmd, env, cwd=project, timeout=600)
            try:
                data = json.loads(res.stdout)
            except json.JSONDecodeError:
                data = {"ok": False, "error": res.tail(3)}
            uploaded = sum(
                int(p.get("size") or 0) for p in data.get("plan", []) if p.get("action") == "upload"
            )
            runs.append(
                {
                    "ok": bool(data.get("ok")),
                    "seconds": round(res.seconds, 2),
                    "bytes_uploaded": uploaded,
                    "update_calls": 1 if data.get("update_called") else 0,
                    "actions": {p.get("artifact"): p.get("action") for p in data.get("plan", [])},
                    "error": data.get("error"),
                }
            )
        return {"available": True, "first": runs[0], "unchanged": runs[1]}
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()
        shutil.rmtree(tmp, ignore_errors=True)
