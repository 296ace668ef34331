"""Runs inside the runner container: MWAA's dependency steps, in MWAA's order, then checks.

Started as root by ``mwaadeps test-local`` with one argument, a JSON config file. Every
step runs as the non-root ``airflow`` user. Plain output lines are the steps' own output;
lines starting with ``@@mwaadeps@@`` carry JSON events for the host (step start/end, result).
Standard library only: it must run on any image with Python 3.7+ (mwaadeps' runner,
aws-mwaa-local-runner, amazon-mwaa-docker-images).

The sandbox's Docker backend runs two more probes, as the airflow user, in an image committed
after an install: ``--probe parse <dags folder>`` (the DagBag: DAGs and import errors) and
``--probe run <config.json>`` (a fresh sqlite metadata DB, the given Variables, one
``dag.test``, then every Variable). Each prints one ``@@mwaadeps@@`` JSON line last.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import re
import signal
import subprocess
import sys
import time
from typing import Any

MARKER = "@@mwaadeps@@ "
AIRFLOW_HOME = "/usr/local/airflow"
WORK = "/tmp/mwaadeps"
# Where images keep MWAA's local copy of the Airflow constraints, most specific first.
DEFAULT_CONSTRAINTS_CANDIDATES = (
    AIRFLOW_HOME + "/.local/etc/airflow_constraints.txt",  # amazon-mwaa-docker-images, mwaadeps
    "/constraints.txt",  # aws-mwaa-local-runner
)
# Variables a startup script may not change for later steps.
_RESERVED_ENV = {"HOME", "USER", "LOGNAME", "PWD", "OLDPWD", "SHLVL", "_", "AIRFLOW_HOME"}
_KILL_GRACE_S = 5.0
STARTUP_EXPORTS = WORK + "/state/startup_exports.json"


def airflow_env(state: str, dags_folder: str) -> dict[str, str]:
    """Airflow's settings for a probe: this dags folder, a sqlite DB and logs under state."""
    return {
        "AIRFLOW__CORE__DAGS_FOLDER": dags_folder,
        "AIRFLOW__CORE__PLUGINS_FOLDER": AIRFLOW_HOME + "/plugins",
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": "SequentialExecutor",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": "sqlite:///" + state + "/airflow.db",
        "AIRFLOW__CORE__SQL_ALCHEMY_CONN": "sqlite:///" + state + "/airflow.db",
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": state + "/logs",
        "AIRFLOW__SCHEDULER__CHILD_PROCESS_LOG_DIRECTORY": state + "/logs/scheduler",
        "AIRFLOW_CONFIG": state + "/airflow.cfg",
        "AIRFLOW__LOGGING__COLORED_CONSOLE_LOG": "False",
    }


def emit(event: str, **data: Any) -> None:
    """One event line for the host."""
    data["event"] = event
    sys.stdout.write(MARKER + json.dumps(data) + "\n")
    sys.stdout.flush()


def say(line: str) -> None:
    sys.stdout.write(line.rstrip("\n") + "\n")
    sys.stdout.flush()


def canon(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


class Airflow:
    """The airflow user and the environment its processes get."""

    def __init__(self) -> None:
        try:
            entry = pwd.getpwnam("airflow")
        except KeyError:
            raise SystemExit("the image has no 'airflow' user") from None
        self.uid = entry.pw_uid
        self.gid = entry.pw_gid
        self.home = entry.pw_dir or AIRFLOW_HOME
        env = dict(os.environ)
        local_bin = self.home + "/.local/bin"
        path = env.get("PATH", "/usr/local/bin:/usr/bin:/bin")
        if local_bin not in path.split(":"):
            path = local_bin + ":" + path
        env.update(
            {"HOME": self.home, "USER": "airflow", "LOGNAME": "airflow", "PATH": path,
             "AIRFLOW_HOME": env.get("AIRFLOW_HOME") or AIRFLOW_HOME, "PYTHONUNBUFFERED": "1"}
        )  # fmt: skip
        self.env = env

    def demote(self) -> None:
        os.setgroups([])
        os.setgid(self.gid)
        os.setuid(self.uid)


class Outcome:
    """What one child process did."""

    def __init__(self, code: int | None, lines: list[str], timed_out: bool) -> None:
        self.code = code
        self.lines = lines
        self.timed_out = timed_out


def run_as(
    user: Airflow,
    cmd: list[str],
    timeout: float,
    *,
    stream: bool = True,
    env: dict[str, str] | None = None,
) -> Outcome:
    """Run cmd as airflow, echoing its output; kill its process group after timeout."""
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        cwd=user.home, env=env or user.env, preexec_fn=user.demote, start_new_session=True,
    )  # fmt: skip
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    timed_out = [False]

    def kill() -> None:
        timed_out[0] = True
        for sig, wait in ((signal.SIGTERM, _KILL_GRACE_S), (signal.SIGKILL, 0.0)):
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                return
            end = time.monotonic() + wait
            while time.monotonic() < end and proc.poll() is None:
                time.sleep(0.1)
            if proc.poll() is not None:
                return

    import threading

    timer = threading.Timer(max(deadline - time.monotonic(), 0.0), kill)
    timer.daemon = True
    timer.start()
    try:
        assert proc.stdout is not None
        for raw in proc.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            lines.append(line)
            if stream:
                say(line)
        proc.wait()
    finally:
        timer.cancel()
    if timed_out[0]:
        # The group may still hold the pipe open; make sure nothing survives.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
    return Outcome(proc.returncode, lines, timed_out[0])


