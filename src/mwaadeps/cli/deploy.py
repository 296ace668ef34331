"""deploy / status / diff / rollback / logs / history / promote / sandbox commands."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any

import typer

from mwaadeps.cli.options import ConfigOpt, JsonOpt, set_json, settings_from
from mwaadeps.errors import DeployFailed, MwaadepsError, StillUpdating, VerifyFailed

EnvOpt = Annotated[str, typer.Option("--env", "-e", help="Environment key ([environments.KEY]).")]
DistOpt = Annotated[
    Path | None, typer.Option("--dist", help="The bundle folder (default: the build's out dir).")
]
WaitOpt = Annotated[
    bool,
    typer.Option(
        "--wait/--no-wait",
        help="Poll until the update ends (default: wait, also in CI and pipes).",
    ),
]
WorkerOpt = Annotated[
    str | None,
    typer.Option("--worker-replacement", help="graceful or forced (MWAA's default: forced)."),
]
PollOpt = Annotated[
    float | None,
    typer.Option(
        "--poll-interval", help="Seconds between status polls (default 15; MWAADEPS_POLL_INTERVAL)."
    ),
]
TimeoutOpt = Annotated[
    float,
    typer.Option(
        "--timeout",
        help="Stop waiting after this many seconds: reports 'still updating' (exit 75), "
        "recorded as pending.",
    ),
]
DryRunOpt = Annotated[bool, typer.Option("--dry-run", help="Print the plan; change nothing.")]
BreakLockOpt = Annotated[
    bool,
    typer.Option("--break-lock", help="Take over the deploy lock another deployer left behind."),
]
ForceOpt = Annotated[
    bool,
    typer.Option(
        "--force", help="Redeploy an unchanged bundle (e.g. after pip failed on the environment)."
    ),
]
AllowStaleOpt = Annotated[
    bool,
    typer.Option("--allow-stale", help="Use a dist/ built from inputs that changed since."),
]


def _options(
    settings: Any,
    *,
    dry_run: bool,
    wait: bool,
    worker: str | None,
    poll: float | None,
    timeout: float,
    config: Any,
    force: bool = False,
    break_lock: bool = False,
) -> Any:
    from mwaadeps.deploy.models import DeployOptions, resolve_worker_replacement
    from mwaadeps.errors import ConfigError

    if poll is None:
        raw = settings.env.get("MWAADEPS_POLL_INTERVAL")
        try:
            poll = float(raw) if raw else 15.0
        except ValueError:
            raise ConfigError(
                f"MWAADEPS_POLL_INTERVAL must be a number of seconds, not {raw!r}.",
                hint="e.g. export MWAADEPS_POLL_INTERVAL=5",
            ) from None
    return DeployOptions(
        dry_run=dry_run,
        wait=wait,
        worker_replacement=resolve_worker_replacement(worker, config),
        poll_interval=max(poll, 0.0),
        timeout=timeout,
        force=force,
        break_lock=break_lock,
    )


def _short(version: str | None) -> str:
    return version or "-"  # S3 version ids are shown whole: they are what you look up


def _render_plan(result: Any) -> None:
    from mwaadeps import ui

    rows = []
    for p in result.plan:
        old = _short(p.old_version)
        new = _short(p.new_version) if p.new_version else ("(new)" if p.changes else old)
        rows.append(
            [
                p.artifact,
                p.action,
                ui.human_size(p.size) if p.size is not None else "-",
                f"{old} -> {new}" if p.changes else old,
                (p.sha256 or "")[:12],
                p.key,
            ]
        )
    ui.table(
        f"Plan for {result.environment}",
        ["artifact", "action", "size", "version", "sha256", "key"],
        rows,
    )


def _exit_code(result: Any) -> int:
    """0, 128+signal for an interrupted wait, 75 when the end was not seen, else 5."""
    if result.ok:
        return 0
    if result.interrupted:
        return 128 + int(result.interrupted)
    code = result.error.code if result.error else None
    if code == VerifyFailed.code:
        return VerifyFailed.exit_code
    return StillUpdating.exit_code if code in _NOT_SEEN else DeployFailed.exit_code


_NOT_SEEN = ("still_updating", "wait_lost", "verify_timeout")


def _finish(result: Any, as_json: bool) -> None:
    """Render a DeployResult; a failed one exits non-zero."""
    from mwaadeps import ui

    if as_json:
        ui.print_json(result.as_json())
        if not result.ok:
            raise typer.Exit(_exit_code(result))
        return
    _render_plan(result)
    if result.verification is not None:
        from mwaadeps.cli.verify import render

        render(result.verification)
        if result.ok:
            ui.success(f"{result.environment} verified: {result.verification.reason}")
    if result.ok and result.dry_run:
        ui.info("Dry run: nothing was uploaded and the environment was not updated.")
        return
    if result.ok and not result.update_called:
        ui.success(
            f"Nothing changed: {result.environment} already runs these artifacts "
            "(no upload, no UpdateEnvironment)."
        )
        return
    if result.last_update_error:
        err = result.last_update_error
        ui.warn(f"MWAA LastUpdate.Error: {err.get('ErrorCode')}: {err.get('ErrorMessage')}")
    for line in result.log_lines:
        ui.warn(line)
    if not result.ok:
        assert result.error is not None
        if result.interrupted or result.error.code in _NOT_SEEN:  # started, not failed
            ui.warn(result.error.message)
            ui.info(f"  {result.error.hint}")
            raise typer.Exit(_exit_code(result))
        if result.error.code == VerifyFailed.code:
            raise VerifyFailed(result.error.message, hint=result.error.hint)
        raise DeployFailed(result.error.message, hint=result.error.hint)
    if result.waited:
        ui.success(
            f"{result.environment} is {result.status}; pip succeeded; recorded as "
            f"deployment {result.record_id} ({result.record_key})."
        )
    else:
        ui.success(
            f"Update of {result.environment} started (recorded as deployment "
            f"{result.record_id}); check it with mwaadeps status."
        )


@contextlib.contextmanager
def _signals() -> Iterator[None]:
    """SIGINT and SIGTERM raise deploy.Interrupted, so the core can record a started update
    as pending and abort a multipart upload instead of dying mid-way."""
    import signal

    from mwaadeps.deploy.models import Interrupted

    def handler(signum: int, _frame: Any) -> None:
        raise Interrupted(signum)

    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def _run_and_finish(call: Callable[[Any], Any], environment: str, as_json: bool) -> None:
    """Run a deploy-like core call with a reporter; render its result or its JSON failure."""
    from mwaadeps import ui
    from mwaadeps.deploy.models import Interrupted

    try:
        with _signals(), ui.reporter(quiet=as_json) as rep:
            result = call(rep)
    except MwaadepsError as exc:
        if as_json:
            _json_failure(exc, environment)
        raise
    except Interrupted as exc:  # before UpdateEnvironment: nothing changed on the environment
        import signal

        ui.warn(
            f"Interrupted ({signal.Signals(exc.signum).name}) before UpdateEnvironment: "
            f"{environment} was not updated (any multipart upload in progress was aborted)."
        )
        raise typer.Exit(128 + exc.signum) from None
    _finish(result, as_json)


def _json_failure(exc: MwaadepsError, environment: str) -> None:
    from mwaadeps import ui

    ui.json_error(exc, environment=environment, plan=[], update_called=False, status=None)
    raise typer.Exit(exc.exit_code)


def _pip_failed(environment: str) -> DeployFailed:
    return DeployFailed(
        f"pip failed in {environment}'s last update.",
        hint="Fix the bundle and deploy again, or mwaadeps rollback.",
    )


def deploy(
    env: EnvOpt,
    dist: DistOpt = None,
    dry_run: DryRunOpt = False,
    wait: WaitOpt = True,
    worker_replacement: WorkerOpt = None,
    poll_interval: PollOpt = None,
    timeout: TimeoutOpt = 3600.0,
    force: ForceOpt = False,
    break_lock: BreakLockOpt = False,
    allow_stale: AllowStaleOpt = False,
    verify: Annotated[
        bool,
        typer.Option(
            "--verify",
            help="Then verify the DAGs load (mwaadeps verify); green only if that passes.",
        ),
    ] = False,
    trigger: Annotated[
        str | None, typer.Option("--trigger", help="With --verify: also run this DAG once.")
    ] = None,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Upload what changed in dist/ and update the MWAA environment (one update)."""
    from mwaadeps.build.dist import check_fresh
    from mwaadeps.cli.verify import deploy_checks
    from mwaadeps.deploy import apply as core
    from mwaadeps.deploy import verify as verify_core

    set_json(as_json)
    settings = settings_from(config=config, out=dist)
    target = settings.environment(env)
    options = _options(
        settings,
        dry_run=dry_run,
        wait=wait,
        worker=worker_replacement,
        poll=poll_interval,
        timeout=timeout,
        config=target,
        force=force,
        break_lock=break_lock,
    )

    def run(rep: Any) -> Any:
        stale = check_fresh(settings, settings.out_dir, allow_stale=allow_stale)
        if stale:
            rep.warn(
                f"--allow-stale: deploying {settings.out_dir} although "
                f"{', '.join(stale)} changed since it was built."
            )
        result = core.deploy(target, settings.out_dir, options, rep)
        return verify_core.after_deploy(result, target, checks, rep) if checks else result

    checks = deploy_checks(verify, trigger, wait, options)
    _run_and_finish(run, target.name, as_json)


