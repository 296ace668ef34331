"""audit command: known vulnerabilities of every locked package (exit 1 when found)."""

from __future__ import annotations

from typing import Annotated

import typer

from mwaadeps.cli import options as cli

FailOnOpt = Annotated[
    str | None,
    typer.Option(
        "--fail-on",
        help="Exit 1 for advisories of this severity or above: any (default), low, medium, "
        "high, critical. Advisories without a severity always count.",
    ),
]
IgnoreOpt = Annotated[
    list[str] | None,
    typer.Option("--ignore", help="An advisory id (or alias) to ignore; repeatable."),
]


def audit_command(
    requirements: cli.RequirementsOpt = None,
    airflow_version: cli.AirflowOpt = None,
    python_version: cli.PythonOpt = None,
    constraints: cli.ConstraintsOpt = None,
    fail_on: FailOnOpt = None,
    ignore: IgnoreOpt = None,
    index_url: Annotated[
        str | None,
        typer.Option(
            "--index-url",
            help="Read advisories from this index's JSON API (its .../simple URL); "
            "default: [index] url, else PyPI.",
        ),
    ] = None,
    json_out: cli.JsonOpt = False,
    config: cli.ConfigOpt = None,
) -> None:
    """Check every package of mwaadeps.lock (also MWAA's own) for known vulnerabilities."""
    from mwaadeps import ui
    from mwaadeps.build.audit import fail_on_for, run_audit
    from mwaadeps.build.lock import load_target_constraints
    from mwaadeps.build.lockfile import read
    from mwaadeps.cli import render
    from mwaadeps.errors import ConfigError

    cli.set_json(json_out)
    settings = cli.settings_from(
        requirements=requirements,
        airflow_version=airflow_version,
        python_version=python_version,
        constraints=constraints,
        index_url=index_url,
        config=config,
    )
    level = fail_on_for(settings, fail_on)
    if not settings.lock_file.is_file():
        raise ConfigError(
            f"No lock file {settings.lock_file}: the audit checks the locked packages.",
            hint="Run `mwaadeps lock` first (or `mwaadeps build --audit`).",
        )
    lock = read(settings.lock_file)
    target = settings.target
    if lock.target.get("airflow_version") != target.airflow_version:
        raise ConfigError(
            f"{settings.lock_file} is for MWAA {lock.target.get('airflow_version')}, not "
            f"{target.airflow_version}.",
            hint="Run `mwaadeps lock` for the target first.",
        )
    reason = "ignored with --ignore"
    with ui.reporter(quiet=json_out) as rep:
        loaded = load_target_constraints(settings, rep)
        report = run_audit(
            settings, lock, loaded, ignore=[(i, reason) for i in ignore or ()], reporter=rep
        )
    raise typer.Exit(render.audit(report, level, json_out))


def register(app: typer.Typer) -> None:
    """Add the audit command to the app."""
    app.command("audit")(audit_command)