def tail(lines: list[str], count: int = 15) -> str:
    kept = [ln for ln in lines if ln.strip()]
    return "\n".join(kept[-count:])


class Runner:
    """The steps, their results, and what later steps need from earlier ones."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config
        self.user = Airflow()
        self.result: dict[str, Any] = {"installed": {}, "dag_import_errors": {},
                                       "python": sys.version.split()[0]}  # fmt: skip

    def skip(self, name: str, why: str) -> None:
        """A step that would prove nothing after an earlier failure."""
        emit("step_end", name=name, ok=False, skipped=True, seconds=0.0,
             message="skipped: " + why)  # fmt: skip

    def step(self, name: str, func: Any) -> bool:
        emit("step_start", name=name)
        started = time.monotonic()
        try:
            ok, message = func()
        except Exception as exc:  # a bug or a broken image: report, keep going
            ok, message = False, f"{type(exc).__name__}: {exc}"
        emit("step_end", name=name, ok=bool(ok), seconds=round(time.monotonic() - started, 2),
             message=message)  # fmt: skip
        return bool(ok)

    # -- placement -------------------------------------------------------------------
    def prepare(self) -> None:
        """Give the airflow user the files, as MWAA does."""
        for sub in ("plugins", "requirements", "startup", "dags"):
            top = os.path.join(AIRFLOW_HOME, sub)
            if not os.path.isdir(top):
                os.makedirs(top, exist_ok=True)
            for root, dirs, files in os.walk(top):
                for item in [root] + [os.path.join(root, n) for n in dirs + files]:
                    os.lchown(item, self.user.uid, self.user.gid)
        os.chmod(WORK, 0o755)
        for name in os.listdir(WORK):
            os.chmod(os.path.join(WORK, name), 0o755 if name.endswith(".py") else 0o644)
        state = os.path.join(WORK, "state")
        os.makedirs(state, exist_ok=True)
        os.chown(state, self.user.uid, self.user.gid)

    # -- MWAA's steps ----------------------------------------------------------------
    def startup(self) -> tuple[bool, str]:
        script = AIRFLOW_HOME + "/startup/startup.sh"
        if not os.path.isfile(script):
            return True, "no startup script"
        timeout = float(self.config["startup_timeout"])
        env_file = WORK + "/state/startup_env"
        # Sourced, like MWAA does, so the variables it exports reach pip and Airflow.
        wrapper = 'source "$1"; rc=$?; env -0 > "$2"; exit $rc'
        out = run_as(self.user, ["/bin/bash", "-c", wrapper, "startup", script, env_file], timeout)
        if out.timed_out:
            return False, (
                f"startup.sh timed out after {timeout:g} s, as MWAA would kill it (MWAA gives "
                f"the startup script 5 minutes)\n{tail(out.lines, 5)}"
            ).strip()
        if out.code != 0:
            return False, (f"startup.sh exited with code {out.code}\n{tail(out.lines, 10)}").strip()
        exported = self._read_env(env_file)
        self.user.env.update(exported)
        # An image committed after the install keeps them for later probes (sandbox runs).
        with open(STARTUP_EXPORTS, "w", encoding="utf-8") as fh:
            json.dump(exported, fh)
        note = " (exports " + ", ".join(sorted(exported)) + ")" if exported else ""
        return True, "startup.sh exited 0" + note

    def _read_env(self, path: str) -> dict[str, str]:
        try:
            with open(path, "rb") as fh:
                raw = fh.read().decode("utf-8", "replace")
        except OSError:
            return {}
        before = self.user.env
        out: dict[str, str] = {}
        for item in raw.split("\0"):
            key, sep, value = item.partition("=")
            if sep and key not in _RESERVED_ENV and before.get(key) != value:
                out[key] = value
        return out

    def default_constraints(self) -> str | None:
        from_env = self.user.env.get("AIRFLOW_CONSTRAINTS_FILE")
        for candidate in ([from_env] if from_env else []) + list(DEFAULT_CONSTRAINTS_CANDIDATES):
            if os.path.isfile(candidate):
                return candidate
        fallback = self.config.get("default_constraints")
        return str(fallback) if fallback and os.path.isfile(fallback) else None

    def bundle_check(self) -> tuple[bool, str]:
        """The host's findings on plugins.zip, less what the image already satisfies."""
        found = self.config.get("bundle")
        if not isinstance(found, dict):
            return True, "not checked (the host sent no findings)"
        bad, missing = list(found.get("bad") or []), list(found.get("missing") or [])
        notes = list(found.get("notes") or [])
        installed: dict[str, str] = self.probe("installed") if bad or missing else {}
        keep_bad = []
        for item in bad:
            have = installed.get(item["name"])
            if item["name"] and satisfies(have, "==" + item["version"]):
                notes.append(item["file"] + " is not for MWAA, but the image has " +
                             item["name"] + " " + str(have) + " already")  # fmt: skip
            else:
                keep_bad.append(item)
        keep_missing = [
            m for m in missing if not satisfies(installed.get(m["name"]), m["specifier"])
        ]
        if len(keep_missing) < len(missing):
            notes.append(str(len(missing) - len(keep_missing)) + " requirements without a file "
                         "in plugins.zip are satisfied by the image's own packages")  # fmt: skip
        target = found.get("target") or "MWAA"
        if keep_bad or keep_missing:
            lines = []
            if keep_bad:
                lines.append("plugins.zip has wheels " + target + " cannot install:")
                lines += ["  " + item["message"] for item in keep_bad]
            lines += [item["message"] for item in keep_missing]
            lines.append(str(found.get("remedy") or ""))
            return False, "\n".join(ln for ln in lines if ln)
        counts = str(found.get("wheels", 0)) + " wheels"
        if found.get("sdists"):
            counts += " and " + str(found["sdists"]) + " sdists"
        message = counts + " in plugins.zip"
        if found.get("target"):
            message += ", none of them wrong for " + target
        if found.get("requirements_checked"):
            message += "; every requirement has a file to install from"
            if len(keep_missing) < len(missing):
                message += " or is in the image"
        return True, "\n".join([message, *notes])

    def pip_install(self) -> tuple[bool, str]:
        req = AIRFLOW_HOME + "/requirements/requirements.txt"
        if not os.path.isfile(req):
            return True, "no requirements.txt"
        with open(req, "rb") as fh:
            text = fh.read().decode("utf-8", "replace")
        pip = ["pip3"] if _which("pip3", self.user.env["PATH"]) else ["python3", "-m", "pip"]
        cmd = [*pip, "install"]
        essential = self.config.get("essential_constraints")
        if essential and os.path.isfile(essential):
            cmd += ["--constraint", essential]
        cmd += ["-r", req]
        # MWAA's rule: a line matching this regex (even commented out) means "I chose".
        if not any(re.search(r"-c |--constraint ", line) for line in text.splitlines()):
            default = self.default_constraints()
            if default:
                cmd += ["-c", default]
        say("$ " + " ".join(cmd))
        timeout = float(self.config["pip_timeout"])
        out = run_as(self.user, cmd, timeout)
        if out.timed_out:
            return False, (
                f"pip install timed out after {timeout:g} s, as MWAA would kill it (MWAA gives "
                f"pip 9 minutes)\n{tail(out.lines, 5)}"
            ).strip()
        if out.code != 0:
            return False, pip_failure(out.lines)
        return True, "pip install exited 0"

    def probe(self, kind: str, *args: str, timeout: float = 300.0) -> Any:
        """Run this script's probe mode as airflow; its last stdout line is JSON."""
        cmd = ["python3", os.path.abspath(__file__), "--probe", kind, *list(args)]
        out = run_as(self.user, cmd, timeout, stream=False, env=self.probe_env())
        for line in reversed(out.lines):
            if line.startswith(MARKER):
                return json.loads(line[len(MARKER) :])
        if out.timed_out:
            raise RuntimeError(f"{kind} check was killed after {timeout:g} s")
        raise RuntimeError(f"{kind} check failed (exit {out.code})\n{tail(out.lines)}")

    def probe_env(self) -> dict[str, str]:
        env = dict(self.user.env)
        env.update(airflow_env(WORK + "/state", AIRFLOW_HOME + "/dags"))
        return env

    def installed(self) -> tuple[bool, str]:
        found: dict[str, str] = self.probe("installed")
        self.result["installed"] = found
        pinned = {canon(k): v for k, v in (self.config.get("pinned") or {}).items()}
        if not self.config.get("have_manifest"):
            return True, f"no manifest.json: pinned versions not checked ({len(found)} installed)"
        bad = []
        for name, want in sorted(pinned.items()):
            have = found.get(name)
            if have is None:
                bad.append(f"{name}: not installed (manifest pins {want})")
            elif have != want:
                bad.append(f"{name}: {have} installed, manifest pins {want}")
        if bad:
            return False, "\n".join(bad)
        return True, f"{len(pinned)} pinned distributions installed at their versions"

    def imports(self) -> tuple[bool, str]:
        # The user's own requirements (manifest), else every line of requirements.txt.
        names = self.config.get("top_level")
        if names is None:
            names = requirement_names(AIRFLOW_HOME + "/requirements/requirements.txt")
        if not names:
            return True, "no top-level requirements"
        report: dict[str, Any] = self.probe("imports", *names)
        bad = [f"{name}: {err}" for name, err in sorted(report["errors"].items())]
        if bad:
            return False, "\n".join(bad)
        return True, f"{report['modules']} modules of {len(names)} requirements import"

    def pip_check(self) -> tuple[bool, str]:
        out = run_as(self.user, ["python3", "-m", "pip", "check"], 300.0)
        if out.code != 0 or out.timed_out:
            return False, tail(out.lines, 30) or "pip check failed"
        return True, "pip check: no broken requirements"

    def dags(self) -> tuple[bool, str]:
        report: dict[str, Any] = self.probe("dags", timeout=float(self.config["dag_timeout"]))
        errors: dict[str, str] = report["import_errors"]
        self.result["dag_import_errors"] = errors
        skipped = report.get("safe_mode_skips") or []
        note = ""
        if skipped:
            note = "\nMWAA's safe mode would not parse: " + ", ".join(skipped)
        if errors:
            lines = [f"{f}: {e.strip().splitlines()[-1] if e.strip() else e}"
                     for f, e in sorted(errors.items())]  # fmt: skip
            return False, "\n".join(lines) + note
        dags, files = report["dags"], report["files"]
        return True, f"Airflow {report['airflow']} loaded {dags} DAGs from {files} files{note}"

    def run(self) -> int:
        self.prepare()
        emit("info", python=self.result["python"], user="airflow", home=self.user.home)
        # MWAA runs pip whatever the startup script did; after a failed bundle check or pip
        # install, the later steps would only repeat the failure: they are skipped.
        self.step("startup script", self.startup)
        blocked = None
        for name, func in (("bundle check", self.bundle_check), ("pip install", self.pip_install),
                           ("pinned versions", self.installed), ("imports", self.imports),
                           ("pip check", self.pip_check), ("DAG import", self.dags)):  # fmt: skip
            if blocked:
                self.skip(name, blocked)
            elif not self.step(name, func) and name in ("bundle check", "pip install"):
                blocked = name + " failed"
        emit("result", **self.result)
        return 0


