"""Prove the DAGs load on the environment: Airflow's DAG list and import errors through
InvokeRestApi, and optionally one smoke run of a DAG.

The DAG processor is waited for first: every ``.py`` file under the environment's DagS3Path
that Airflow's safe mode would parse (its bytes contain both "airflow" and "dag") must show
up as some DAG's fileloc or as an import error. The verdict is recorded on the deployment
record of the versions the environment runs, so promote only copies a verified deployment.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from mwaadeps.deploy.aws import Aws, connect, translate
from mwaadeps.deploy.restapi import MAX_PATH, AirflowApi
from mwaadeps.errors import ConfigError, MwaadepsError, PreflightError, StillUpdating
from mwaadeps.progress import NullReporter, Reporter

if TYPE_CHECKING:
    from pathlib import Path

    from mwaadeps.config import EnvironmentConfig
    from mwaadeps.deploy.models import DeployResult

# Where MWAA's workers keep the dags folder (DagS3Path is synced here).
DAGS_FOLDER = "/usr/local/airflow/dags/"
FINAL_STATES = ("success", "failed")
VERDICTS = ("passed", "failed", "timeout")
RUN_PREFIX = "mwaadeps-verify-"
IGNORE_FILE = ".airflowignore"
CLOCK_SLACK = 1.0  # seconds: S3's LastModified has whole seconds


@dataclass(frozen=True)
class VerifyOptions:
    """Knobs of a verification; the poll interval is 0 and the clock fake in tests."""

    trigger: str | None = None  # a DAG id to run once
    conf: Mapping[str, Any] | None = None
    timeout: float = 600.0  # each wait: the DAG processor, then the run
    poll_interval: float = 15.0
    record: bool = True  # write the verdict on the running deployment's record
    expected: tuple[str, ...] = ()  # the project's own DAG files (local_dag_files)
    by: str = "verify"
    clock: Callable[[], float] = field(default=time.monotonic, repr=False)
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)


@dataclass(frozen=True)
class DagInfo:
    """One DAG as Airflow lists it."""

    dag_id: str
    paused: bool
    file: str  # relative to the dags folder

    def as_json(self) -> dict[str, Any]:
        return {"dag_id": self.dag_id, "paused": self.paused, "file": self.file}


@dataclass(frozen=True)
class ImportProblem:
    """One import error: the file and the first and last line of its trace."""

    file: str
    first_line: str
    last_line: str

    def as_json(self) -> dict[str, Any]:
        return {"file": self.file, "first_line": self.first_line, "last_line": self.last_line}


@dataclass(frozen=True)
class TriggeredRun:
    """The smoke run: its ids, the state it reached, whether the DAG had to be unpaused."""

    dag_id: str
    run_id: str
    state: str
    unpaused: bool = False

    def as_json(self) -> dict[str, Any]:
        return {
            "dag_id": self.dag_id,
            "run_id": self.run_id,
            "state": self.state,
            "unpaused": self.unpaused,
        }


@dataclass(frozen=True)
class VerifyReport:
    """What Airflow on the environment says about its DAGs, and the verdict."""

    environment: str
    status: str
    verdict: str  # passed | failed | timeout
    reason: str
    dags_at: str = ""  # s3://bucket/prefix/ the DAG files are read from
    files: tuple[str, ...] = ()
    dags: tuple[DagInfo, ...] = ()
    import_errors: tuple[ImportProblem, ...] = ()
    unparsed: tuple[str, ...] = ()
    run: TriggeredRun | None = None
    airflow_version: str | None = None
    record_id: int | None = None
    warnings: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.verdict == "passed"

    @property
    def exit_code(self) -> int:
        """0 passed, 1 import errors or a failed run, 75 a wait timed out."""
        return {"passed": 0, "failed": 1}.get(self.verdict, StillUpdating.exit_code)

    @property
    def hint(self) -> str | None:
        if self.verdict == "failed" and not self.files and self.run is None:
            return (
                f"Sync the project's dags folder to {self.dags_at} (mwaadeps deploys no DAG "
                "files), then verify again."
            )
        if self.verdict == "failed" and self.import_errors:
            return "Fix the files named above (or the bundle they import from) and verify again."
        if self.verdict == "failed":
            return "Read the run's task logs in the Airflow UI or CloudWatch (the Task log group)."
        if self.verdict == "timeout" and self.unparsed:
            return (
                "The DAG processor may still be busy (verify again, or raise --timeout), or the "
                "files define no DAG: list such helper modules in .airflowignore."
            )
        if self.verdict == "timeout":
            return "Verify again, or raise --timeout."
        return None

    def error_json(self) -> dict[str, Any] | None:
        if self.ok:
            return None
        code = "verify_failed" if self.verdict == "failed" else "verify_timeout"
        return {"code": code, "message": self.reason, "hint": self.hint}

    def summary(self) -> dict[str, Any]:
        """What the deployment record keeps of this verification."""
        return {
            "verdict": self.verdict,
            "reason": self.reason,
            "time": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "dags": len(self.dags),
            "import_errors": [p.file for p in self.import_errors],
            "unparsed": list(self.unparsed),
            "run": self.run.as_json() if self.run else None,
        }

    def as_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "environment": self.environment,
            "status": self.status,
            "airflow_version": self.airflow_version,
            "verdict": self.verdict,
            "reason": self.reason,
            "dags_at": self.dags_at,
            "files": list(self.files),
            "dags": [d.as_json() for d in self.dags],
            "import_errors": [p.as_json() for p in self.import_errors],
            "unparsed": list(self.unparsed),
            "run": self.run.as_json() if self.run else None,
            "record_id": self.record_id,
            "warnings": list(self.warnings),
            "error": self.error_json(),
        }


# -- pure parts --------------------------------------------------------------------------------


def might_contain_dag(content: bytes) -> bool:
    """Airflow's safe-mode test: the file mentions both "airflow" and "dag"."""
    lower = content.lower()
    return b"airflow" in lower and b"dag" in lower


