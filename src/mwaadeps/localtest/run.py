"""Run a bundle in the runner container the way MWAA does, and give the verdict.

The container gets no network by default (a PRIVATE_ONLY environment without NAT), the
files where MWAA puts them (copied in, no bind mounts), and runs ``data/mwaa_check.py``:
startup script, pip as MWAA runs it, then the checks. Before pip, the host checks plugins.zip
against the target (wheel tags, a wheel or sdist for every pin), so a bundle problem is named
as such rather than left to pip's ResolutionImpossible. The container is always removed,
also when the run is interrupted. The engine side (client, image, labels, archives) is
localtest/docker.py.
"""

from __future__ import annotations

import contextlib
import io
import json
import posixpath
import tarfile
import threading
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import Version

from mwaadeps.errors import BundleError, ConfigError, DockerError, MwaadepsError, WheelError
from mwaadeps.localtest.docker import (
    LABEL,
    RUN_LABEL,
    add_dir,
    add_file,
    add_tree,
    docker_client,
    how_to_get,
    remove_run,
)
from mwaadeps.progress import NullReporter, Reporter
from mwaadeps.targets import Target

AIRFLOW_HOME = "/usr/local/airflow"
WORK = "/tmp/mwaadeps"
MARKER = "@@mwaadeps@@ "
STARTUP_TIMEOUT_S = 300.0  # MWAA kills the startup script after 5 minutes
PIP_TIMEOUT_S = 540.0  # and pip after 9
DAG_TIMEOUT_S = 300.0
MEM_LIMIT = "4g"
# The steps of a run, in order; the container reports all but the host's bundle check.
STEPS = (
    "startup script",
    "bundle check",
    "pip install",
    "pinned versions",
    "imports",
    "pip check",
    "DAG import",
)
SATISFIED = "Requirement already satisfied:"

_OFFLINE_SIGNS = (
    "Failed to establish a new connection",
    "NewConnectionError",
    "Temporary failure in name resolution",
    "Network is unreachable",
    "Name or service not known",
    "Could not fetch URL",
)


@dataclass(frozen=True)
class StepResult:
    """One step of the run: its verdict, duration and own message.

    A skipped step (an earlier one failed, so it proves nothing) has ``ok`` False and
    ``skipped`` True; it is not a failure of its own.
    """

    name: str
    ok: bool
    seconds: float
    message: str
    skipped: bool = False

    @property
    def status(self) -> str:
        return "skipped" if self.skipped else ("ok" if self.ok else "failed")

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "ok": self.ok,
            "status": self.status,
            "seconds": self.seconds,
            "message": self.message,
        }


@dataclass(frozen=True)
class LocalTestReport:
    """The verdict of one run of a bundle in the runner container."""

    ok: bool
    image: str
    steps: tuple[StepResult, ...]
    installed: dict[str, str] = field(default_factory=dict)
    dag_import_errors: dict[str, str] = field(default_factory=dict)
    pip_output: list[str] = field(default_factory=list)
    network: bool = False
    committed: str | None = None  # the image committed after the install (commit_as)

    @property
    def failed(self) -> list[StepResult]:
        """The steps that failed (skipped ones are not among them)."""
        return [s for s in self.steps if not s.ok and not s.skipped]

    def to_dict(self) -> dict[str, Any]:
        """The --json payload."""
        return {
            "ok": self.ok,
            "image": self.image,
            "steps": [s.to_dict() for s in self.steps],
            "installed": dict(self.installed),
            "dag_import_errors": dict(self.dag_import_errors),
        }


# -- the bundle ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Bundle:
    """The files of a dist/ directory that test-local places in the container."""

    requirements: bytes
    plugins_zip: bytes | None
    startup: bytes | None
    manifest: dict[str, Any] | None
    path: Path | None = None

    @property
    def airflow_version(self) -> str | None:
        target = (self.manifest or {}).get("target") or {}
        value = target.get("airflow_version")
        return str(value) if value else None

    def constraints_text(self) -> str | None:
        """The constraints.txt shipped at the root of plugins.zip, if any."""
        if not self.plugins_zip:
            return None
        name = ((self.manifest or {}).get("constraints") or {}).get("file") or "constraints.txt"
        with zipfile.ZipFile(io.BytesIO(self.plugins_zip)) as zf:
            if name in zf.namelist():
                return zf.read(name).decode("utf-8", "replace")
        return None