def pip_failure(lines: list[str]) -> str:
    """pip's ERROR lines and, for a ResolutionImpossible, the conflict's cause under them."""
    kept: list[str] = []
    in_cause = False
    for line in lines:
        if line.strip() == "The conflict is caused by:":
            in_cause = True
        elif in_cause and not line.strip():
            in_cause = False
        if in_cause or line.startswith("ERROR:"):
            kept.append(line.rstrip())
    if not kept:
        return tail(lines)
    if any("(constraint)" in line for line in kept):
        kept.append(
            "(constraint) pins come from the constraints pip was given: MWAA's essential "
            "pins, which nothing can override, and the Airflow constraints."
        )
    return "\n".join(kept)


def satisfies(version: str | None, specifier: str) -> bool:
    """True when an installed version meets a specifier (pip's packaging, else exact ==)."""
    if version is None:
        return False
    if not specifier:
        return True
    try:
        from pip._vendor.packaging.specifiers import SpecifierSet
        from pip._vendor.packaging.version import Version

        return bool(SpecifierSet(specifier).contains(Version(version), prereleases=True))
    except Exception:  # no pip in this interpreter, or a version it cannot parse
        return specifier.startswith("==") and specifier[2:].strip() == version


def _which(name: str, path: str) -> bool:
    return any(os.access(os.path.join(d, name), os.X_OK) for d in path.split(":") if d)


