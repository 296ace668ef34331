"""Ship a bundle: preflight -> plan -> upload -> UpdateEnvironment -> wait -> verify ->
record; rollback and promote.

Nothing here prints: progress goes to a Reporter, results are frozen dataclasses, and every
refusal is a MwaadepsError naming the resource with a hint. If any upload fails,
UpdateEnvironment is never called.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mwaadeps import __version__
from mwaadeps.build.dist import local_artifacts, read_manifest
from mwaadeps.deploy.aws import Aws, connect, translate
from mwaadeps.deploy.logs import install_logs
from mwaadeps.deploy.models import (
    ARTIFACTS,
    TERMINAL,
    UPDATABLE,
    ArtifactPlan,
    DeployedArtifact,
    DeploymentRecord,
    DeployOptions,
    DeployResult,
    ErrorInfo,
    Health,
    InstallLogs,
    Interrupted,
    Preflight,
    iso_time,
    to_epoch,
)
from mwaadeps.deploy.plan import (
    deployed_artifacts,
    object_sha256,
    plan_deploy,
    sse_args,
    update_kwargs,
    upload_file,
    wait_for_update,
)
from mwaadeps.deploy.preflight import get_environment, preflight
from mwaadeps.deploy.records import history, holding_lock, update_record, write_record
from mwaadeps.errors import AwsError, MwaadepsError, PreflightError
from mwaadeps.progress import NullReporter, Reporter

if TYPE_CHECKING:
    from mwaadeps.config import EnvironmentConfig


def _running(environment: Mapping[str, Any]) -> dict[str, tuple[str, str | None]]:
    return {
        s.name: (str(environment[s.path_field]), environment.get(s.version_field))
        for s in ARTIFACTS
        if environment.get(s.path_field)
    }


def _judge(
    aws: Aws,
    config: EnvironmentConfig,
    environment: Mapping[str, Any],
    since: float | None,
    rep: Reporter,
) -> tuple[ErrorInfo | None, InstallLogs]:
    """How the update that started at ``since`` ended: None (success) or why it failed."""
    name, status = config.name, str(environment.get("Status"))
    last_error = (environment.get("LastUpdate") or {}).get("Error") or None
    rep.step(f"Reading the install logs of {name}")
    logs = install_logs(aws, environment, since=since, reporter=rep)
    if status == "UPDATE_FAILED":
        detail = (
            f"{last_error.get('ErrorCode')}: {last_error.get('ErrorMessage')}"
            if last_error
            else "no error given"
        )
        return ErrorInfo(
            "update_failed",
            f"The update of {name} failed ({detail}); MWAA rolled back to the previous versions.",
            f"Read the log lines above (mwaadeps logs --env {config.key}), fix the bundle and "
            "deploy again.",
        ), logs
    if status != "AVAILABLE":
        return ErrorInfo(
            "unavailable",
            f"{name} is {status} after the update.",
            f"Check mwaadeps status --env {config.key} and the MWAA console.",
        ), logs
    if logs.pip_failed:
        return ErrorInfo(
            "pip_failed",
            f"{name} is AVAILABLE but pip failed to install the requirements "
            "(MWAA starts Airflow anyway, without the missing packages).",
            f"Fix the bundle and deploy again, or mwaadeps rollback --env {config.key}.",
        ), logs
    if environment.get("RequirementsS3Path") and not any(
        s.name.startswith("requirements_install_") for s in logs.streams
    ):
        rep.warn(
            f"No requirements_install log stream found for this update of {name}; "
            "pip's result could not be verified."
        )
    return None, logs


def light_preflight(
    aws: Aws, config: EnvironmentConfig, environment: Mapping[str, Any]
) -> Preflight:
    """What resolving a record needs, without the deploy checks (status, promote's source)."""
    kms = config.kms_key or environment.get("KmsKey")
    return Preflight(aws, config, environment, "", str(kms) if kms else None)


def resolve_pending(
    pre: Preflight,
    records: tuple[DeploymentRecord, ...],
    by: str,
    reporter: Reporter | None = None,
) -> tuple[DeploymentRecord, ...]:
    """Settle the last record when it is pending and MWAA has finished: from LastUpdate
    (which update, how it ended) and the install logs; the record is rewritten."""
    rep = reporter or NullReporter()
    if not records or records[-1].outcome != "pending":
        return records
    last, environment = records[-1], pre.environment
    status = str(environment.get("Status"))
    if status not in TERMINAL:
        return records
    update = environment.get("LastUpdate") or {}
    created = to_epoch(update.get("CreatedAt"))
    before = last.data.get("previous_update_epoch")
    changes: dict[str, Any] = {"status": status, "resolved_at": iso_time(), "resolved_by": by}
    if created is None or (isinstance(before, int | float) and abs(created - before) < 0.001):
        error: ErrorInfo | None = ErrorInfo(
            "not_started",
            f"MWAA shows no update of {pre.name} after deployment {last.id} called "
            "UpdateEnvironment; it never started.",
        )
        changes["outcome"] = "not_started"
    else:
        error, _ = _judge(pre.aws, pre.config, environment, created, rep)
        if error is None and _running(environment) != last.versions():
            error = ErrorInfo(
                "superseded",
                f"{pre.name} runs other versions than deployment {last.id}; another update "
                "followed it.",
            )
            changes["outcome"] = "unknown"
        else:
            changes["outcome"] = "success" if error is None else "failed"
    changes["error"] = error.as_json() if error else None
    update_record(pre, last, changes)
    rep.warn(
        f"Deployment {last.id} of {pre.name} was pending; MWAA says it ended: "
        f"{changes['outcome']}{' (' + error.message + ')' if error else ''}."
    )
    resolved = DeploymentRecord(last.id, last.key, {**last.data, **changes, "id": last.id})
    return (*records[:-1], resolved)


def running_health(
    aws: Aws,
    config: EnvironmentConfig,
    environment: Mapping[str, Any],
    records: tuple[DeploymentRecord, ...],
    reporter: Reporter | None = None,
) -> Health:
    """Whether the versions the environment runs are a verified deployment: the newest
    record of exactly these versions, and the live install logs of the last update."""
    rep = reporter or NullReporter()
    running = _running(environment)
    record = next((r for r in reversed(records) if r.versions() == running), None)
    update = environment.get("LastUpdate") or {}
    if update.get("Status") in (None, "SUCCESS"):  # the running versions come from it
        logs = install_logs(aws, environment, reporter=rep)
        if logs.pip_failed:
            first = next(iter(logs.error_lines()), "")
            return Health(
                "failed", f"pip failed in its last update ({first or 'see mwaadeps logs'})", record
            )
    if record is None:
        return Health("unverified", "no deployment record matches the versions it runs")
    checked = record.data.get("verification")
    checked = checked if isinstance(checked, dict) else {}
    if record.outcome == "success" and checked.get("verdict") not in (None, "passed"):
        return Health(
            "unverified",
            f"deployment {record.id} of these versions succeeded but its verification "
            f"{checked.get('verdict')}: {checked.get('reason')}",
            record,
        )
    if record.outcome == "success":
        return Health("healthy", f"deployment {record.id} of these versions succeeded", record)
    err = record.data.get("error") or {}
    why = f": {err.get('message')}" if isinstance(err, dict) and err.get("message") else ""
    if record.outcome == "failed":
        return Health("failed", f"deployment {record.id} of these versions failed{why}", record)
    return Health(
        "unverified", f"deployment {record.id} of these versions is {record.outcome}{why}", record
    )


# -- the flows ---------------------------------------------------------------------------------


def deploy(
    config: EnvironmentConfig,
    dist: Path,
    options: DeployOptions | None = None,
    reporter: Reporter | None = None,
) -> DeployResult:
    """Deploy dist/ to the environment: preflight, plan, upload, update, wait, verify, record.

    Preflight refusals raise PreflightError; later failures return ok=False with the error.
    An unchanged bundle on a broken environment (its deployment failed, or pip failed) is a
    failure, not "nothing changed", unless ``options.force`` redeploys it.
    """
    options = options or DeployOptions()
    rep = reporter or NullReporter()
    local = local_artifacts(dist)
    manifest = read_manifest(dist)
    pre = preflight(config, rep)
    records = resolve_pending(pre, history(config, pre.aws, rep), "deploy", rep)
    plan = plan_deploy(pre, dist, rep)
    base = DeployResult(
        True,
        config.name,
        "deploy",
        plan,
        False,
        str(pre.environment["Status"]),
        dry_run=options.dry_run,
        warnings=pre.warnings,
    )
    if not any(p.changes for p in plan):
        health = running_health(pre.aws, config, pre.environment, records, rep)
        if health.state == "failed" and not options.force:
            err = (health.record.data.get("error") if health.record else None) or {}
            by_verify = isinstance(err, dict) and err.get("code") == "verify_failed"
            return _replace(
                base,
                ok=False,
                error=ErrorInfo(
                    "unchanged_but_broken",
                    f"Nothing to upload, but {config.name} is broken: {health.reason}.",
                    (
                        f"Fix the DAG files it names, then mwaadeps verify --env {config.key} "
                        "(it records the new verdict); "
                        if by_verify
                        else "Fix the bundle and deploy again, "
                    )
                    + f"mwaadeps rollback --env {config.key}, or redeploy the same bundle "
                    "with --force.",
                ),
            )
        if options.force:
            plan = tuple(_replace_plan(p, "redeploy") if p.artifact in local else p for p in plan)
            base = _replace(base, plan=plan)

    def upload(item: ArtifactPlan) -> str:
        assert item.sha256 is not None
        return upload_file(
            pre.aws,
            pre.bucket,
            item.key,
            local[item.artifact],
            item.sha256,
            pre.kms_key,
            options,
            rep,
        )

    return _apply(pre, base, options, rep, {"action": "deploy", "manifest": manifest}, upload)


def _replace_plan(item: ArtifactPlan, action: str) -> ArtifactPlan:
    from dataclasses import replace

    return replace(item, action=action)


def _with_versions(
    plan: list[ArtifactPlan] | tuple[ArtifactPlan, ...], versions: Mapping[str, str | None]
) -> tuple[ArtifactPlan, ...]:
    from dataclasses import replace

    return tuple(replace(p, new_version=versions.get(p.artifact)) for p in plan)


def _replace(result: DeployResult, **changes: Any) -> DeployResult:
    from dataclasses import replace

    return replace(result, **changes)


_VERBS = {
    "upload": ("Uploading", "upload_failed", "Upload"),
    "copy": ("Copying", "copy_failed", "Copy"),
}


def _apply(
    pre: Preflight,
    result: DeployResult,
    options: DeployOptions,
    rep: Reporter,
    record: dict[str, Any],
    transfer: Callable[[ArtifactPlan], str] | None = None,
) -> DeployResult:
    """The one apply path of deploy, rollback and promote: take the lock, transfer what
    changed (upload / copy), one UpdateEnvironment, wait, verify, record, release the lock."""
    if options.dry_run or not any(p.changes for p in result.plan):
        return result
    with holding_lock(pre, result.action, options, rep):
        now = get_environment(pre.aws, pre.name)
        if str(now.get("Status")) not in UPDATABLE:
            raise PreflightError(
                f"{pre.name} became {now.get('Status')} while this {result.action} was planned "
                "(another update started).",
                hint=f"Wait for it (mwaadeps status --env {pre.config.key}), then retry.",
            )
        versions: dict[str, str | None] = {p.artifact: p.new_version for p in result.plan}
        moving = [p for p in result.plan if p.action in _VERBS]
        for done, item in enumerate(moving, 1):
            verb, code, noun = _VERBS[item.action]
            rep.step(f"{verb} {item.artifact} -> s3://{pre.bucket}/{item.key}")
            assert transfer is not None
            try:
                versions[item.artifact] = transfer(item)
            except MwaadepsError as exc:
                return _replace(
                    result,
                    plan=_with_versions(result.plan, versions),
                    ok=False,
                    error=ErrorInfo(
                        code,
                        f"{noun} of {item.artifact} failed; UpdateEnvironment was not called "
                        f"and {pre.name} still runs the previous versions. {exc.message}",
                        exc.hint,
                    ),
                )
            rep.advance(f"{verb} done", done, len(moving))
        final = _replace(result, plan=_with_versions(result.plan, versions))
        return _update_and_verify(pre, final, versions, options, rep, record)


def _update_and_verify(
    pre: Preflight,
    result: DeployResult,
    versions: Mapping[str, str | None],
    options: DeployOptions,
    rep: Reporter,
    record: dict[str, Any],
) -> DeployResult:
    """One UpdateEnvironment, recorded as pending at once; then wait, read the install logs,
    and record the outcome. An interrupted, lost or timed-out wait leaves it pending."""
    kwargs = update_kwargs(pre.name, result.plan, versions, options.worker_replacement)
    previous = to_epoch((pre.environment.get("LastUpdate") or {}).get("CreatedAt"))
    data: dict[str, Any] = {
        **record,
        "environment": pre.name,
        "env_key": pre.config.key,
        "time": iso_time(),
        "who": pre.caller,
        "tool": f"mwaadeps {__version__}",
        "worker_replacement": kwargs.get("WorkerReplacementStrategy"),
        "artifacts": {
            p.artifact: {
                "key": p.key,
                "version": versions.get(p.artifact),
                "sha256": p.sha256,
                "size": p.size,
            }
            for p in result.plan
        },
        "previous": {p.artifact: {"key": p.old_key, "version": p.old_version} for p in result.plan},
        "previous_update_epoch": previous,
        "outcome": "pending",
        "status": "UPDATING",
        "error": None,
    }
    rep.step(f"UpdateEnvironment {pre.name}")
    started = time.time()
    data["update_started"] = started
    record_id: int | None = None
    key = ""
    try:
        # A signal between the call and the pending record would lose track of a started
        # update: both happen with SIGINT/SIGTERM held back, delivered right after.
        with signals_deferred():
            try:
                with translate(f"update MWAA environment {pre.name}", pre.name, pre.aws):
                    pre.aws.mwaa.update_environment(**kwargs)
            except AwsError as exc:
                return _replace(
                    result,
                    ok=False,
                    error=ErrorInfo(
                        "update_rejected",
                        exc.message,
                        exc.hint
                        or "MWAA did not start the update; fix the cause and deploy again.",
                    ),
                )
            record_id, key = write_record(pre, data)
        result = _replace(
            result,
            update_called=True,
            status="UPDATING",
            record_id=record_id,
            record_key=key,
            started_at=iso_time(started),
        )
        rep.step(
            f"Update of {pre.name} started at {iso_time(started)}; recorded as pending deployment "
            f"{record_id} ({key})"
        )
        if not options.wait:
            return result
        return _wait_and_verify(pre, result, options, rep, data, started)
    except KeyboardInterrupt as exc:
        if record_id is None:  # UpdateEnvironment was rejected or never sent
            raise
        return _stopped(pre, result, exc, record_id, key, started)


@contextlib.contextmanager
def signals_deferred() -> Iterator[None]:
    """Hold SIGINT/SIGTERM back (main thread, POSIX); they are delivered when the block ends."""
    import signal
    import threading

    held = {signal.SIGINT, signal.SIGTERM}
    if not hasattr(signal, "pthread_sigmask") or threading.current_thread() is not (
        threading.main_thread()
    ):
        yield
        return
    signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, held)