def rollback(
    env: EnvOpt,
    to: Annotated[
        int | None,
        typer.Option("--to", help="Deployment record id (default: the previous successful one)."),
    ] = None,
    dry_run: DryRunOpt = False,
    wait: WaitOpt = True,
    worker_replacement: WorkerOpt = None,
    poll_interval: PollOpt = None,
    timeout: TimeoutOpt = 3600.0,
    break_lock: BreakLockOpt = False,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Point the environment back at an earlier recorded deployment (no upload)."""
    from mwaadeps.deploy import apply as core

    set_json(as_json)
    settings = settings_from(config=config)
    target = settings.environment(env)
    options = _options(
        settings,
        dry_run=dry_run,
        wait=wait,
        worker=worker_replacement,
        poll=poll_interval,
        timeout=timeout,
        config=target,
        break_lock=break_lock,
    )
    _run_and_finish(lambda r: core.rollback(target, to, options, r), target.name, as_json)


def promote(
    source: Annotated[str, typer.Option("--from", help="Environment key to copy from.")],
    dest: Annotated[str, typer.Option("--to", help="Environment key to deploy to.")],
    dry_run: DryRunOpt = False,
    wait: WaitOpt = True,
    worker_replacement: WorkerOpt = None,
    poll_interval: PollOpt = None,
    timeout: TimeoutOpt = 3600.0,
    break_lock: BreakLockOpt = False,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Deploy to --to exactly the objects --from runs (copied, same sha256s)."""
    from mwaadeps.deploy import apply as core

    set_json(as_json)
    settings = settings_from(config=config)
    src, dst = settings.environment(source), settings.environment(dest)
    options = _options(
        settings,
        dry_run=dry_run,
        wait=wait,
        worker=worker_replacement,
        poll=poll_interval,
        timeout=timeout,
        config=dst,
        break_lock=break_lock,
    )
    _run_and_finish(lambda r: core.promote(src, dst, options, r), dst.name, as_json)


def status(
    env: EnvOpt, dist: DistOpt = None, as_json: JsonOpt = False, config: ConfigOpt = None
) -> None:
    """The environment's status, last update and deployed vs local artifacts."""
    from mwaadeps import ui
    from mwaadeps.deploy import inspect as deploy_inspect

    set_json(as_json)
    settings = settings_from(config=config, out=dist)
    with ui.reporter(quiet=as_json) as rep:
        report = deploy_inspect.status(settings.environment(env), settings.out_dir, rep)
    if as_json:
        ui.print_json(report.as_json())
        return
    ui.info(
        f"{report.environment} ({report.region}, Airflow {report.airflow_version}): {report.status}"
    )
    last = report.last_update or {}
    if last:
        ui.info(f"Last update: {last.get('Status')} at {last.get('CreatedAt')}")
        if last.get("Error"):
            ui.warn(f"{last['Error'].get('ErrorCode')}: {last['Error'].get('ErrorMessage')}")
    ui.table(
        None,
        ["artifact", "key", "version", "sha256", "local build"],
        [
            [a.artifact, a.key or "-", _short(a.version), (a.sha256 or "")[:12], a.state]
            for a in report.artifacts
        ],
    )
    if report.last_record:
        rec = report.last_record
        ui.info(
            f"Last recorded deployment: {rec.get('id')} ({rec.get('action')}, "
            f"{rec.get('outcome')}) at {rec.get('time')} by {rec.get('who')}"
        )
    if report.health is not None:
        line = f"What {report.environment} runs: {report.health.state} ({report.health.reason})"
        (ui.info if report.health.state == "healthy" else ui.warn)(line)


def diff(
    env: EnvOpt,
    dist: DistOpt = None,
    allow_stale: AllowStaleOpt = False,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Package-level diff: deployed requirements.txt -> dist/requirements.txt."""
    from mwaadeps import ui
    from mwaadeps.build.dist import check_fresh
    from mwaadeps.deploy import inspect as deploy_inspect

    set_json(as_json)
    settings = settings_from(config=config, out=dist)
    if check_fresh(settings, settings.out_dir, allow_stale=allow_stale):
        ui.warn(f"--allow-stale: {settings.out_dir} is older than its inputs.")
    with ui.reporter(quiet=as_json) as rep:
        report = deploy_inspect.diff(settings.environment(env), settings.out_dir, rep)
    if as_json:
        ui.print_json(report.as_json())
        return
    if report.identical:
        ui.success(
            f"The local build pins what {report.environment} runs ({report.unchanged} packages)."
        )
        return
    rows = [[n, "-", v, "added"] for n, v in report.added]
    rows += [[n, v, "-", "removed"] for n, v in report.removed]
    rows += [[n, o, v, "changed"] for n, o, v in report.changed]
    rows += [[o, "", "", "option added"] for o in report.options_added]
    rows += [[o, "", "", "option removed"] for o in report.options_removed]
    ui.table(
        f"{report.environment} (deployed) -> local build",
        ["package", "deployed", "local", "change"],
        rows,
    )
    ui.info(f"{report.unchanged} packages unchanged.")


def logs(
    env: EnvOpt,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
    errors_only: Annotated[bool, typer.Option("--errors", help="Only ERROR lines.")] = False,
) -> None:
    """The requirements/startup log streams of the environment's last update."""
    from mwaadeps import ui
    from mwaadeps.deploy import inspect as deploy_inspect

    set_json(as_json)
    settings = settings_from(config=config)
    with ui.reporter(quiet=as_json) as rep:
        report = deploy_inspect.logs(settings.environment(env), rep)
    if as_json and report.pip_failed:
        ui.json_error(_pip_failed(report.environment), **report.as_json())
        raise typer.Exit(DeployFailed.exit_code)
    if as_json:
        ui.print_json({"ok": True, **report.as_json(), "error": None})
        return
    if not report.streams:
        ui.warn(
            f"No requirements/startup log streams found for {report.environment}'s last update."
        )
        return
    for stream in report.streams:
        ui.info(f"== {stream.group} / {stream.name}")
        for line in stream.errors if errors_only else stream.lines:
            ui.info(f"  {line}")
    if report.pip_failed:
        raise _pip_failed(report.environment)


def history(env: EnvOpt, as_json: JsonOpt = False, config: ConfigOpt = None) -> None:
    """The recorded deployments of an environment (ids for rollback --to)."""
    from mwaadeps import ui
    from mwaadeps.deploy import records as deploy_records

    set_json(as_json)
    settings = settings_from(config=config)
    with ui.reporter(quiet=as_json) as rep:
        records = deploy_records.history(settings.environment(env), reporter=rep)
    if as_json:
        ui.print_json({"ok": True, "records": [r.as_json() for r in records]})
        return
    ui.table(
        None,
        ["id", "time", "action", "outcome", "who", "requirements", "plugins"],
        [
            [
                r.id,
                r.data.get("time"),
                r.data.get("action"),
                r.outcome,
                r.data.get("who"),
                (r.versions().get("requirements.txt") or ("", "-"))[1],
                (r.versions().get("plugins.zip") or ("", "-"))[1],
            ]
            for r in records
        ],
    )


def sandbox(
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port (0 = any free port).")] = 4566,
    seed: Annotated[
        Path | None,
        typer.Option(
            "--seed",
            help="A folder with mwaadeps.toml: create its buckets, keys and environments.",
        ),
    ] = None,
    update_polls: Annotated[
        int,
        typer.Option("--update-polls", help="GetEnvironment calls an update stays UPDATING."),
    ] = 2,
    install: Annotated[
        bool,
        typer.Option(
            "--install/--no-install",
            help="Really install bundles in the runner container when a Docker engine answers.",
        ),
    ] = True,
    env_file: Annotated[
        Path | None,
        typer.Option("--env-file", help="Also write the environment variables to this file."),
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", help="Log every request.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Run a local AWS (moto: S3, KMS, STS, Logs) + MWAA emulator until stopped."""
    import signal
    import threading

    from mwaadeps import ui
    from mwaadeps.sandbox.server import Sandbox, docker_installer

    set_json(as_json)
    installer, why = None, "--no-install"
    settings = None
    if seed is not None:
        settings = settings_from(config=(seed / "mwaadeps.toml") if seed.is_dir() else seed)
    if install:
        installer, why = docker_installer(
            settings.airflow_version if settings else None,
            settings.runner_image if settings else None,
        )
    with ui.reporter(quiet=as_json) as rep:
        box = Sandbox(
            host,
            port,
            update_polls=update_polls,
            installer=installer,
            log=rep.log if verbose else None,
        )
        box.start()
        try:
            seeded = box.seed(seed, rep) if seed is not None else []
        except BaseException:
            box.stop()
            raise
    region = seeded[0].region if seeded else "us-east-1"
    variables = box.env_vars(region)
    if env_file is not None:
        env_file.write_text("".join(f"export {k}={v}\n" for k, v in variables.items()))
    if as_json:
        ui.print_json(
            {
                "ok": True,
                "endpoint": box.url,
                "env": variables,
                "installer": why if installer else None,
                "environments": [
                    {
                        "key": s.key,
                        "name": s.name,
                        "region": s.region,
                        "bucket": s.bucket,
                        "kms_key_arn": s.kms_key_arn,
                        "kms_alias": s.kms_alias,
                        "status": s.status,
                    }
                    for s in seeded
                ],
            }
        )
    else:
        ui.success(f"Sandbox on {box.url} (S3, KMS, STS, CloudWatch Logs, MWAA)")
        ui.info("Point mwaadeps, the AWS CLI or boto3 at it with:")
        for key, value in variables.items():
            ui.info(f"  export {key}={value}")
        for s in seeded:
            ui.info(
                f"Environment [{s.key}] {s.name} ({s.region}): {s.status}; bucket "
                f"{s.bucket}; KMS key {s.kms_alias or s.kms_key_arn}"
            )
        ui.info(f"Real installs: {'yes, ' + why if installer else 'no (' + why + ')'}.")
        ui.info(
            f"Faults: curl -X POST {box.url}/_sandbox/faults -d "
            '\'{"fail_next_update": {"message": "boom"}}\'  (Ctrl-C stops)'
        )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with contextlib.suppress(KeyboardInterrupt):
        box.serve_forever(stop)
    if not as_json:
        ui.info("Sandbox stopped.")


def register(app: typer.Typer) -> None:
    """Add this module's commands to the app."""
    for command in (deploy, rollback, promote, status, diff, logs, history, sandbox):
        app.command()(command)