def read_bundle(dist_dir: Path) -> Bundle:
    """Read dist/: requirements.txt (required), plugins.zip, startup.sh, manifest.json."""
    dist_dir = Path(dist_dir)
    req = dist_dir / "requirements.txt"
    if not req.is_file():
        raise BundleError(
            f"{dist_dir} has no requirements.txt: it is not a bundle.",
            hint="Run `mwaadeps build` first, or pass --dist with the bundle's folder.",
        )
    plugins = dist_dir / "plugins.zip"
    plugins_bytes = plugins.read_bytes() if plugins.is_file() else None
    if plugins_bytes is not None and not zipfile.is_zipfile(io.BytesIO(plugins_bytes)):
        raise BundleError(f"{plugins} is not a zip file.", hint="Rebuild the bundle.")
    startup = dist_dir / "startup.sh"
    manifest_path = dist_dir / "manifest.json"
    manifest = None
    if manifest_path.is_file():
        try:
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise BundleError(
                f"{manifest_path} is not valid JSON ({exc}).", hint="Rebuild the bundle."
            ) from None
    return Bundle(
        requirements=req.read_bytes(),
        plugins_zip=plugins_bytes,
        startup=startup.read_bytes() if startup.is_file() else None,
        manifest=manifest if isinstance(manifest, dict) else None,
        path=dist_dir,
    )


def essential_constraints_for(bundle: Bundle, python_version: str | None = None) -> str | None:
    """MWAA's essential pins derived from the bundle's constraints and target, if it has them."""
    from mwaadeps.build.constraints import parse_constraints
    from mwaadeps.targets import resolve_target

    text = bundle.constraints_text()
    target = (bundle.manifest or {}).get("target") or {}
    version = bundle.airflow_version
    if not text or not version:
        return None
    known_python = target.get("python_version") if not target.get("known", True) else None
    try:
        resolved = resolve_target(version, python_version or known_python)
        return parse_constraints(text, resolved, "plugins.zip:constraints.txt").essential_text()
    except Exception:  # an unusable constraints file: pip will say more
        return None


# -- the bundle check, before pip -------------------------------------------------------
PLUGINS = f"{AIRFLOW_HOME}/plugins"
REMEDY = (
    "Rebuild the bundle with `mwaadeps build`: it fetches every wheel for MWAA's platform "
    "(Linux x86_64, the target's CPython), whatever machine it runs on."
)


@dataclass(frozen=True)
class BundleFindings:
    """What the host finds in plugins.zip against requirements.txt, before pip runs.

    ``bad`` are wheels that cannot install on the target, ``missing`` requirements that no
    file of plugins.zip provides. The container drops those the image already satisfies
    (pip would take the installed package), then reports the rest as the bundle check.
    """

    wheels: int
    sdists: int
    bad: tuple[dict[str, str], ...]
    missing: tuple[dict[str, str], ...]
    notes: tuple[str, ...]
    target: str | None
    requirements_checked: bool = False

    def to_config(self) -> dict[str, Any]:
        return {
            "wheels": self.wheels,
            "sdists": self.sdists,
            "bad": list(self.bad),
            "missing": list(self.missing),
            "notes": list(self.notes),
            "target": self.target,
            "requirements_checked": self.requirements_checked,
            "remedy": REMEDY,
        }


@dataclass(frozen=True)
class _Artifact:
    folder: str  # "" for the root of plugins.zip, else "sub/dir/"
    filename: str
    name: str
    version: Version | None
    wheel: bool
    problem: str | None  # why it cannot install on the target