def _wait_and_verify(
    pre: Preflight,
    result: DeployResult,
    options: DeployOptions,
    rep: Reporter,
    data: dict[str, Any],
    started: float,
) -> DeployResult:
    """Wait for the started update, judge it, and rewrite its pending record."""
    assert result.record_id is not None and result.record_key is not None
    record_id = result.record_id
    pending = DeploymentRecord(record_id, result.record_key, {**data, "id": record_id})
    try:
        environment = wait_for_update(
            pre.aws, pre.name, rep, poll_interval=options.poll_interval, timeout=options.timeout
        )
    except MwaadepsError as exc:
        return _replace(
            result,
            ok=False,
            error=ErrorInfo(
                "wait_lost",
                f"Lost track of the update of {pre.name} while waiting ({exc.message}). "
                f"UpdateEnvironment was called at {iso_time(started)} and the update goes on "
                f"in MWAA; recorded as pending deployment {record_id}.",
                f"mwaadeps status --env {pre.config.key} shows how it ended (and records it).",
            ),
        )
    status = str(environment.get("Status"))
    if status not in TERMINAL:
        return _replace(
            result,
            ok=False,
            status=status,
            error=ErrorInfo(
                "still_updating",
                f"{pre.name} is still {status} after {options.timeout:g} s; the update goes on "
                f"in MWAA (this is not a failure); recorded as pending deployment {record_id}.",
                f"mwaadeps status --env {pre.config.key} shows how it ended (and records it).",
            ),
        )
    last = environment.get("LastUpdate") or {}
    since = to_epoch(last.get("CreatedAt")) or started
    error, logs = _judge(pre.aws, pre.config, environment, since, rep)
    update_record(
        pre,
        pending,
        {
            "outcome": "success" if error is None else "failed",
            "status": status,
            "error": error.as_json() if error else None,
        },
    )
    last_error = last.get("Error") or None
    return _replace(
        result,
        ok=error is None,
        status=status,
        error=error,
        waited=True,
        last_update_error=dict(last_error) if last_error else None,
        log_lines=logs.error_lines(),
    )