def ignored(rel: str, ignore_files: Mapping[str, str]) -> bool:
    """Whether .airflowignore files exclude ``rel`` (Airflow 2's default regexp syntax).

    ``ignore_files`` maps a folder ("" for the dags folder itself) to its .airflowignore
    text. As in Airflow, a pattern applies to the files and folders below the folder of its
    file and is searched in their paths relative to the dags folder; a matching folder
    excludes everything in it; ``#`` starts a comment; an invalid pattern is skipped.
    """
    parts = rel.split("/")
    for folder, text in ignore_files.items():
        if folder and not rel.startswith(f"{folder}/"):
            continue
        depth = len(folder.split("/")) if folder else 0
        paths = ["/".join(parts[:i]) for i in range(depth + 1, len(parts) + 1)]
        for line in text.split("\n"):
            pattern = re.sub(r"\s*#.*", "", line)
            if not pattern:
                continue
            try:
                rule = re.compile(pattern)
            except re.error:
                continue
            if any(rule.search(p) for p in paths):
                return True
    return False


def _hidden(rel: str) -> bool:
    """A hidden file or one in a hidden folder or __pycache__ (not DAG files)."""
    *folders, name = rel.split("/")
    return any(p.startswith(".") or p == "__pycache__" for p in folders) or (
        name.startswith(".") and name != IGNORE_FILE
    )


def relative(path: str) -> str:
    """A worker path (/usr/local/airflow/dags/x/y.py) relative to the dags folder."""
    return path[len(DAGS_FOLDER) :] if path.startswith(DAGS_FOLDER) else path.lstrip("/")


def trace_ends(stack_trace: str) -> tuple[str, str]:
    """The first and last non-blank line of a trace (where it starts, the exception); the
    "Traceback (most recent call last):" header does not count."""
    lines = [line.strip() for line in stack_trace.splitlines() if line.strip()]
    if lines and lines[0].startswith("Traceback (most recent call last)") and len(lines) > 1:
        lines = lines[1:]
    if not lines:
        return "", ""
    return lines[0], lines[-1]


def dag_infos(dags: list[dict[str, Any]]) -> tuple[DagInfo, ...]:
    """Airflow's DAG objects as DagInfo, sorted by id."""
    return tuple(
        sorted(
            (
                DagInfo(str(d.get("dag_id")), bool(d.get("is_paused")), relative(str(d["fileloc"])))
                for d in dags
                if d.get("dag_id") and d.get("fileloc") and d.get("is_active", True) is not False
            ),
            key=lambda d: d.dag_id,
        )
    )


