"""verify: do the DAGs load on the environment (and does a smoke DAG run)?"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from mwaadeps.cli.options import ConfigOpt, JsonOpt, set_json, settings_from
from mwaadeps.errors import ConfigError, MwaadepsError, VerifyFailed

EnvOpt = Annotated[str, typer.Option("--env", "-e", help="Environment key ([environments.KEY]).")]
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
PollOpt = Annotated[
    float | None,
    typer.Option(
        "--poll-interval", help="Seconds between polls (default 15; MWAADEPS_POLL_INTERVAL)."
    ),
]


def poll_interval(settings: Any, value: float | None) -> float:
    """--poll-interval, else MWAADEPS_POLL_INTERVAL, else 15 s."""
    if value is None:
        raw = settings.env.get("MWAADEPS_POLL_INTERVAL")
        try:
            value = float(raw) if raw else 15.0
        except ValueError:
            raise ConfigError(
                f"MWAADEPS_POLL_INTERVAL must be a number of seconds, not {raw!r}.",
                hint="e.g. export MWAADEPS_POLL_INTERVAL=5",
            ) from None
    return max(value, 0.0)


def render(report: Any) -> None:
    """The DAGs, import errors, unparsed files and the run of a VerifyReport."""
    from mwaadeps import ui

    ui.info(
        f"{report.environment} (Airflow {report.airflow_version or '?'}): {report.status}; "
        f"{len(report.files)} DAG file(s) in {report.dags_at}"
    )
    if report.dags:
        ui.table(
            f"DAGs on {report.environment}",
            ["dag_id", "paused", "file"],
            [[d.dag_id, "yes" if d.paused else "no", d.file] for d in report.dags],
        )
    if report.import_errors:
        ui.table(
            "Import errors",
            ["file", "trace starts", "error"],
            [[p.file, p.first_line, p.last_line] for p in report.import_errors],
        )
    for name in report.unparsed:
        ui.warn(f"Not parsed yet: {name}")
    if report.run is not None:
        run = report.run
        note = " (unpaused for the run, paused again)" if run.unpaused else ""
        ui.info(f"Run {run.run_id} of {run.dag_id}: {run.state}{note}")
    if report.record_id is not None:
        ui.info(f"Recorded on deployment {report.record_id}.")


def blank(environment: str) -> dict[str, Any]:
    """The report's JSON keys with nothing found (a --json failure before any verdict)."""
    from mwaadeps.deploy.verify import VerifyReport

    shape = VerifyReport(environment, "", "failed", "").as_json()
    return {**shape, "status": None, "verdict": None, "reason": None}


def finish(report: Any, as_json: bool) -> None:
    """Print a VerifyReport; exit 1 (failed) or 75 (a wait timed out) unless it passed."""
    from mwaadeps import ui

    if as_json:
        ui.print_json(report.as_json())
        if not report.ok:
            raise typer.Exit(report.exit_code)
        return
    render(report)
    if report.verdict == "failed":
        raise VerifyFailed(report.reason, hint=report.hint)
    if report.verdict == "timeout":
        ui.warn(report.reason)
        ui.info(f"  {report.hint}")
        raise typer.Exit(report.exit_code)
    ui.success(f"{report.environment} verified: {report.reason}")


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
    from mwaadeps.deploy import verify as core

    set_json(as_json)
    settings = settings_from(config=config)
    target = settings.environment(env)
    options = core.VerifyOptions(
        trigger=trigger,
        timeout=timeout,
        poll_interval=poll_interval(settings, poll),
        record=record,
    )
    try:
        with ui.reporter(quiet=as_json) as rep:
            report = core.verify(target, options, rep)
    except MwaadepsError as exc:
        if as_json:
            ui.json_error(exc, **blank(target.name))
            raise typer.Exit(exc.exit_code) from None
        raise
    finish(report, as_json)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the app."""
    app.command()(verify)


def deploy_checks(verify: bool, trigger: str | None, wait: bool, deploy_options: Any) -> Any:
    """The VerifyOptions of `deploy --verify [--trigger]` (None without --verify)."""
    from mwaadeps.deploy.verify import VerifyOptions

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
    )