def _stopped(
    pre: Preflight,
    result: DeployResult,
    exc: KeyboardInterrupt,
    record_id: int,
    key: str,
    started: float,
) -> DeployResult:
    import signal

    signum = exc.signum if isinstance(exc, Interrupted) else int(signal.SIGINT)
    name = signal.Signals(signum).name
    return _replace(
        result,
        ok=False,
        update_called=True,
        status="UPDATING",
        record_id=record_id,
        record_key=key,
        started_at=iso_time(started),
        interrupted=signum,
        error=ErrorInfo(
            "interrupted",
            f"Interrupted ({name}) while waiting: UpdateEnvironment of {pre.name} was called at "
            f"{iso_time(started)} and the update goes on in MWAA; recorded as pending deployment "
            f"{record_id} ({key}).",
            f"mwaadeps status --env {pre.config.key} shows how it ended (and records it).",
        ),
    )


def rollback(
    config: EnvironmentConfig,
    to: int | None = None,
    options: DeployOptions | None = None,
    reporter: Reporter | None = None,
) -> DeployResult:
    """Point the environment back at a recorded set of object versions (no upload)."""
    options = options or DeployOptions()
    rep = reporter or NullReporter()
    pre = preflight(config, rep)
    records = resolve_pending(pre, history(config, pre.aws, rep), "rollback", rep)
    current = {
        s.name: (pre.environment.get(s.path_field), pre.environment.get(s.version_field))
        for s in ARTIFACTS
    }
    if to is not None:
        chosen = next((r for r in records if r.id == to), None)
        if chosen is None:
            ids = ", ".join(str(r.id) for r in records) or "none"
            raise PreflightError(
                f"There is no deployment record {to} for {config.name} (recorded: {ids}).",
                hint=f"mwaadeps history --env {config.key}",
            )
        if chosen.outcome != "success":
            rep.warn(f"Deployment {chosen.id} is {chosen.outcome}; rolling back to it anyway.")
    else:
        running = _running(pre.environment)
        candidates = [r for r in records if r.outcome == "success" and r.versions() != running]
        if not candidates:
            raise PreflightError(
                f"No earlier successful deployment of {config.name} to roll back to.",
                hint=f"mwaadeps history --env {config.key}",
            )
        chosen = candidates[-1]
    rep.step(f"Rolling {config.name} back to deployment {chosen.id}")
    plan = []
    for artifact, (key, version) in chosen.versions().items():
        sha, size = object_sha256(pre.aws, pre.bucket, key, version)
        if sha is None:
            raise PreflightError(
                f"s3://{pre.bucket}/{key} version {version} (record {chosen.id}) no longer exists.",
                hint="Pick another record with --to.",
            )
        old_key, old_version = current.get(artifact, (None, None))
        same = (old_key, old_version) == (key, version)
        plan.append(
            ArtifactPlan(
                artifact,
                key,
                "unchanged" if same else "restore",
                sha,
                size,
                old_key,
                old_version,
                None,
                version,
            )
        )
    plan.sort(key=lambda p: [s.name for s in ARTIFACTS].index(p.artifact))
    result = DeployResult(
        True,
        config.name,
        "rollback",
        tuple(plan),
        False,
        str(pre.environment["Status"]),
        dry_run=options.dry_run,
        warnings=pre.warnings,
    )
    record = {
        "action": "rollback",
        "rolled_back_to": chosen.id,
        "manifest": chosen.data.get("manifest"),
    }
    return _apply(pre, result, options, rep, record)