def import_problems(errors: list[dict[str, Any]]) -> tuple[ImportProblem, ...]:
    """Airflow's import errors as ImportProblem, sorted by file."""
    problems = []
    for err in errors:
        first, last = trace_ends(str(err.get("stack_trace") or ""))
        problems.append(ImportProblem(relative(str(err.get("filename") or "")), first, last))
    return tuple(sorted(problems, key=lambda p: p.file))


def _epoch_of(value: Any) -> float | None:
    """An ISO timestamp (Airflow's) as epoch seconds; None when missing or unreadable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return (when if when.tzinfo else when.replace(tzinfo=timezone.utc)).timestamp()


def current(
    items: list[dict[str, Any]], path_field: str, time_field: str, written: Mapping[str, float]
) -> list[dict[str, Any]]:
    """The DAGs / import errors Airflow made after their file was last written to the bucket:
    an older one is from the file's previous version (not re-parsed yet) and is dropped."""
    kept = []
    for item in items:
        made = _epoch_of(item.get(time_field))
        changed = written.get(relative(str(item.get(path_field) or "")))
        if made is not None and changed is not None and made < changed - CLOCK_SLACK:
            continue
        kept.append(item)
    return kept


def unparsed(
    files: tuple[str, ...], dags: tuple[DagInfo, ...], errors: tuple[ImportProblem, ...]
) -> tuple[str, ...]:
    """The DAG files that are neither some DAG's file nor an import error yet."""
    seen = {d.file for d in dags} | {p.file for p in errors}
    return tuple(f for f in files if f not in seen)


def judge(
    files: tuple[str, ...],
    dags: tuple[DagInfo, ...],
    errors: tuple[ImportProblem, ...],
    waiting: tuple[str, ...],
    timeout: float,
) -> tuple[str, str]:
    """(verdict, reason) of the parse check."""
    if errors:
        names = ", ".join(p.file for p in errors)
        return "failed", f"{len(errors)} DAG file(s) failed to import: {names}."
    if waiting:
        return "timeout", (
            f"The DAG processor had not parsed {len(waiting)} of {len(files)} DAG file(s) "
            f"after {timeout:g} s: {', '.join(waiting)}."
        )
    return "passed", f"{len(dags)} DAG(s) from {len(files)} file(s) loaded, no import errors."


def _base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        number, rest = divmod(number, 36)
        out = digits[rest] + out
        if not number:
            return out


def run_id_now(now: datetime | None = None, dag_id: str = "") -> str:
    """mwaadeps-verify-<UTC timestamp>, or a shorter form of it when the run's REST path
    (/dags/<dag id>/dagRuns/<run id>) would pass InvokeRestApi's 64 characters."""
    when = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    seconds = int(when.timestamp())
    room = MAX_PATH - len(f"/dags/{dag_id}/dagRuns/")
    for run_id in (
        f"{RUN_PREFIX}{when:%Y%m%dT%H%M%SZ}",
        f"{RUN_PREFIX}{when:%Y%m%dT%H%M%S}",
        f"mwaadeps-{when:%Y%m%dT%H%M%SZ}",
        f"mwaadeps-{seconds:x}",
        f"mv-{_base36(seconds)}",
    ):
        if len(run_id) <= room:
            return run_id
    raise ConfigError(
        f"DAG id {dag_id!r} is too long to run through InvokeRestApi: its run's path "
        f"/dags/{dag_id}/dagRuns/<run id> cannot fit in {MAX_PATH} characters.",
        hint="Trigger a DAG with an id of at most 40 characters (a smoke DAG).",
    )


# -- talking to the environment ----------------------------------------------------------------


