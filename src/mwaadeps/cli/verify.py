"""verify: do the DAGs load on the environment (and does a smoke DAG run)?"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from mwaadeps.cli.options import (
    ConfigOpt,
    EnvOpt,
    JsonOpt,
    PollOpt,
    resolve_poll_interval,
    set_json,
    settings_from,
)
from mwaadeps.errors import ConfigError, MwaadepsError

TriggerOpt = Annotated[
    str | None,
    typer.Option(
        "--trigger",
        help="Also run this DAG once and wait for success (unpaused for the run, then "
        "paused again).",
    ),
]
VerifyTimeoutOpt = Annotated[
    float,
    typer.Option(
        "--timeout",
        help="Seconds each wait (the DAG processor, then the run) may take; then exit 75.",
    ),
]


def verify(
    env: EnvOpt,
    trigger: TriggerOpt = None,
    timeout: VerifyTimeoutOpt = 600.0,
    poll: PollOpt = None,
    record: Annotated[
        bool,
        typer.Option(
            "--record/--no-record",
            help="Write the verdict on the deployment record of what runs (default: yes).",
        ),
    ] = True,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Check through MWAA's InvokeRestApi that Airflow loaded every DAG without import errors
    (and, with --trigger, that a DAG runs)."""
    from mwaadeps import ui
    from mwaadeps.cli import render
    from mwaadeps.cli.deploy import signals, stopped
    from mwaadeps.deploy import verify as core
    from mwaadeps.deploy.models import Interrupted

    set_json(as_json)
    settings = settings_from(config=config)
    target = settings.environment(env)
    options = core.VerifyOptions(
        trigger=trigger,
        timeout=timeout,
        poll_interval=resolve_poll_interval(settings, poll),
        record=record,
        expected=core.local_dag_files(settings.dags),
    )
    try:
        with signals(), ui.reporter(quiet=as_json) as rep:
            report = core.verify(target, options, rep)
    except MwaadepsError as exc:
        if as_json:
            raise typer.Exit(render.verify_failure(exc, target.name)) from None
        raise
    except Interrupted as exc:  # a DAG unpaused for --trigger was paused again
        raise stopped(
            exc.signum,
            f"while verifying {target.name}: no verdict (a DAG unpaused for the smoke run "
            "was paused again; a warning above says if it could not be).",
            f"Run mwaadeps verify --env {target.key} again.",
        ) from None
    raise typer.Exit(render.verify(report, as_json))


def register(app: typer.Typer) -> None:
    """Add this module's commands to the app."""
    app.command()(verify)


def deploy_checks(
    verify: bool,
    trigger: str | None,
    wait: bool,
    deploy_options: Any,
    dags: Path | None = None,
) -> Any:
    """The VerifyOptions of `deploy --verify [--trigger]` (None without --verify); ``dags``
    is the project's dags folder (its DAG files are expected on the environment)."""
    from mwaadeps.deploy.verify import VerifyOptions, local_dag_files

    if not verify:
        if trigger is not None:
            raise ConfigError(
                "--trigger needs --verify.", hint="mwaadeps deploy --verify --trigger DAG_ID"
            )
        return None
    if not wait:
        raise ConfigError(
            "--verify needs --wait: the DAGs can be checked only once the update has ended.",
            hint="Drop --no-wait, or run mwaadeps verify once the update has ended.",
        )
    return VerifyOptions(
        trigger=trigger,
        timeout=deploy_options.timeout,
        poll_interval=deploy_options.poll_interval,
        expected=local_dag_files(dags),
    )
