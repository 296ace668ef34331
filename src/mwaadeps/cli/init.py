"""init command: write a commented mwaadeps.toml (the core is mwaadeps.scaffold)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mwaadeps.cli.options import AirflowOpt


def init(
    path: Annotated[Path, typer.Option("--path", help="File to write.")] = Path("mwaadeps.toml"),
    airflow_version: AirflowOpt = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> None:
    """Write a commented mwaadeps.toml (asks only on a terminal)."""
    from mwaadeps import ui
    from mwaadeps.scaffold import write_config

    env_name = bucket = region = None
    if ui.interactive() and airflow_version is None:
        airflow_version = typer.prompt("MWAA Airflow version", default="2.9.2")
        env_name = typer.prompt("MWAA environment name (dev)", default="my-mwaa-dev")
        bucket = typer.prompt("Source bucket", default="my-airflow-bucket")
        region = typer.prompt("Region", default="eu-west-1")
    written = write_config(
        path,
        airflow_version=airflow_version,
        environment=env_name,
        bucket=bucket,
        region=region,
        force=force,
    )
    ui.success(f"Wrote {written}. Edit it, then run `mwaadeps check`.")


def register(app: typer.Typer) -> None:
    """Add this module's command to the app."""
    app.command("init")(init)