def dag_files(
    aws: Aws, environment: Mapping[str, Any]
) -> tuple[str, str, tuple[str, ...], dict[str, float]]:
    """(bucket, prefix, the .py files under DagS3Path Airflow would parse, relative, sorted,
    when each was last written): those mentioning "airflow" and "dag", minus what the
    .airflowignore files exclude."""
    bucket = str(environment.get("SourceBucketArn", "")).rsplit(":", 1)[-1]
    folder = str(environment.get("DagS3Path") or "dags").strip("/")
    prefix = f"{folder}/" if folder else ""
    where = f"s3://{bucket}/{prefix}"
    candidates: dict[str, float] = {}
    ignores: dict[str, str] = {}
    with translate(f"list the DAG files in {where}", where, aws):
        for page in aws.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for obj in page.get("Contents", []):
                rel = obj["Key"][len(prefix) :]
                name = rel.rpartition("/")[2]
                if not (rel.endswith(".py") or name == IGNORE_FILE) or _hidden(rel):
                    continue
                body = aws.s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
                if name == IGNORE_FILE:
                    ignores[rel.rpartition("/")[0]] = body.decode("utf-8", "replace")
                elif might_contain_dag(body):
                    candidates[rel] = obj["LastModified"].timestamp()
    found = {rel: when for rel, when in candidates.items() if not ignored(rel, ignores)}
    return bucket, prefix, tuple(sorted(found)), found


def local_dag_files(folder: Path | None) -> tuple[str, ...]:
    """The project's own DAG files ("/"-relative to its dags folder, sorted): the .py files
    Airflow would parse there (not hidden, mention "airflow" and "dag", not .airflowignored)."""
    if folder is None or not folder.is_dir():
        return ()
    found, ignores = [], {}
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder).as_posix()
        if not path.is_file() or _hidden(rel):
            continue
        if path.name == IGNORE_FILE:
            ignores[rel.rpartition("/")[0]] = path.read_text("utf-8", "replace")
        elif rel.endswith(".py") and might_contain_dag(path.read_bytes()):
            found.append(rel)
    return tuple(f for f in found if not ignored(f, ignores))


def _environment(aws: Aws, config: EnvironmentConfig) -> dict[str, Any]:
    from mwaadeps.deploy.preflight import get_environment

    environment = get_environment(aws, config.name)
    status = str(environment.get("Status"))
    if status != "AVAILABLE":
        raise PreflightError(
            f"Cannot verify {config.name}: it is {status}, and Airflow answers only on an "
            "AVAILABLE environment.",
            hint=f"Wait until it is AVAILABLE (mwaadeps status --env {config.key}), then verify.",
        )
    return environment


def _wait_parsed(
    api: AirflowApi,
    files: tuple[str, ...],
    options: VerifyOptions,
    rep: Reporter,
    written: Mapping[str, float] | None = None,
) -> tuple[tuple[DagInfo, ...], tuple[ImportProblem, ...], tuple[str, ...]]:
    """Poll the DAG list and import errors until every file is parsed (after it was last
    written, when ``written`` says when), or the timeout."""
    written = written or {}
    started = options.clock()
    while True:
        dags = dag_infos(current(api.dags(), "fileloc", "last_parsed_time", written))
        errors = import_problems(current(api.import_errors(), "filename", "timestamp", written))
        waiting = unparsed(files, dags, errors)
        elapsed = options.clock() - started
        progress = (
            f"{len(waiting)} of {len(files)} file(s) not parsed yet"
            if waiting
            else f"all {len(files)} file(s) parsed"
        )
        rep.step(
            f"{api.name}: {len(dags)} DAG(s), {len(errors)} import error(s), {progress} "
            f"({elapsed:.0f}s)"
        )
        if not waiting or elapsed >= options.timeout:
            return dags, errors, waiting
        options.sleep(options.poll_interval)