def requirement_names(path: str) -> list[str]:
    """Project names a requirements file asks for (options, URLs, paths skipped)."""
    try:
        with open(path, "rb") as fh:
            text = fh.read().decode("utf-8", "replace")
    except OSError:
        return []
    names: list[str] = []
    for line in text.splitlines():
        line = re.split(r"(^|\s)#", line, maxsplit=1)[0].strip()
        if not line or line.startswith("-") or "://" in line.split("@")[0]:
            continue
        match = re.match(r"([A-Za-z0-9][A-Za-z0-9._-]*)", line)
        if match and not line.startswith((".", "/")) and canon(match.group(1)) not in names:
            names.append(canon(match.group(1)))
    return names


# -- probes: run as airflow, with the airflow user's Python and site ---------------------
def _distributions() -> dict[str, Any]:
    from importlib import metadata

    out: dict[str, Any] = {}
    for dist in metadata.distributions():
        name = dist.metadata["Name"]
        if name and canon(name) not in out:
            out[canon(name)] = dist
    return out


def probe_installed() -> Any:
    return {name: dist.version for name, dist in sorted(_distributions().items())}


def top_level_modules(dist: Any) -> list[str]:
    """A distribution's importable top-level names: top_level.txt, else its RECORD."""
    text = dist.read_text("top_level.txt")
    names: list[str] = []
    if text:
        names = [n.strip().replace("/", ".") for n in text.splitlines() if n.strip()]
    else:
        files = {str(entry) for entry in dist.files or []}
        for entry in dist.files or []:
            parts = str(entry).split("/")
            if parts[0] in ("..", "") or parts[0].endswith((".dist-info", ".data", ".egg-info")):
                continue
            if len(parts) == 1:
                if parts[0].endswith(".py"):
                    names.append(parts[0][:-3])
                elif parts[0].endswith(".so"):
                    names.append(parts[0].split(".")[0])
            elif parts[0].isidentifier() and f"{parts[0]}/__init__.py" in files:
                names.append(parts[0])  # a package (folders such as testing/ are data)
    keep: list[str] = []
    for name in names:
        importable = all(part.isidentifier() for part in name.split("."))
        if importable and not name.startswith("_") and name not in ("test", "tests", *keep):
            keep.append(name)
    return keep


