"""upgrade command: the preflight of a move to another MWAA version (and --write)."""

from __future__ import annotations

from typing import Annotated

import typer

from mwaadeps.cli import options as cli


def upgrade_command(
    to: Annotated[str, typer.Option("--to", help="The MWAA Airflow version to move to.")],
    requirements: cli.RequirementsOpt = None,
    airflow_version: Annotated[
        str | None,
        typer.Option("--airflow-version", "-a", help="The current version (default: config)."),
    ] = None,
    constraints: Annotated[
        str | None,
        typer.Option("--constraints", help="The current version's constraints: file or URL."),
    ] = None,
    constraints_to: Annotated[
        str | None,
        typer.Option("--constraints-to", help="The new version's constraints: file or URL."),
    ] = None,
    python_to: Annotated[
        str | None,
        typer.Option("--python-to", help="The new version's Python (only for unknown versions)."),
    ] = None,
    show_all: Annotated[
        bool,
        typer.Option("--all", help="List every change, also in what MWAA's image provides."),
    ] = False,
    write: Annotated[
        bool,
        typer.Option("--write", help="Fix requirements.txt and move mwaadeps.toml to the version."),
    ] = False,
    json_out: cli.JsonOpt = False,
    config: cli.ConfigOpt = None,
) -> None:
    """Preview what requirements.txt becomes on another MWAA version (exit 1 when blocked)."""
    from mwaadeps import ui
    from mwaadeps.build.upgrade import plan_upgrade, write_refusal, write_upgrade
    from mwaadeps.cli import render

    cli.set_json(json_out)
    settings = cli.settings_from(
        requirements=requirements,
        airflow_version=airflow_version,
        constraints=constraints,
        config=config,
    )
    with ui.reporter(quiet=json_out) as rep:
        report = plan_upgrade(
            settings, to, to_python=python_to, to_constraints=constraints_to, reporter=rep
        )
    refusal = write_refusal(report) if write else None
    written = (
        write_upgrade(settings, report, to_constraints=constraints_to)
        if (write and refusal is None)
        else None
    )
    raise typer.Exit(
        render.upgrade(report, written, refusal, write=write, show_all=show_all, as_json=json_out)
    )


def register(app: typer.Typer) -> None:
    """Add the upgrade command to the app."""
    app.command("upgrade")(upgrade_command)