def bundle_target(
    bundle: Bundle, airflow_version: str | None = None, python_version: str | None = None
) -> Target | None:
    """The target of the bundle's manifest, else of the given versions; None when unknown."""
    from mwaadeps.targets import resolve_target

    target = (bundle.manifest or {}).get("target") or {}
    version = bundle.airflow_version
    python = python_version
    if version:
        python = None if target.get("known", True) else target.get("python_version")
    else:
        version = airflow_version
    try:
        return resolve_target(version, str(python) if python else None)
    except MwaadepsError:
        return None


def _plugins_folder(value: str) -> str | None:
    """The folder of plugins.zip a --find-links value names ("" = its root), else None."""
    path = value[len("file://") :] if value.lower().startswith("file://") else value
    if not path.startswith("/"):
        return None
    path = posixpath.normpath(path)
    if path == PLUGINS:
        return ""
    if path.startswith(PLUGINS + "/"):
        return path[len(PLUGINS) + 1 :] + "/"
    return None


def _artifacts(plugins_zip: bytes, target: Target | None) -> list[_Artifact]:
    """The wheels and sdists in plugins.zip, each with why it cannot install, if it cannot."""
    from mwaadeps.build.wheels import check_wheel_for_target

    out: list[_Artifact] = []
    with zipfile.ZipFile(io.BytesIO(plugins_zip)) as zf:
        names = [i.filename for i in zf.infolist() if not i.is_dir()]
    for entry in names:
        parts = [p for p in entry.split("/") if p not in ("", ".")]
        if not parts:
            continue
        folder = "".join(f"{p}/" for p in parts[:-1])
        filename = parts[-1]
        if filename.endswith(".whl"):
            try:
                name, version, _, wheel_tags = parse_wheel_filename(filename)
            except InvalidWheelFilename as exc:
                out.append(
                    _Artifact(folder, filename, "", None, True, f"{entry}: not a wheel ({exc}).")
                )
                continue
            problem = None
            if target is not None:
                try:
                    check_wheel_for_target(filename, target, name)
                except WheelError as exc:
                    shown = ", ".join(sorted(str(t) for t in wheel_tags))
                    problem = f"{exc.message} Its tags: {shown}."
            out.append(_Artifact(folder, filename, name, version, True, problem))
        elif filename.endswith((".tar.gz", ".zip")):
            try:
                name, version = parse_sdist_filename(filename)
            except InvalidSdistFilename:
                continue  # an archive of the user's plugins, not a distribution
            out.append(_Artifact(folder, filename, name, version, False, None))
    return out


def find_bundle_problems(bundle: Bundle, target: Target | None) -> BundleFindings:
    """Check plugins.zip's wheels against the target and requirements.txt against plugins.zip.

    A wheel that cannot install is ``bad`` unless another file of the same release in the
    bundle can. With ``--no-index`` and every ``--find-links`` in plugins.zip, a requirement
    that no wheel or sdist in those folders satisfies is ``missing``. Pure: no engine.
    """
    notes: list[str] = []
    artifacts = _artifacts(bundle.plugins_zip, target) if bundle.plugins_zip else []
    if target is None:
        notes.append("no target (manifest.json or --airflow-version): wheel tags not checked")
    good = {(a.name, a.version) for a in artifacts if a.problem is None and a.version}
    bad = tuple(
        {"name": a.name, "version": str(a.version or ""), "file": a.filename, "message": a.problem}
        for a in artifacts
        if a.problem is not None and (a.name, a.version) not in good
    )
    notes += [
        f"{a.filename} is not for MWAA; pip uses another file of {a.name} {a.version}"
        for a in artifacts
        if a.problem is not None and (a.name, a.version) in good
    ]
    looked = _missing(bundle, artifacts, target, notes)
    return BundleFindings(
        wheels=sum(1 for a in artifacts if a.wheel),
        sdists=sum(1 for a in artifacts if not a.wheel),
        bad=bad,
        missing=tuple(looked or ()),
        notes=tuple(notes),
        target=f"MWAA {target.airflow_version} (CPython {target.python_version})"
        if target
        else None,
        requirements_checked=looked is not None,
    )