def _smoke_run(
    api: AirflowApi, dag: DagInfo, options: VerifyOptions, rep: Reporter, warnings: list[str]
) -> TriggeredRun:
    """Unpause if paused, POST a run, poll it to success/failed or the timeout; the pause
    is restored whatever happens."""
    run_id = run_id_now(dag_id=dag.dag_id)
    if dag.paused:
        rep.step(f"Unpausing {dag.dag_id} for the smoke run (paused again afterwards)")
        api.set_paused(dag.dag_id, False)
    try:
        rep.step(f"Triggering {dag.dag_id} (run {run_id})")
        state = str(api.trigger(dag.dag_id, options.conf, run_id).get("state") or "queued")
        started = options.clock()
        while state not in FINAL_STATES:
            if options.clock() - started >= options.timeout:
                break
            options.sleep(options.poll_interval)
            state = str(api.dag_run(dag.dag_id, run_id).get("state") or state)
            rep.step(f"{dag.dag_id} run {run_id}: {state}")
    finally:
        if dag.paused:
            try:
                api.set_paused(dag.dag_id, True)
            except MwaadepsError as exc:
                warnings.append(
                    f"Could not pause {dag.dag_id} again on {api.name}: {exc.message} "
                    "(pause it in the Airflow UI)."
                )
                rep.warn(warnings[-1])
    return TriggeredRun(dag.dag_id, run_id, state, dag.paused)


def _run_verdict(run: TriggeredRun, timeout: float) -> tuple[str, str]:
    if run.state == "success":
        return "passed", f"run {run.run_id} of {run.dag_id} succeeded"
    if run.state == "failed":
        return "failed", f"Run {run.run_id} of {run.dag_id} failed."
    return "timeout", f"Run {run.run_id} of {run.dag_id} was still {run.state} after {timeout:g} s."


def verify(
    config: EnvironmentConfig,
    options: VerifyOptions | None = None,
    reporter: Reporter | None = None,
    aws: Aws | None = None,
) -> VerifyReport:
    """Wait for the DAG processor, read the DAGs and import errors, run ``options.trigger``
    once; the verdict is recorded on the running deployment's record (``options.record``)."""
    options = options or VerifyOptions()
    rep = reporter or NullReporter()
    aws = aws or connect(config)
    rep.step(f"Reading MWAA environment {config.name}")
    environment = _environment(aws, config)
    api = AirflowApi(aws, config.name, airflow_version=environment.get("AirflowVersion"))
    bucket, prefix, files, written = dag_files(aws, environment)
    warnings: list[str] = []
    if not files:
        warnings.append(f"No DAG files under s3://{bucket}/{prefix}.")
        rep.warn(warnings[-1])
    rep.step(f"Waiting for the DAG processor of {config.name} ({len(files)} DAG file(s))")
    dags, errors, waiting = _wait_parsed(api, files, options, rep, written)
    verdict, reason = judge(files, dags, errors, waiting, options.timeout)
    if not files and options.expected:  # nothing verified although DAGs were expected
        names = ", ".join(options.expected[:5]) + (", ..." if len(options.expected) > 5 else "")
        verdict, reason = (
            "failed",
            (
                f"No DAG files under s3://{bucket}/{prefix}, but the project's dags folder has "
                f"{len(options.expected)} ({names}): nothing was verified."
            ),
        )
    run = None
    if options.trigger is not None:
        dag = next((d for d in dags if d.dag_id == options.trigger), None)
        if verdict != "passed":  # its own file may be the one that failed or is not parsed
            warnings.append(f"{options.trigger} was not triggered: the DAGs did not all load.")
            rep.warn(warnings[-1])
        elif dag is None:
            known = ", ".join(d.dag_id for d in dags) or "none"
            raise ConfigError(
                f"Airflow on {config.name} has no DAG {options.trigger!r} (its DAGs: {known}).",
                hint="Check the DAG id (the dag_id in the file, not the file name).",
            )
        else:
            run = _smoke_run(api, dag, options, rep, warnings)
            verdict, said = _run_verdict(run, options.timeout)
            reason = said if verdict != "passed" else f"{reason[:-1]}; {said}."
    report = VerifyReport(
        environment=config.name,
        status=str(environment.get("Status")),
        verdict=verdict,
        reason=reason,
        dags_at=f"s3://{bucket}/{prefix}",
        files=files,
        dags=dags,
        import_errors=errors,
        unparsed=waiting,
        run=run,
        airflow_version=environment.get("AirflowVersion"),
        warnings=tuple(warnings),
    )
    if options.record:
        report = record_verification(aws, config, environment, report, options.by, rep)
    return report


# -- the deployment record ---------------------------------------------------------------------