def promote(
    source: EnvironmentConfig,
    dest: EnvironmentConfig,
    options: DeployOptions | None = None,
    reporter: Reporter | None = None,
) -> DeployResult:
    """Deploy to ``dest`` the exact objects ``source`` runs (copied, same sha256s), only when
    they are a verified, successful deployment of ``source``."""
    options = options or DeployOptions()
    rep = reporter or NullReporter()
    rep.step(f"Reading what {source.name} runs")
    src_aws = connect(source)
    src_env = get_environment(src_aws, source.name)
    if src_env.get("Status") != "AVAILABLE":
        raise PreflightError(
            f"{source.name} is {src_env.get('Status')}; promote copies only "
            "what a healthy environment runs.",
            hint=f"Wait until it is AVAILABLE (mwaadeps status --env {source.key}).",
        )
    src_bucket = str(src_env.get("SourceBucketArn", "")).rsplit(":", 1)[-1] or source.bucket
    running = deployed_artifacts(src_aws, src_bucket, src_env)
    if not any(a.key for a in running.values()):
        raise PreflightError(
            f"{source.name} runs no requirements, plugins or startup script.",
            hint=f"Deploy to {source.key} first.",
        )
    src_pre = light_preflight(src_aws, source, src_env)
    src_records = resolve_pending(src_pre, history(source, src_aws, rep), "promote", rep)
    health = running_health(src_aws, source, src_env, src_records, rep)
    if health.state != "healthy":
        raise PreflightError(
            f"{source.name} runs a deployment that is {health.state}: {health.reason}; "
            "promote copies only a verified, successful deployment.",
            hint=f"Fix it first (mwaadeps status --env {source.key}; deploy or rollback "
            f"--env {source.key}).",
        )
    pre = preflight(dest, rep)
    current = deployed_artifacts(pre.aws, pre.bucket, pre.environment)
    plan = []
    for spec in ARTIFACTS:
        src = running[spec.name]
        if not src.key:
            continue
        if src.sha256 is None:
            raise PreflightError(
                f"Cannot read s3://{src_bucket}/{src.key} version {src.version}.",
                hint="Check read access to the source bucket.",
            )
        now = current[spec.name]
        key = spec.key(dest)
        same = now.sha256 == src.sha256 and now.key == key and now.version is not None
        plan.append(
            ArtifactPlan(
                spec.name,
                key,
                "unchanged" if same else "copy",
                src.sha256,
                src.size,
                now.key,
                now.version,
                now.sha256,
                now.version if same else None,
            )
        )
    result = DeployResult(
        True,
        dest.name,
        "promote",
        tuple(plan),
        False,
        str(pre.environment["Status"]),
        dry_run=options.dry_run,
        warnings=pre.warnings,
    )
    assert health.record is not None
    record = {
        "action": "promote",
        "manifest": health.record.data.get("manifest"),
        "promoted_from": {"environment": source.name, "record": health.record.id},
    }
    return _apply(
        pre,
        result,
        options,
        rep,
        record,
        lambda item: _copy(pre, src_bucket, running[item.artifact], item),
    )


def _copy(pre: Preflight, src_bucket: str, src: DeployedArtifact, item: ArtifactPlan) -> str:
    assert src.key is not None and item.sha256 is not None
    source: dict[str, str] = {"Bucket": src_bucket, "Key": src.key}
    if src.version:
        source["VersionId"] = src.version
    where = f"s3://{pre.bucket}/{item.key}"
    with translate(f"copy {item.artifact} to {where}", where, pre.aws):
        response = pre.aws.s3.copy_object(
            Bucket=pre.bucket,
            Key=item.key,
            CopySource=source,  # type: ignore[arg-type]
            MetadataDirective="REPLACE",
            Metadata={"sha256": item.sha256, "mwaadeps-version": __version__},
            ChecksumAlgorithm="SHA256",
            **sse_args(pre.kms_key),
        )
    version = response.get("VersionId")
    if not version:
        raise AwsError(f"S3 returned no version for {where}; bucket versioning is not enabled.")
    copied, _ = object_sha256(pre.aws, pre.bucket, item.key, version)
    if copied != item.sha256:
        raise AwsError(
            f"The copy at {where} (version {version}) has sha256 {copied}, not {item.sha256}.",
            hint="Retry the promote.",
        )
    return str(version)