def _missing(
    bundle: Bundle, artifacts: list[_Artifact], target: Target | None, notes: list[str]
) -> list[dict[str, str]] | None:
    """The requirements no file of plugins.zip satisfies; None when they cannot be told."""
    from mwaadeps.requirements.parser import parse_requirements

    if bundle.path is None:
        return None
    parsed = parse_requirements(bundle.path / "requirements.txt")
    if not parsed.options_named("--no-index"):
        notes.append("requirements.txt may use a package index: its wheels were not looked for")
        return None
    links = [o.value or "" for o in parsed.options_named("--find-links")]
    folders = {_plugins_folder(v) for v in links}
    if None in folders:
        notes.append("a --find-links outside plugins.zip: missing wheels not looked for")
        return None
    env = {**target.marker_env(), "extra": ""} if target else None
    if not folders:
        where = "plugins.zip (requirements.txt has no --find-links)"
    elif folders == {""}:
        where = "plugins.zip"
    else:
        shown_folders = sorted(f"{PLUGINS}/{f}".rstrip("/") for f in folders if f is not None)
        where = f"plugins.zip ({', '.join(shown_folders)})"
    out: list[dict[str, str]] = []
    for req in parsed.requirements:
        r = req.requirement
        if r.url:
            continue
        if r.marker is not None:
            if env is None:
                continue
            try:
                if not r.marker.evaluate(env):
                    continue
            except (ValueError, KeyError):  # a marker the target cannot evaluate
                continue
        name = canonicalize_name(r.name)
        found = [a for a in artifacts if a.name == name and a.folder in folders]
        if any(a.version and r.specifier.contains(a.version, prereleases=True) for a in found):
            continue
        shown = f"{r.name}{r.specifier}" if r.specifier else r.name
        message = f"no wheel for {shown} in {where}"
        others = sorted({str(a.version) for a in found if a.version})
        if others:
            message += f" (it has {r.name} {', '.join(others)})"
        out.append({"name": name, "specifier": str(r.specifier), "message": message})
    return out


