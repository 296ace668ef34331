"""Options and the settings helper shared by every command module (no command imports cli)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from mwaadeps.choices import BuildMode, ResolverName, WorkerReplacement

# What the one error boundary (cli.main) needs to know about the running command.
STATE: dict[str, Any] = {"debug": False, "json": False}

# Options shared by the commands that read requirements (each None = not given).
RequirementsOpt = Annotated[
    Path | None, typer.Option("--requirements", "-r", help="requirements.txt to read.")
]
AirflowOpt = Annotated[
    str | None, typer.Option("--airflow-version", "-a", help="Target MWAA Airflow version.")
]
PythonOpt = Annotated[
    str | None,
    typer.Option("--python-version", help="Target Python (needed only for unknown versions)."),
]
ConstraintsOpt = Annotated[
    str | None,
    typer.Option("--constraints", help="Airflow constraints: a local file or URL."),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object for machines.")]
EnvOpt = Annotated[str, typer.Option("--env", "-e", help="Environment key ([environments.KEY]).")]
PollOpt = Annotated[
    float | None,
    typer.Option("--poll-interval", help="Seconds between polls (MWAADEPS_POLL_INTERVAL)."),
]
ModeOpt = Annotated[
    BuildMode | None,
    typer.Option(
        "--mode", case_sensitive=False, help="bundle (offline wheels in plugins.zip) or index."
    ),
]
ResolverOpt = Annotated[
    ResolverName | None,
    typer.Option("--resolver", case_sensitive=False, help="uv (default, any host) or pip-tools."),
]
WorkerOpt = Annotated[
    WorkerReplacement | None,
    typer.Option(
        "--worker-replacement",
        case_sensitive=False,
        help="graceful or forced (MWAA's default: forced).",
    ),
]
# Options of the commands that read a built bundle (deploy, diff, status, test-local).
DistOpt = Annotated[
    Path | None, typer.Option("--dist", help="The bundle folder (default: the build's out dir).")
]
AllowStaleOpt = Annotated[
    bool,
    typer.Option("--allow-stale", help="Use a dist/ built from inputs that changed since."),
]
ConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", help="mwaadeps.toml to use (default: the nearest one, from here up)."),
]


def settings_from(**cli: Any) -> Any:
    """The one place CLI values meet the config file and environment."""
    from mwaadeps.config import load_settings
    from mwaadeps.ui import note, set_secrets

    config = cli.pop("config", None)
    settings = load_settings(cli, config_path=config)
    set_secrets(settings.secrets())
    if settings.config_file is None:
        note(
            f"no mwaadeps.toml found in {settings.project_dir} or its parents; "
            "using defaults and options"
        )
    return settings


def set_json(value: bool) -> None:
    STATE["json"] = value


def resolve_poll_interval(settings: Any, value: float | None, default: float = 15.0) -> float:
    """--poll-interval, else MWAADEPS_POLL_INTERVAL, else ``default`` (never below 0)."""
    from mwaadeps.errors import ConfigError

    if value is None:
        raw = settings.env.get("MWAADEPS_POLL_INTERVAL")
        try:
            value = float(raw) if raw else default
        except ValueError:
            raise ConfigError(
                f"MWAADEPS_POLL_INTERVAL must be a number of seconds, not {raw!r}.",
                hint="e.g. export MWAADEPS_POLL_INTERVAL=5",
            ) from None
    return max(value, 0.0)
