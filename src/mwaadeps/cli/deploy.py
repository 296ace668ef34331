"""deploy / status / diff / rollback / logs / history / promote / sandbox commands."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any

import typer

from mwaadeps import errors
from mwaadeps.cli.options import (
    AllowStaleOpt,
    ConfigOpt,
    DistOpt,
    EnvOpt,
    JsonOpt,
    PollOpt,
    WorkerOpt,
    resolve_poll_interval,
    set_json,
    settings_from,
)
from mwaadeps.errors import MwaadepsError

WaitOpt = Annotated[
    bool,
    typer.Option(
        "--wait/--no-wait",
        help="Poll until the update ends (default: wait, also in CI and pipes).",
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

    return DeployOptions(
        dry_run=dry_run,
        wait=wait,
        worker_replacement=resolve_worker_replacement(worker, config),
        poll_interval=resolve_poll_interval(settings, poll),
        timeout=timeout,
        force=force,
        break_lock=break_lock,
    )


@contextlib.contextmanager
def signals() -> Iterator[None]:
    """SIGINT and SIGTERM raise deploy.Interrupted, so the core can record a started update
    as pending and abort a multipart upload (discover: remove what it uploaded; verify: pause
    a DAG it unpaused) instead of dying mid-way."""
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


def stopped(signum: int, message: str, hint: str | None) -> errors.Interrupted:
    """The error of a command a signal stopped (after its core cleaned up): exit 128+signal."""
    import signal

    err = errors.Interrupted(f"Interrupted ({signal.Signals(signum).name}) {message}", hint=hint)
    err.exit_code = 128 + signum
    return err


def _run_and_finish(call: Callable[[Any], Any], environment: str, as_json: bool) -> None:
    """Run a deploy-like core call with a reporter; render its result or its JSON failure."""
    from mwaadeps import ui
    from mwaadeps.cli import render
    from mwaadeps.deploy.models import Interrupted

    try:
        with signals(), ui.reporter(quiet=as_json) as rep:
            result = call(rep)
    except MwaadepsError as exc:
        if as_json:
            raise typer.Exit(render.deploy_failure(exc, environment)) from None
        raise
    except Interrupted as exc:  # before UpdateEnvironment: nothing changed on the environment
        import signal

        render.interrupted_before_update(signal.Signals(exc.signum).name, environment)
        raise typer.Exit(128 + exc.signum) from None
    raise typer.Exit(render.deploy(result, as_json))


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

    checks = deploy_checks(verify, trigger, wait, options, settings.dags)
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
    from mwaadeps.cli import render
    from mwaadeps.deploy import inspect as deploy_inspect

    set_json(as_json)
    settings = settings_from(config=config, out=dist)
    with ui.reporter(quiet=as_json) as rep:
        report = deploy_inspect.status(settings.environment(env), settings.out_dir, rep)
    raise typer.Exit(render.status(report, as_json))


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
    from mwaadeps.cli import render
    from mwaadeps.deploy import inspect as deploy_inspect

    set_json(as_json)
    settings = settings_from(config=config, out=dist)
    if check_fresh(settings, settings.out_dir, allow_stale=allow_stale):
        ui.warn(f"--allow-stale: {settings.out_dir} is older than its inputs.")
    with ui.reporter(quiet=as_json) as rep:
        report = deploy_inspect.diff(settings.environment(env), settings.out_dir, rep)
    raise typer.Exit(render.diff(report, as_json))


def logs(
    env: EnvOpt,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
    errors_only: Annotated[bool, typer.Option("--errors", help="Only ERROR lines.")] = False,
) -> None:
    """The requirements/startup log streams of the environment's last update."""
    from mwaadeps import ui
    from mwaadeps.cli import render
    from mwaadeps.deploy import inspect as deploy_inspect

    set_json(as_json)
    settings = settings_from(config=config)
    with ui.reporter(quiet=as_json) as rep:
        report = deploy_inspect.logs(settings.environment(env), rep)
    raise typer.Exit(render.logs(report, errors_only, as_json))


def history(env: EnvOpt, as_json: JsonOpt = False, config: ConfigOpt = None) -> None:
    """The recorded deployments of an environment (ids for rollback --to)."""
    from mwaadeps import ui
    from mwaadeps.cli import render
    from mwaadeps.deploy import records as deploy_records

    set_json(as_json)
    settings = settings_from(config=config)
    with ui.reporter(quiet=as_json) as rep:
        records = deploy_records.history(settings.environment(env), reporter=rep)
    raise typer.Exit(render.history(records, as_json))


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
    from mwaadeps.cli import render
    from mwaadeps.sandbox.docker_backend import docker_backend
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
            # With Docker, InvokeRestApi answers from real Airflow in the installed image.
            backend=docker_backend(installer) if installer else None,
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
    render.sandbox_ready(box.url, variables, seeded, why if installer else None, why, as_json)
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
