"""The command line: options -> Settings -> a core function -> ui renders. Nothing else."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from . import __version__
from .errors import MwaadepsError

app = typer.Typer(
    name="mwaadeps",
    help="Lock, bundle, test and deploy Python dependencies for Amazon MWAA.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

_STATE: dict[str, Any] = {"debug": False, "json": False}

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
ConfigOpt = Annotated[
    Path | None, typer.Option("--config", help="mwaadeps.toml to use (default: ./mwaadeps.toml).")
]


def settings_from(**cli: Any) -> Any:
    """The one place CLI values meet the config file and environment."""
    from .config import load_settings
    from .ui import set_secrets

    config = cli.pop("config", None)
    settings = load_settings(cli, config_path=config)
    set_secrets(settings.secrets())
    return settings


def set_json(value: bool) -> None:
    _STATE["json"] = value


@app.callback()
def _root(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
    version: Annotated[bool, typer.Option("--version", help="Print the version.")] = False,
) -> None:
    if version:
        typer.echo(f"mwaadeps {__version__}")
        raise typer.Exit(0)
    _STATE["debug"] = debug or os.environ.get("MWAADEPS_DEBUG") == "1"


def _register_commands() -> None:
    from . import cli_bundle

    cli_bundle.register(app)
    for name in ("cli_localtest", "cli_deploy", "cli_upgrade"):
        try:
            module = __import__(f"mwaadeps.{name}", fromlist=["register"])
        except ModuleNotFoundError as exc:
            if exc.name != f"mwaadeps.{name}":
                raise
            continue
        module.register(app)


_register_commands()


def _is_usage_error(exc: BaseException) -> bool:
    """A bad option or argument: click's ClickException, whichever copy typer uses."""
    return any(cls.__name__ == "ClickException" for cls in type(exc).__mro__)


def main(argv: list[str] | None = None) -> None:
    """Entry point: the one boundary that turns errors into messages and exit codes."""
    from . import ui

    try:
        result = app(args=argv, standalone_mode=False)
    except MwaadepsError as exc:
        if _STATE["debug"]:
            import traceback

            traceback.print_exc()
        if _STATE["json"]:
            ui.print_json(
                {"ok": False, "error": {"code": exc.code, "message": exc.message, "hint": exc.hint}}
            )
        else:
            ui.error(exc)
        sys.exit(exc.exit_code)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        ui.err_console.print("Aborted.")
        sys.exit(130)
    except KeyboardInterrupt:
        ui.err_console.print("Interrupted.")
        sys.exit(130)
    except Exception as exc:  # usage errors (click's, or typer's own copy) and the unexpected
        if _is_usage_error(exc):
            exc.show()  # type: ignore[attr-defined]
            sys.exit(int(getattr(exc, "exit_code", 2)))
        if _STATE["debug"]:
            raise
        ui.err_console.print(
            f"[red]internal error:[/red] {type(exc).__name__}: {exc}\n"
            "  This is a bug in mwaadeps; rerun with --debug and report it."
        )
        sys.exit(70)
    sys.exit(result if isinstance(result, int) else 0)


if __name__ == "__main__":  # pragma: no cover
    main()