def record_verification(
    aws: Aws,
    config: EnvironmentConfig,
    environment: Mapping[str, Any],
    report: VerifyReport,
    by: str,
    reporter: Reporter | None = None,
) -> VerifyReport:
    """Write the verdict on the newest record of the versions the environment runs.

    A failed verification turns a successful deployment into a failed one (error
    ``verify_failed``); a later passing one makes it successful again. A record that failed
    for another reason is left alone. Not writable: a warning, the report unchanged.
    """
    from mwaadeps.deploy.apply import resolve_pending, running_health
    from mwaadeps.deploy.models import Preflight
    from mwaadeps.deploy.records import history, update_record

    rep = reporter or NullReporter()
    kms = config.kms_key or environment.get("KmsKey")
    pre = Preflight(aws, config, environment, "", str(kms) if kms else None)
    try:
        records = resolve_pending(pre, history(config, aws, rep), by, rep)
        # the newest record of exactly the versions the environment runs
        record = running_health(aws, config, environment, records, rep).record
        if record is None:
            return report
        error = record.data.get("error") if isinstance(record.data.get("error"), dict) else None
        by_verify = record.outcome == "failed" and (error or {}).get("code") == "verify_failed"
        if record.outcome != "success" and not by_verify:
            return report
        changes: dict[str, Any] = {"verification": {**report.summary(), "by": by}}
        if report.verdict == "failed":
            changes["outcome"] = "failed"
            changes["error"] = report.error_json()
        elif report.verdict == "passed":
            changes["outcome"] = "success"
            changes["error"] = None
        rep.step(f"Recording the verification on deployment {record.id} ({record.key})")
        update_record(pre, record, changes)
    except MwaadepsError as exc:
        warning = f"Could not record the verification in the deployment record: {exc.message}"
        rep.warn(warning)
        return replace(report, warnings=(*report.warnings, warning))
    return replace(report, record_id=record.id)


# -- deploy --verify ---------------------------------------------------------------------------


def after_deploy(
    result: DeployResult,
    config: EnvironmentConfig,
    options: VerifyOptions | None = None,
    reporter: Reporter | None = None,
) -> DeployResult:
    """Verify what a successful deploy left running; the deploy stays ok only if it passes.

    A verification that cannot run (Airflow refused, no such DAG) or is interrupted is
    recorded as an ``error`` / ``interrupted`` verdict, so the deployment is not green either.
    """
    from mwaadeps.deploy.models import ErrorInfo

    if not result.ok or result.dry_run:
        return result
    options = replace(options or VerifyOptions(), by=f"{result.action} --verify")
    rep = reporter or NullReporter()
    try:
        report = verify(config, options, rep)
    except KeyboardInterrupt as exc:  # the update is done and recorded; only the check stopped
        import signal

        signum = getattr(exc, "signum", int(signal.SIGINT))
        if options.record:  # the deployment is not a verified one: promote must not take it
            stopped = VerifyReport(config.name, result.status, "interrupted", "interrupted")
            with contextlib.suppress(MwaadepsError, KeyboardInterrupt):
                aws = connect(config)
                environment = _environment(aws, config)
                record_verification(aws, config, environment, stopped, options.by, rep)
        return replace(
            result,
            ok=False,
            interrupted=signum,
            error=ErrorInfo(
                "interrupted",
                f"Interrupted ({signal.Signals(signum).name}) while verifying: the deploy of "
                f"{config.name} itself finished (deployment {result.record_id}); its DAGs were "
                "not verified.",
                f"mwaadeps verify --env {config.key}",
            ),
        )
    except MwaadepsError as exc:
        report = VerifyReport(config.name, result.status, "error", exc.message)
        if options.record:
            aws = connect(config)
            with contextlib.suppress(MwaadepsError):
                environment = _environment(aws, config)
                report = record_verification(aws, config, environment, report, options.by, rep)
        return replace(
            result,
            ok=False,
            verification=report,
            error=ErrorInfo(
                "verify_error",
                f"{config.name} was deployed, but its verification could not run: {exc.message}",
                exc.hint,
            ),
        )
    if report.ok:
        return replace(result, verification=report)
    error = report.error_json() or {}
    return replace(
        result,
        ok=False,
        verification=report,
        error=ErrorInfo(str(error.get("code")), str(error.get("message")), error.get("hint")),
    )
