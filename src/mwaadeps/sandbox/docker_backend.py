"""Real Airflow for the sandbox: bundles installed in the runner container and committed as
images, then DAGs parsed and run in short-lived containers from those images.

``DockerInstaller`` installs a bundle as MWAA does (localtest.run_bundle) and commits the
container after a successful pip install; ``DockerBackend`` (the emulator's AirflowBackend)
starts a container from that image (no network, the airflow user, labelled, always
removed, killed past its timeout), copies the dags folder in and runs a probe of
data/mwaa_check.py: ``parse`` (the DagBag) or ``run`` (a fresh sqlite DB, the Variables,
``dag.test``). Each probe prints one JSON line the host reads.
"""

from __future__ import annotations

import atexit
import contextlib
import io
import json
import tarfile
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from mwaadeps.errors import DockerError, MwaadepsError
from mwaadeps.localtest.docker import (
    LABEL,
    RUN_LABEL,
    add_dir,
    add_file,
    add_tree,
    docker_client,
    pick_image,
    remove_images,
    remove_run,
)
from mwaadeps.localtest.run import AIRFLOW_HOME, MARKER, MEM_LIMIT, run_bundle
from mwaadeps.sandbox.emulator import InstallOutcome
from mwaadeps.sandbox.emulator.webserver import (
    DagInfo,
    ImportErrorInfo,
    Installed,
    ParseResult,
    RunResult,
)

SANDBOX_LABEL = "mwaadeps.sandbox"
SESSION_LABEL = f"{SANDBOX_LABEL}.session"
IMAGE_REPO = "mwaadeps-sandbox-env"
PROBE_DIR = "/tmp/mwaadeps-sandbox"
DAGS_FOLDER = f"{AIRFLOW_HOME}/dags"
PARSE_TIMEOUT_S = 300.0
RUN_TIMEOUT_S = 900.0
LOG_LINES = 200
# Commits and archives of a large install take a while: the working client waits this long.
API_TIMEOUT_S = 600


def _engine() -> Any:
    """A client for the sandbox's work, once a quick ping said the engine answers."""
    docker_client(timeout=5)
    return docker_client(timeout=API_TIMEOUT_S)


@dataclass
class DockerInstaller:
    """The sandbox's installer: runs a bundle in ``image`` as MWAA does and, when pip
    succeeds, commits the container as ``mwaadeps-sandbox-env:<session>-<n>``.

    Every image it commits carries ``SESSION_LABEL=<session>``; ``close()`` removes them.
    """

    client: Any
    image: str
    session: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    labels: dict[str, str] = field(default_factory=dict)
    installs: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __call__(self, dist: Path) -> InstallOutcome:
        """MWAA logs a pip failure only when pip itself fails; other checks become warnings."""
        with self._lock:
            self.installs += 1
            tag = f"{IMAGE_REPO}:{self.session}-{self.installs}"
        report = run_bundle(
            dist,
            image=self.image,
            network=False,
            client=self.client,
            labels=self.labels,
            commit_as=tag,
            commit_labels={SANDBOX_LABEL: "1", SESSION_LABEL: self.session, **self.labels},
        )
        lines = [str(x) for x in report.pip_output]
        steps = {s.name: s for s in report.steps}
        pip = steps.get("pip install")
        for step in steps.values():
            if not step.ok and step is not pip:
                first = (step.message or "").strip().splitlines()[:1]
                lines.append(f"[sandbox] check {step.name!r} failed: {' '.join(first)}")
        ok = bool(pip.ok) if pip is not None else report.ok
        return InstallOutcome(ok, tuple(lines), image=report.committed if ok else None)

    def close(self) -> list[str]:
        """Remove the images this installer committed; their ids."""
        return remove_images(self.client, f"{SESSION_LABEL}={self.session}")


def make_installer(
    airflow_version: str | None, image: str | None = None, *, labels: dict[str, str] | None = None
) -> tuple[DockerInstaller | None, str]:
    """A DockerInstaller on the runner image for the version, or None and why not.

    Its images are removed when the process exits, or earlier by ``close()``.
    """
    try:
        client = _engine()
    except MwaadepsError:
        return None, "no Docker engine answers"
    try:
        tag = str(pick_image(client, airflow_version, configured=image))
    except MwaadepsError as exc:
        return None, exc.message
    installer = DockerInstaller(client, tag, labels=dict(labels or {}))
    atexit.register(installer.close)
    return installer, f"bundles are installed in {tag}"