def probe_imports(names: list[str]) -> Any:
    import importlib
    import traceback

    dists = _distributions()
    errors: dict[str, str] = {}
    count = 0
    for name in names:
        dist = dists.get(name)
        if dist is None:
            errors[name] = "not installed"
            continue
        for module in top_level_modules(dist):
            count += 1
            try:
                importlib.import_module(module)
            except BaseException as exc:
                last = traceback.format_exception_only(type(exc), exc)[-1].strip()
                errors[name] = f"import {module} failed: {last}"
                break
    return {"errors": errors, "modules": count}


def probe_dags() -> Any:
    dags_folder = AIRFLOW_HOME + "/dags"
    import airflow
    from airflow import plugins_manager
    from airflow.models.dagbag import DagBag

    plugins_manager.ensure_plugins_loaded()
    errors = {}
    for path, err in (getattr(plugins_manager, "import_errors", None) or {}).items():
        errors[os.path.relpath(str(path), AIRFLOW_HOME)] = str(err)
    bag = DagBag(dag_folder=dags_folder, include_examples=False, safe_mode=False)
    for path, err in bag.import_errors.items():
        errors[os.path.relpath(str(path), dags_folder)] = str(err)
    skips: list[str] = []
    try:
        from airflow.utils.file import list_py_file_paths, might_contain_dag

        for path in list_py_file_paths(dags_folder, safe_mode=False, include_examples=False):
            if path.endswith(".py") and not might_contain_dag(path, safe_mode=True):
                skips.append(os.path.relpath(path, dags_folder))
    except Exception:  # older/newer Airflow without these helpers
        pass
    files = len({d.fileloc for d in bag.dags.values()})
    return {"airflow": airflow.__version__, "dags": len(bag.dags), "files": files,
            "import_errors": errors, "safe_mode_skips": sorted(skips)}  # fmt: skip


