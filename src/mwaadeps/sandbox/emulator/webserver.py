"""The emulated Airflow webserver behind InvokeRestApi, and the backend seam that parses
and runs DAGs for it (``AirflowBackend``: the pure-Python model, or real Airflow in Docker).
"""

from __future__ import annotations

import re
import shutil
import tempfile
import threading
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import unquote

AIRFLOW_HOME = "/usr/local/airflow"
DAGS_FOLDER = f"{AIRFLOW_HOME}/dags"
PAGE_LIMIT = 100  # Airflow's maximum_page_limit
RUN_JOIN_SECONDS = 2.0  # how long a GET of a running run waits for the backend to return
_NOT_FOUND_URL = (
    "The requested URL was not found on the server. If you entered the URL manually "
    "please check your spelling and try again."
)


@dataclass(frozen=True)
class Installed:
    """What an environment runs now."""

    airflow_version: str
    python_version: str | None
    bundle: Path  # folder with the current requirements.txt, plugins.zip, startup.sh (those set)
    image: str | None = None  # Docker backend: an image with the bundle already installed


@dataclass(frozen=True)
class DagInfo:
    """One DAG the dag processor found."""

    dag_id: str
    fileloc: str  # path relative to the dags folder, "/"-separated
    tags: tuple[str, ...] = ()
    owners: tuple[str, ...] = ("airflow",)


@dataclass(frozen=True)
class ImportErrorInfo:
    """A DAG file that failed to import."""

    filename: str  # relative to the dags folder
    stack_trace: str


@dataclass(frozen=True)
class ParseResult:
    """What one parse of the dags folder found."""

    dags: tuple[DagInfo, ...]
    import_errors: tuple[ImportErrorInfo, ...]


@dataclass(frozen=True)
class RunResult:
    """How a DAG run ended."""

    state: str  # "success" or "failed"
    variables: Mapping[str, str]  # Airflow Variables after the run (set/changed ones at least)
    log: tuple[str, ...] = ()


class AirflowBackend(Protocol):
    """Parses a dags folder and runs one DAG for an environment's installed bundle."""

    name: str

    def parse(self, installed: Installed, dags_dir: Path) -> ParseResult:
        """The DAGs and import errors of ``dags_dir`` under ``installed``."""
        ...

    def run(
        self,
        installed: Installed,
        dags_dir: Path,
        dag_id: str,
        conf: Mapping[str, Any],
        variables: Mapping[str, str],
    ) -> RunResult:
        """Run ``dag_id`` once with ``conf``, starting from ``variables``."""
        ...


class AirflowProblem(Exception):
    """An Airflow REST API error answer (problem+json)."""

    def __init__(self, status: int, title: str, detail: str | None, kind: str | None) -> None:
        super().__init__(detail or title)
        self.status, self.title, self.detail, self.kind = status, title, detail, kind

    def payload(self, airflow_version: str) -> dict[str, Any]:
        """Airflow's problem+json body."""
        kind = (
            f"https://airflow.apache.org/docs/apache-airflow/{airflow_version}/"
            f"stable-rest-api-ref.html#section/Errors/{self.kind}"
            if self.kind
            else "about:blank"
        )
        return {"detail": self.detail, "status": self.status, "title": self.title, "type": kind}


def _not_found(title: str, detail: str) -> AirflowProblem:
    return AirflowProblem(404, title, detail, "NotFound")


def _bad_request(detail: str) -> AirflowProblem:
    return AirflowProblem(400, "Bad Request", detail, "BadRequest")


@dataclass
class _Dag:
    info: DagInfo
    is_paused: bool
    is_active: bool = True

    def json(self) -> dict[str, Any]:
        return {
            "dag_id": self.info.dag_id,
            "is_paused": self.is_paused,
            "is_active": self.is_active,
            "is_subdag": False,
            "fileloc": f"{DAGS_FOLDER}/{self.info.fileloc}",
            "tags": [{"name": t} for t in self.info.tags],
            "owners": list(self.info.owners),
            "description": None,
            "has_import_errors": False,
        }


@dataclass
class _Run:
    dag_id: str
    run_id: str
    conf: dict[str, Any]
    logical_date: str
    state: str = "queued"
    thread: threading.Thread | None = None
    result: RunResult | None = None
    log: tuple[str, ...] = ()

    def json(self) -> dict[str, Any]:
        return {
            "dag_run_id": self.run_id,
            "dag_id": self.dag_id,
            "state": self.state,
            "conf": self.conf,
            "logical_date": self.logical_date,
            "execution_date": self.logical_date,
            "run_type": "manual",
            "external_trigger": True,
            "note": None,
        }


@dataclass(frozen=True)
class _Snapshot:
    """The files one parse saw: the installed bundle and the dags folder, with the keys
    (bundle versions, DAG objects' key+ETag) they were fetched for."""

    installed: Installed
    dags_dir: Path
    bundle_key: Hashable
    dags_key: Hashable