def _home_archive(bundle: Bundle, dags: Path | None) -> bytes:
    """A tar of what goes under AIRFLOW_HOME: plugins/, requirements/, startup/, dags/."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for sub in ("plugins", "requirements", "startup", "dags"):
            add_dir(tar, sub)
        add_file(tar, "requirements/requirements.txt", bundle.requirements)
        if bundle.startup is not None:
            add_file(tar, "startup/startup.sh", bundle.startup, 0o755)
        if bundle.plugins_zip:
            with zipfile.ZipFile(io.BytesIO(bundle.plugins_zip)) as zf:
                for item in zf.infolist():
                    parts = [p for p in item.filename.split("/") if p not in ("", ".")]
                    if not parts or ".." in parts:
                        continue
                    name = "plugins/" + "/".join(parts)
                    if item.is_dir():
                        add_dir(tar, name)
                    else:
                        add_file(tar, name, zf.read(item), 0o755)
        if dags is not None:
            add_tree(tar, Path(dags), "dags", top=False)
    return buf.getvalue()


def _work_archive(config: dict[str, Any], files: dict[str, str]) -> bytes:
    """A tar of /tmp/mwaadeps: the in-container script, its config, constraints files."""
    script = resources.files("mwaadeps").joinpath("data/mwaa_check.py").read_bytes()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        add_dir(tar, "mwaadeps")
        add_file(tar, "mwaadeps/mwaa_check.py", script, 0o755)
        add_file(tar, "mwaadeps/config.json", json.dumps(config).encode())
        for name, text in files.items():
            add_file(tar, f"mwaadeps/{name}", text.encode())
    return buf.getvalue()


# -- the run ------------------------------------------------------------------------------
def offline_reason(requirements: str, pip_lines: list[str]) -> str | None:
    """Why pip failed for want of a network, when that is what happened."""
    text = "\n".join(pip_lines)
    offline = any(sign in text for sign in _OFFLINE_SIGNS)
    no_index = any(ln.strip().startswith("--no-index") for ln in requirements.splitlines())
    if offline or (not no_index and "No matching distribution found" in text):
        return (
            "The container has no network (what a PRIVATE_ONLY MWAA environment without NAT "
            "sees), and requirements.txt needs a package index"
            + ("" if no_index else " (it has no --no-index)")
            + ". Bundle the wheels in plugins.zip and install with `--no-index` and "
            f"`--find-links {AIRFLOW_HOME}/plugins` (`mwaadeps build` does this), or rerun "
            "with --network if the environment really has internet access."
        )
    return None


def _lines(chunks: Iterator[bytes]) -> Iterator[str]:
    pending = b""
    for chunk in chunks:
        pending += chunk
        *complete, pending = pending.split(b"\n")
        for raw in complete:
            yield raw.decode("utf-8", "replace").rstrip("\r")
    if pending:
        yield pending.decode("utf-8", "replace").rstrip("\r")


class _Collector:
    """Turns the container's output into steps, streaming plain lines to the reporter.

    With ``fold`` (the default), pip's "Requirement already satisfied" lines are counted
    and shown as one summary line when the pip step ends.
    """

    def __init__(self, reporter: Reporter, *, fold: bool = True) -> None:
        self.reporter = reporter
        self.fold = fold
        self.steps: list[StepResult] = []
        self.result: dict[str, Any] | None = None
        self.current: str | None = None
        self.pip_output: list[str] = []
        self.tail: list[str] = []
        self.satisfied = 0

    def feed(self, line: str) -> None:
        if line.startswith(MARKER):
            try:
                event = json.loads(line[len(MARKER) :])
            except ValueError:
                event = None
            if isinstance(event, dict):
                self._event(event)
                return
        self.tail = [*self.tail[-39:], line]
        if self.current == "pip install":
            self.pip_output.append(line)
            if self.fold and line.startswith(SATISFIED):
                self.satisfied += 1
                return
        self.reporter.log(line)

    def _flush_satisfied(self) -> None:
        if self.satisfied:
            plural = "requirement" if self.satisfied == 1 else "requirements"
            self.reporter.log(f"{self.satisfied} {plural} already satisfied")
            self.satisfied = 0

    def _event(self, event: dict[str, Any]) -> None:
        kind = event.get("event")
        if kind == "step_start":
            self.current = str(event.get("name"))
            self.reporter.step(f"{self.current}…")
        elif kind == "step_end":
            self._flush_satisfied()
            self.steps.append(
                StepResult(
                    str(event["name"]),
                    bool(event["ok"]),
                    float(event["seconds"]),
                    str(event["message"]),
                    bool(event.get("skipped", False)),
                )
            )
            self.current = None
        elif kind == "result":
            self.result = event

    def close(self) -> None:
        """The stream ended (or was cut): show what is still folded."""
        self._flush_satisfied()


def _fill_skipped(steps: list[StepResult], why: str) -> list[StepResult]:
    """The steps the container never reported, as skipped, in their place."""
    seen = {s.name for s in steps}
    return steps + [
        StepResult(n, False, 0.0, f"skipped: {why}", True) for n in STEPS if n not in seen
    ]


def run_bundle(
    dist_dir: Path,
    *,
    image: str,
    dags: Path | None = None,
    network: bool = False,
    reporter: Reporter | None = None,
    essential_constraints: str | None = None,
    startup_timeout: float = STARTUP_TIMEOUT_S,
    pip_timeout: float = PIP_TIMEOUT_S,
    dag_timeout: float = DAG_TIMEOUT_S,
    labels: dict[str, str] | None = None,
    client: Any = None,
    target: Target | None = None,
    verbose: bool = False,
    commit_as: str | None = None,
    commit_labels: dict[str, str] | None = None,
) -> LocalTestReport:
    """Run the bundle in dist_dir in ``image`` as MWAA would; the container is always removed.

    ``essential_constraints`` is MWAA's non-overridable pins as a constraints file's text;
    by default it is derived from the bundle's constraints.txt and manifest target.
    ``target`` is what the bundle check holds wheels against (default: the manifest's).
    A startup script or pip running past its timeout is killed, as MWAA kills it.
    ``verbose`` streams every pip line (else "already satisfied" lines are counted).
    ``commit_as`` ("repo:tag"): when pip install succeeded, the stopped container is
    committed as that image (the bundle installed, the startup script's exports kept for
    the probes), running as airflow, with ``commit_labels``; the report's ``committed``.
    """
    from docker.errors import APIError, DockerException, ImageNotFound

    reporter = reporter or NullReporter()
    bundle = read_bundle(dist_dir)
    if dags is not None and not Path(dags).is_dir():
        raise BundleError(f"DAGs folder {dags} does not exist.", hint="Pass --dags with a folder.")
    for value, option in ((startup_timeout, "startup"), (pip_timeout, "pip")):
        if not value > 0:
            raise ConfigError(
                f"The {option} timeout must be more than 0 s, not {value:g}.",
                hint=f"Pass --{option}-timeout with a number of seconds.",
            )
    client = client or docker_client()
    essential = essential_constraints or essential_constraints_for(bundle)
    if essential is None:
        reporter.warn(
            "No essential constraints (the bundle has no constraints.txt or "
            "manifest target): pip runs without MWAA's non-overridable pins."
        )
    findings = find_bundle_problems(bundle, target or bundle_target(bundle))
    files: dict[str, str] = {}
    config: dict[str, Any] = {
        "startup_timeout": startup_timeout,
        "pip_timeout": pip_timeout,
        "dag_timeout": dag_timeout,
        "have_manifest": bundle.manifest is not None,
        "pinned": (bundle.manifest or {}).get("pinned") or {},
        "top_level": (bundle.manifest or {}).get("top_level"),
        "bundle": findings.to_config(),
    }
    if essential:
        files["mwaa_essential_constraints.txt"] = essential
        config["essential_constraints"] = f"{WORK}/mwaa_essential_constraints.txt"
    default = bundle.constraints_text()
    if default:
        files["bundle_constraints.txt"] = default
        config["default_constraints"] = f"{WORK}/bundle_constraints.txt"
    run_id = uuid.uuid4().hex[:12]
    ncpu = int((client.info() or {}).get("NCPU") or 1)
    collector = _Collector(reporter, fold=not verbose)
    budget = startup_timeout + pip_timeout + dag_timeout + 600.0
    killed = threading.Event()
    timer: threading.Timer | None = None
    exit_code = -1
    committed: str | None = None
    reporter.step(f"Starting {image} ({'network' if network else 'no network'})")
    # Everything from here on, interruptions (Ctrl-C, SIGTERM via the CLI) included, ends in
    # the finally that removes the run's containers by label: even one whose create call was
    # cut short before it returned.
    try:
        try:
            container = client.containers.create(
                image,
                entrypoint=["python3", f"{WORK}/mwaa_check.py", f"{WORK}/config.json"],
                command=[],
                user="0",
                working_dir=AIRFLOW_HOME,
                network_mode=None if network else "none",
                mem_limit=MEM_LIMIT,
                nano_cpus=min(ncpu, 2) * 1_000_000_000,
                pids_limit=4096,
                # pip's self version check only waits on the (absent) network.
                environment={
                    "PYTHONUNBUFFERED": "1",
                    "PYTHONDONTWRITEBYTECODE": "1",
                    "PIP_DISABLE_PIP_VERSION_CHECK": "1",
                },
                labels={LABEL: "1", RUN_LABEL: run_id, **(labels or {})},
                detach=True,
            )
        except ImageNotFound:
            raise DockerError(
                f"Image {image} is not in the local Docker engine.",
                hint=how_to_get(bundle.airflow_version),
            ) from None
        except APIError as exc:
            raise DockerError(
                f"Cannot create a container from {image}: {exc.explanation or exc}.",
                hint="Check the image and the engine (docker info).",
            ) from None

        def watchdog() -> None:
            killed.set()
            with contextlib.suppress(DockerException):
                container.kill()

        timer = threading.Timer(budget, watchdog)
        timer.daemon = True
        container.put_archive(AIRFLOW_HOME, _home_archive(bundle, dags))
        container.put_archive("/tmp", _work_archive(config, files))
        container.start()
        timer.start()
        for line in _lines(container.logs(stream=True, follow=True)):
            collector.feed(line)
        collector.close()
        exit_code = int(container.wait().get("StatusCode", -1))
        if commit_as and not killed.is_set() and _installed_ok(collector.steps):
            source = (client.images.get(image).attrs or {}).get("Config") or {}
            committed = _commit(container, commit_as, commit_labels or {}, source)
    except APIError as exc:
        raise DockerError(
            f"The runner container from {image} failed: {exc.explanation or exc}.",
            hint="Check the image (it needs python3 and an airflow user).",
        ) from None
    finally:
        if timer is not None:
            timer.cancel()
        remove_run(client, run_id)
    steps = list(collector.steps)
    if killed.is_set():
        steps.append(
            StepResult(
                "timeout",
                False,
                budget,
                f"The run exceeded {budget:g} s and the container was killed.",
            )
        )
        steps = _fill_skipped(steps, "the run was killed")
    elif collector.result is None:
        detail = "\n".join(collector.tail[-15:])
        raise DockerError(
            f"The check script did not finish in {image} (exit {exit_code}).\n{detail}".strip(),
            hint="The image needs python3 (3.7+) and an 'airflow' user; use a runner image "
            "(`mwaadeps runner build`) or aws-mwaa-local-runner.",
        )
    if not network:
        steps = [_explain_offline(s, bundle, collector.pip_output) for s in steps]
    result = collector.result or {}
    return LocalTestReport(
        ok=bool(steps) and all(s.ok for s in steps),
        image=image,
        steps=tuple(steps),
        installed=dict(result.get("installed") or {}),
        dag_import_errors=dict(result.get("dag_import_errors") or {}),
        pip_output=collector.pip_output,
        network=network,
        committed=committed,
    )


def _installed_ok(steps: list[StepResult]) -> bool:
    """pip install ran and succeeded."""
    return any(s.name == "pip install" and s.ok for s in steps)


def _commit(container: Any, name: str, labels: dict[str, str], source: dict[str, Any]) -> str:
    """Commit the stopped container as ``name`` (repo:tag), to run as airflow, with the
    source image's entrypoint and command (not the check script's); ``name``.

    A commit cannot clear an entrypoint: a source without one gets ``/usr/bin/env``, which
    runs the command as given.
    """
    repository, _, tag = name.rpartition(":") if ":" in name.split("/")[-1] else (name, "", "")
    entrypoint = source.get("Entrypoint") or ["/usr/bin/env"]
    cmd = source.get("Cmd") or ["bash"]
    changes = [f"ENTRYPOINT {json.dumps(entrypoint)}", f"CMD {json.dumps(cmd)}",
               "USER airflow", f"WORKDIR {AIRFLOW_HOME}"]  # fmt: skip
    changes += [f"LABEL {json.dumps(k)}={json.dumps(v)}" for k, v in sorted(labels.items())]
    container.commit(repository=repository, tag=tag or None, changes=changes)
    return name


def _explain_offline(step: StepResult, bundle: Bundle, pip_lines: list[str]) -> StepResult:
    if step.name != "pip install" or step.ok or step.skipped:
        return step
    reason = offline_reason(bundle.requirements.decode("utf-8", "replace"), pip_lines)
    if reason is None:
        return step
    return StepResult(step.name, step.ok, step.seconds, f"{step.message}\n{reason}")
