"""discover: what a live environment has installed, vs mwaadeps' prediction."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from mwaadeps.cli.options import ConfigOpt, EnvOpt, JsonOpt, set_json, settings_from

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
PollOpt = Annotated[
    float | None,
    typer.Option(
        "--poll-interval", help="Seconds between polls (default 10; MWAADEPS_POLL_INTERVAL)."
    ),
]


def _poll_interval(settings: Any, poll: float | None) -> float:
    from mwaadeps.errors import ConfigError

    if poll is not None:
        return max(poll, 0.0)
    raw = settings.env.get("MWAADEPS_POLL_INTERVAL")
    try:
        return max(float(raw), 0.0) if raw else 10.0
    except ValueError:
        raise ConfigError(
            f"MWAADEPS_POLL_INTERVAL must be a number of seconds, not {raw!r}.",
            hint="e.g. export MWAADEPS_POLL_INTERVAL=5",
        ) from None


def _render(report: Any) -> None:
    from mwaadeps import ui

    ui.info(
        f"{report.environment} runs Airflow {report.airflow_version} on Python "
        f"{report.python_version}: {len(report.packages)} packages, {len(report.base)} of "
        "them MWAA's base install."
    )
    for comparison in (report.prediction, report.bundle, report.override):
        if comparison is None:
            continue
        if comparison.differences:
            ui.table(
                f"Live vs {comparison.source}",
                ["package", "difference", "expected", "live"],
                [
                    (d.name, d.kind, d.expected or "-", d.live or "-")
                    for d in comparison.differences
                ],
            )
        else:
            ui.success(f"Live matches {comparison.source} ({comparison.compared} packages).")
    for note in report.notes:
        ui.info(note)
    if report.written:
        ui.success("Wrote " + " and ".join(str(p) for p in report.written) + ".")
    elif report.override is not None and report.override.differences:
        ui.info(
            f"Run `mwaadeps discover --env {report.key} --write` to update the override, "
            "then lock and build again."
        )
    elif report.override is None and report.prediction and report.prediction.differences:
        ui.info(
            f"Run `mwaadeps discover --env {report.key} --write` to lock against what "
            f"{report.environment} really has (lock/build/check --env {report.key})."
        )


def discover(
    env: EnvOpt,
    write: WriteOpt = False,
    timeout: DiscoverTimeoutOpt = 900.0,
    poll_interval: PollOpt = None,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Run a short-lived DAG on the environment to list what it has installed; compare it
    with mwaadeps' prediction of MWAA's base install and with the deployed bundle."""
    from mwaadeps import ui
    from mwaadeps.deploy import discover as core

    set_json(as_json)
    settings = settings_from(config=config)
    options = core.DiscoverOptions(
        poll_interval=_poll_interval(settings, poll_interval), timeout=timeout
    )
    with ui.reporter(quiet=as_json) as rep:
        report = core.discover(settings, env, options, rep)
    if write:
        report = core.write_override(settings, report)
    if as_json:
        ui.print_json(report.as_json())
        return
    _render(report)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the app."""
    app.command("discover")(discover)