@dataclass
class DockerBackend:
    """An AirflowBackend running real Airflow in containers of the installed image.

    An environment with nothing installed yet (``installed.image`` None) runs in
    ``runner_image``: MWAA's base install.
    """

    client: Any
    runner_image: str
    labels: dict[str, str] = field(default_factory=dict)
    parse_timeout: float = PARSE_TIMEOUT_S
    run_timeout: float = RUN_TIMEOUT_S
    name: str = "docker"

    def parse(self, installed: Installed, dags_dir: Path) -> ParseResult:
        """The DAGs and import errors Airflow's DagBag finds in ``dags_dir``."""
        data, _, killed = self._probe(installed, dags_dir, ["parse", DAGS_FOLDER], {},
                                      self.parse_timeout)  # fmt: skip
        if killed or data is None:
            raise DockerError(
                f"Parsing {dags_dir} in {self._image(installed)} "
                + (f"took more than {self.parse_timeout:g} s." if killed else "failed."),
                hint="A DAG file that runs work at import time slows every parse; keep "
                "top-level code light.",
            )
        dags = tuple(
            DagInfo(
                str(d["dag_id"]),
                str(d["fileloc"]),
                tuple(str(t) for t in d.get("tags") or ()),
                tuple(str(o) for o in d.get("owners") or ()) or ("airflow",),
            )
            for d in data.get("dags") or ()
        )
        errors = tuple(
            ImportErrorInfo(str(e["filename"]), str(e["stack_trace"]))
            for e in data.get("import_errors") or ()
        )
        return ParseResult(dags, errors)

    def run(
        self,
        installed: Installed,
        dags_dir: Path,
        dag_id: str,
        conf: Mapping[str, Any],
        variables: Mapping[str, str],
    ) -> RunResult:
        """One ``dag.test`` of ``dag_id`` on a fresh metadata DB holding ``variables``."""
        config = {"dags_folder": DAGS_FOLDER, "dag_id": dag_id, "conf": dict(conf),
                  "variables": {str(k): str(v) for k, v in variables.items()}}  # fmt: skip
        data, lines, killed = self._probe(
            installed, dags_dir, ["run", f"{PROBE_DIR}/run.json"],
            {"run.json": json.dumps(config).encode()}, self.run_timeout,
        )  # fmt: skip
        log = tuple(lines[-LOG_LINES:])
        if killed:
            note = f"[sandbox] the run exceeded {self.run_timeout:g} s and was killed"
            return RunResult("failed", dict(variables), (*log, note))
        if data is None:
            return RunResult("failed", dict(variables), (*log, "[sandbox] the run gave no result"))
        if data.get("error"):
            log = (*log, *str(data["error"]).rstrip().splitlines())
        state = "success" if data.get("state") == "success" else "failed"
        found = data.get("variables")
        values = {str(k): str(v) for k, v in found.items()} if isinstance(found, dict) else {}
        return RunResult(state, values, log)

    def _image(self, installed: Installed) -> str:
        return installed.image or self.runner_image

    def _probe(
        self,
        installed: Installed,
        dags_dir: Path,
        args: list[str],
        files: dict[str, bytes],
        timeout: float,
    ) -> tuple[dict[str, Any] | None, list[str], bool]:
        """Run one probe in a fresh container: (its JSON result or None, output, killed)."""
        from docker.errors import APIError, DockerException, ImageNotFound

        image = self._image(installed)
        run_id = uuid.uuid4().hex[:12]
        killed = threading.Event()
        timer: threading.Timer | None = None
        lines: list[str] = []
        try:
            try:
                container = self.client.containers.create(
                    image,
                    entrypoint=["python3", f"{PROBE_DIR}/mwaa_check.py", "--probe", *args],
                    command=[],
                    user="airflow",
                    working_dir=AIRFLOW_HOME,
                    network_mode="none",
                    mem_limit=MEM_LIMIT,
                    nano_cpus=2_000_000_000,
                    pids_limit=4096,
                    environment={"PYTHONUNBUFFERED": "1", "PYTHONDONTWRITEBYTECODE": "1"},
                    labels={**self.labels, LABEL: "1", RUN_LABEL: run_id, SANDBOX_LABEL: "1"},
                    detach=True,
                )
            except ImageNotFound:
                raise DockerError(
                    f"Image {image} is not in the local Docker engine.",
                    hint="It was removed while the sandbox ran; update the environment again.",
                ) from None

            def watchdog() -> None:
                killed.set()
                with contextlib.suppress(DockerException):
                    container.kill()

            container.put_archive("/tmp", _probe_archive(files))
            container.put_archive(AIRFLOW_HOME, _dags_archive(dags_dir))
            timer = threading.Timer(timeout, watchdog)
            timer.daemon = True
            container.start()
            timer.start()
            raw = container.logs(stream=True, follow=True)
            lines = b"".join(raw).decode("utf-8", "replace").splitlines()
            container.wait()
        except APIError as exc:
            raise DockerError(
                f"The sandbox container from {image} failed: {exc.explanation or exc}.",
                hint="Check the engine (docker info) and the image.",
            ) from None
        finally:
            if timer is not None:
                timer.cancel()
            remove_run(self.client, run_id)
        data: dict[str, Any] | None = None
        for line in reversed(lines):
            if line.startswith(MARKER):
                with contextlib.suppress(ValueError):
                    parsed = json.loads(line[len(MARKER) :])
                    data = parsed if isinstance(parsed, dict) else None
                break
        return data, [ln for ln in lines if not ln.startswith(MARKER)], killed.is_set()


def _probe_archive(files: dict[str, bytes]) -> bytes:
    """A tar of PROBE_DIR: the in-container script and the probe's files."""
    script = resources.files("mwaadeps").joinpath("data/mwaa_check.py").read_bytes()
    top = PROBE_DIR.rsplit("/", 1)[-1]
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        add_dir(tar, top)
        add_file(tar, f"{top}/mwaa_check.py", script, 0o755)
        for name, data in files.items():
            add_file(tar, f"{top}/{name}", data)
    return buf.getvalue()


def _dags_archive(dags_dir: Path) -> bytes:
    """A tar of the dags folder, as AIRFLOW_HOME/dags."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        add_tree(tar, Path(dags_dir), "dags")
    return buf.getvalue()


def docker_backend(
    installer: object | None = None,
    *,
    airflow_version: str | None = None,
    image: str | None = None,
) -> DockerBackend | None:
    """The Docker backend for a sandbox: on a DockerInstaller's engine and runner image, else
    on the runner image for ``airflow_version`` (or ``image``); None when there is no engine
    or no image (the sandbox then uses the model backend)."""
    if isinstance(installer, DockerInstaller):
        return DockerBackend(installer.client, installer.image, labels=dict(installer.labels))
    try:
        client = _engine()
        tag = pick_image(client, airflow_version, configured=image)
    except MwaadepsError:
        return None
    return DockerBackend(client, tag)