# -- the sandbox's probes: run as airflow in an image committed after an install ----------
def sandbox_setup(dags_folder: str) -> None:
    """This process's environment for Airflow: the startup script's exports of the install,
    then a fresh state folder (sqlite DB, config, logs) and ``dags_folder``."""
    import tempfile

    try:
        with open(STARTUP_EXPORTS, encoding="utf-8") as fh:
            exported = json.load(fh)
    except (OSError, ValueError):
        exported = {}
    if isinstance(exported, dict):
        os.environ.update({str(k): str(v) for k, v in exported.items()})
    state = tempfile.mkdtemp(prefix="mwaadeps-airflow-")
    os.environ.update(airflow_env(state, dags_folder))
    os.environ.setdefault("AIRFLOW_HOME", AIRFLOW_HOME)


def _dag_bag(dags_folder: str) -> Any:
    from airflow import plugins_manager
    from airflow.models.dagbag import DagBag

    plugins_manager.ensure_plugins_loaded()
    return DagBag(dag_folder=dags_folder, include_examples=False)


def _relative(path: str, folder: str) -> str:
    return os.path.relpath(str(path), folder).replace(os.sep, "/")


def probe_parse(dags_folder: str) -> Any:
    """The DAGs of the folder (id, file, tags, owners) and its files' import errors."""
    sandbox_setup(dags_folder)
    import airflow

    bag = _dag_bag(dags_folder)
    dags = []
    for dag_id in sorted(bag.dags):
        dag = bag.dags[dag_id]
        owners = sorted({str(t.owner) for t in dag.tasks if getattr(t, "owner", None)})
        tags = sorted(str(t) for t in (dag.tags or ()))
        dags.append({"dag_id": dag_id, "fileloc": _relative(dag.fileloc, dags_folder),
                     "tags": tags, "owners": owners})  # fmt: skip
    errors = [{"filename": _relative(path, dags_folder), "stack_trace": str(err)}
              for path, err in sorted(bag.import_errors.items())]  # fmt: skip
    return {"airflow": airflow.__version__, "dags": dags, "import_errors": errors}


def _all_variables() -> dict[str, str]:
    from airflow.models import Variable
    from airflow.utils.session import create_session

    with create_session() as session:
        keys = [row[0] for row in session.query(Variable.key).all()]
    return {key: str(Variable.get(key)) for key in sorted(keys)}


def probe_run(config_path: str) -> Any:
    """One run of a DAG with dag.test on a fresh metadata DB; the Variables it leaves.

    The DB is made as ``airflow db migrate`` (2.7+) or ``airflow db init`` makes it.
    """
    import traceback

    with open(config_path, encoding="utf-8") as fh:
        config = json.load(fh)
    dags_folder = str(config["dags_folder"])
    sandbox_setup(dags_folder)
    import airflow
    from airflow.models import Variable
    from airflow.utils import db

    result: dict[str, Any] = {"airflow": airflow.__version__, "state": "failed", "error": None}
    try:
        major_minor = tuple(int(x) for x in airflow.__version__.split(".")[:2])
        if major_minor >= (2, 7):
            db.upgradedb()
        else:
            db.initdb()
        for key, value in sorted((config.get("variables") or {}).items()):
            Variable.set(str(key), str(value))
        dag = _dag_bag(dags_folder).get_dag(str(config["dag_id"]))
        if dag is None:
            result["error"] = "DAG " + str(config["dag_id"]) + " is not in " + dags_folder
        else:
            run = dag.test(run_conf=dict(config.get("conf") or {}))
            state = getattr(run, "state", None) if run is not None else None
            result["state"] = str(getattr(state, "value", state) or "failed")
    except Exception:
        result["error"] = traceback.format_exc()
    try:
        result["variables"] = _all_variables()
    except Exception:
        result["variables"] = {}
        result["error"] = (result["error"] or "") + traceback.format_exc()
    return result


def main(argv: list[str]) -> int:
    if len(argv) >= 2 and argv[0] == "--probe":
        kind = argv[1]
        if kind == "installed":
            data = probe_installed()
        elif kind == "imports":
            data = probe_imports(argv[2:])
        elif kind == "parse":
            data = probe_parse(argv[2])
        elif kind == "run":
            data = probe_run(argv[2])
        else:
            data = probe_dags()
        sys.stdout.flush()
        sys.stdout.write("\n" + MARKER + json.dumps(data) + "\n")
        return 0
    with open(argv[0], encoding="utf-8") as fh:
        config = json.load(fh)
    return Runner(config).run()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
