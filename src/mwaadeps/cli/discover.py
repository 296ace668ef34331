"""discover: what a live environment has installed, vs mwaadeps' prediction."""

from __future__ import annotations

from typing import Annotated

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

WriteOpt = Annotated[
    bool,
    typer.Option(
        "--write",
        help="Write mwaadeps-installed-<env>.txt and set installed in [environments.<env>] "
        "(then lock/build/check --env use it).",
    ),
]
DiscoverTimeoutOpt = Annotated[
    float,
    typer.Option(
        "--timeout",
        help="Seconds for Airflow to load the discovery DAG and run it (exit 75 past them).",
    ),
]


def discover(
    env: EnvOpt,
    write: WriteOpt = False,
    timeout: DiscoverTimeoutOpt = 900.0,
    poll: PollOpt = None,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Run a short-lived DAG on the environment to list what it has installed; compare it
    with mwaadeps' prediction of MWAA's base install and with the deployed bundle."""
    from mwaadeps import ui
    from mwaadeps.cli import render
    from mwaadeps.cli.deploy import signals, stopped
    from mwaadeps.deploy import discover as core
    from mwaadeps.deploy.models import Interrupted

    set_json(as_json)
    settings = settings_from(config=config)
    options = core.DiscoverOptions(
        poll_interval=resolve_poll_interval(settings, poll, default=10.0), timeout=timeout
    )
    try:
        with signals(), ui.reporter(quiet=as_json) as rep:
            report = core.discover(settings, env, options, rep)
    except Interrupted as exc:  # the core's cleanup ran; what it could not remove, if any
        left = getattr(exc, "left_behind", ())
        said = (
            "it could not remove: " + "; ".join(left)
            if left
            else "the discovery DAG's object version, its Variable and the DAG were removed"
        )
        raise stopped(
            exc.signum,
            f"while discovering on {settings.environment(env).name}: {said}.",
            f"Run mwaadeps discover --env {env} again.",
        ) from None
    if write:
        report = core.write_override(settings, report)
    raise typer.Exit(render.discover(report, as_json))


def register(app: typer.Typer) -> None:
    """Add this module's commands to the app."""
    app.command("discover")(discover)