@dataclass
class Webserver:
    """One environment's Airflow webserver: DAG metadata, import errors, runs, Variables.

    ``sync`` reparses when the bundle or the DAG objects changed; ``handle`` answers one
    REST API call as (status, JSON) or raises AirflowProblem.
    """

    backend: AirflowBackend
    paused_at_creation: bool = True
    dags: dict[str, _Dag] = field(default_factory=dict)
    import_errors: list[dict[str, Any]] = field(default_factory=list)
    runs: dict[tuple[str, str], _Run] = field(default_factory=dict)
    variables: dict[str, str] = field(default_factory=dict)
    parses: int = 0
    snapshot: _Snapshot | None = None
    _made: int = 0
    _error_ids: int = 0
    _lock: threading.RLock = field(default_factory=threading.RLock)
    _work: tempfile.TemporaryDirectory[str] = field(
        default_factory=lambda: tempfile.TemporaryDirectory(prefix="mwaa-webserver-")
    )

    def _folder(self, kind: str) -> Path:
        self._made += 1
        path = Path(self._work.name) / f"{kind}-{self._made}"
        path.mkdir()
        return path

    def sync(
        self,
        bundle_key: Hashable,
        dags_key: Hashable,
        load_bundle: Callable[[Path], Installed],
        load_dags: Callable[[Path], None],
    ) -> None:
        """Reparse when either key changed since the last parse: ``load_bundle(folder)``
        fills a new folder with the bundle and says what is installed, ``load_dags(folder)``
        fills one with the DAG files. Only what changed is fetched again."""
        with self._lock:
            old = self.snapshot
            if old is not None and (old.bundle_key, old.dags_key) == (bundle_key, dags_key):
                return
            same_bundle = old is not None and old.bundle_key == bundle_key
            same_dags = old is not None and old.dags_key == dags_key
            if old is not None and same_bundle:
                installed = old.installed
            else:
                installed = load_bundle(self._folder("bundle"))
            if old is not None and same_dags:
                dags_dir = old.dags_dir
            else:
                dags_dir = self._folder("dags")
                load_dags(dags_dir)
            result = self.backend.parse(installed, dags_dir)  # a failure: retried next call
            self.snapshot = _Snapshot(installed, dags_dir, bundle_key, dags_key)
            self._apply(result)
            if old is not None and not any(r.state == "running" for r in self.runs.values()):
                for path in (old.installed.bundle, old.dags_dir):
                    if path not in (installed.bundle, dags_dir):
                        shutil.rmtree(path, ignore_errors=True)

    def _apply(self, result: ParseResult) -> None:
        self.parses += 1
        seen = set()
        for info in result.dags:
            seen.add(info.dag_id)
            old = self.dags.get(info.dag_id)
            paused = old.is_paused if old is not None else self.paused_at_creation
            self.dags[info.dag_id] = _Dag(info, paused, True)
        for dag_id, dag in self.dags.items():
            if dag_id not in seen:
                dag.is_active = False
        now = datetime.now(timezone.utc).isoformat()
        errors = []
        for err in result.import_errors:
            self._error_ids += 1
            errors.append(
                {
                    "import_error_id": self._error_ids,
                    "filename": f"{DAGS_FOLDER}/{err.filename}",
                    "stack_trace": err.stack_trace,
                    "timestamp": now,
                }
            )
        self.import_errors = errors

    # -- the REST API ----------------------------------------------------------------------

    def handle(
        self, method: str, path: str, query: Mapping[str, Any], body: Mapping[str, Any]
    ) -> tuple[int, Any]:
        """Answer one Airflow REST API call (the path without /api/v1)."""
        parts = [unquote(p) for p in path.split("?", 1)[0].strip("/").split("/") if p]
        with self._lock:
            return self._route(method, parts, query, body)

    def _route(
        self, method: str, parts: list[str], query: Mapping[str, Any], body: Mapping[str, Any]
    ) -> tuple[int, Any]:
        n = len(parts)
        head = parts[0] if parts else ""
        if parts == ["version"] and method == "GET":
            version = self.snapshot.installed.airflow_version if self.snapshot else None
            return 200, {"version": version, "git_version": None}
        if head == "dags" and n == 1 and method == "GET":
            return 200, self._list_dags(query)
        if head == "dags" and n == 2:
            if method == "GET":
                return 200, self._dag(parts[1]).json()
            if method == "PATCH":
                return 200, self._patch_dag(parts[1], body)
            if method == "DELETE":
                self._dag(parts[1])
                del self.dags[parts[1]]
                self.runs = {k: r for k, r in self.runs.items() if k[0] != parts[1]}
                return 204, {}
        if head == "dags" and n == 3 and parts[2] == "dagRuns" and method == "POST":
            return 200, self._trigger(parts[1], body)
        if head == "dags" and n == 4 and parts[2] == "dagRuns" and method == "GET":
            return 200, self._get_run(parts[1], parts[3])
        if parts == ["importErrors"] and method == "GET":
            start, limit = _page(query)
            window = self.import_errors[start : start + limit]
            return 200, {"import_errors": window, "total_entries": len(self.import_errors)}
        if head == "variables" and n == 1 and method == "POST":
            return 200, self._set_variable(body)
        if head == "variables" and n == 2 and method in ("GET", "DELETE"):
            key = parts[1]
            if key not in self.variables:
                raise _not_found("Variable not found", "Variable does not exist")
            if method == "DELETE":
                del self.variables[key]
                return 204, {}
            return 200, {"key": key, "value": self.variables[key], "description": None}
        raise AirflowProblem(404, "Not Found", _NOT_FOUND_URL, None)

    def _dag(self, dag_id: str) -> _Dag:
        dag = self.dags.get(dag_id)
        if dag is None:
            raise _not_found("DAG not found", f"The DAG with dag_id: {dag_id} was not found")
        return dag

    def _list_dags(self, query: Mapping[str, Any]) -> dict[str, Any]:
        start, limit = _page(query)
        pattern = str(query.get("dag_id_pattern") or "").lower()
        active = [
            d
            for _, d in sorted(self.dags.items())
            if d.is_active and pattern in d.info.dag_id.lower()
        ]
        if "paused" in query:
            paused = str(query["paused"]).lower() == "true"
            active = [d for d in active if d.is_paused == paused]
        return {
            "dags": [d.json() for d in active[start : start + limit]],
            "total_entries": len(active),
        }

    def _patch_dag(self, dag_id: str, body: Mapping[str, Any]) -> dict[str, Any]:
        dag = self._dag(dag_id)
        paused = body.get("is_paused")
        if not isinstance(paused, bool):
            raise _bad_request("is_paused: a boolean is required")
        dag.is_paused = paused
        return dag.json()

    def _trigger(self, dag_id: str, body: Mapping[str, Any]) -> dict[str, Any]:
        if dag_id not in self.dags:
            raise _not_found("DAG not found", f"DAG with dag_id: '{dag_id}' not found")
        conf = body.get("conf") or {}
        if not isinstance(conf, dict):
            raise _bad_request("conf: must be a JSON object")
        now = datetime.now(timezone.utc)
        logical = str(body.get("logical_date") or now.isoformat())
        run_id = str(body.get("dag_run_id") or f"manual__{logical}")
        if (dag_id, run_id) in self.runs:
            raise AirflowProblem(
                409,
                "Conflict",
                f"DAGRun with DAG ID: '{dag_id}' and DAGRun ID: '{run_id}' already exists",
                "AlreadyExists",
            )
        run = _Run(dag_id, run_id, dict(conf), logical)
        self.runs[(dag_id, run_id)] = run
        return run.json()

    def _get_run(self, dag_id: str, run_id: str) -> dict[str, Any]:
        run = self.runs.get((dag_id, run_id))
        if run is None:
            raise _not_found(
                "DAGRun not found",
                f"DAGRun with DAG ID: '{dag_id}' and DagRun ID: '{run_id}' not found",
            )
        dag = self.dags.get(dag_id)
        if run.state == "queued" and dag is not None and not dag.is_paused:
            self._start(run)
        elif run.state == "running" and run.thread is not None:
            run.thread.join(RUN_JOIN_SECONDS)
            if not run.thread.is_alive() and run.result is not None:
                run.state = run.result.state
                run.log = run.result.log
                self.variables.update(run.result.variables)
        return run.json()

    def _start(self, run: _Run) -> None:
        assert self.snapshot is not None
        snap, variables = self.snapshot, dict(self.variables)

        def work() -> None:
            try:
                run.result = self.backend.run(
                    snap.installed, snap.dags_dir, run.dag_id, run.conf, variables
                )
            except Exception as exc:  # a backend bug fails the run, as a task error would
                run.result = RunResult("failed", {}, (f"{type(exc).__name__}: {exc}",))

        run.state = "running"
        run.thread = threading.Thread(target=work, daemon=True, name=f"dagrun-{run.run_id}")
        run.thread.start()

    def _set_variable(self, body: Mapping[str, Any]) -> dict[str, Any]:
        key, value = body.get("key"), body.get("value")
        if not isinstance(key, str) or not key or not isinstance(value, str):
            raise _bad_request("key and value: strings are required")
        self.variables[key] = value
        return {"key": key, "value": value, "description": body.get("description")}


def _page(query: Mapping[str, Any]) -> tuple[int, int]:
    try:
        offset = int(query.get("offset", 0))
        limit = int(query.get("limit", PAGE_LIMIT))
    except (TypeError, ValueError):
        raise _bad_request("limit and offset must be integers") from None
    if offset < 0 or limit < 1:
        raise _bad_request("limit must be positive and offset not negative")
    return offset, min(limit, PAGE_LIMIT)


def paused_at_creation(options: Mapping[str, Any]) -> bool:
    """core.dags_are_paused_at_creation from AirflowConfigurationOptions (default True)."""
    value = str(options.get("core.dags_are_paused_at_creation", "True"))
    return not re.fullmatch(r"(?i)false|0|no|off", value.strip())


__all__ = [
    "AIRFLOW_HOME",
    "DAGS_FOLDER",
    "AirflowBackend",
    "AirflowProblem",
    "DagInfo",
    "ImportErrorInfo",
    "Installed",
    "ParseResult",
    "RunResult",
    "Webserver",
    "paused_at_creation",
]
