"""The command line: options -> Settings -> a core function -> ui renders. Nothing else."""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from mwaadeps import __version__
from mwaadeps.cli.options import STATE as _STATE
from mwaadeps.errors import Interrupted, MwaadepsError

app = typer.Typer(
    name="mwaadeps",
    help="Lock, bundle, test and deploy Python dependencies for Amazon MWAA.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"mwaadeps {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    debug: Annotated[
        bool, typer.Option("--debug", help="Show tracebacks on errors (also after a command).")
    ] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version", help="Print the version.", is_eager=True, callback=_print_version
        ),
    ] = False,
) -> None:
    """Lock, bundle, test and deploy Python dependencies for Amazon MWAA."""
    _STATE["debug"] = _STATE["debug"] or debug or os.environ.get("MWAADEPS_DEBUG") == "1"


def _register_commands() -> None:
    from mwaadeps.cli import audit, bundle, deploy, discover, init, localtest, upgrade, verify

    for module in (init, bundle, localtest, deploy, verify, upgrade, audit, discover):
        module.register(app)


_register_commands()


def _is_usage_error(exc: BaseException) -> bool:
    """A bad option or argument: click's ClickException, whichever copy typer uses."""
    return any(cls.__name__ == "ClickException" for cls in type(exc).__mro__)


def _is_abort(exc: BaseException) -> bool:
    """click's Abort (Ctrl-C or a declined prompt), whichever copy typer uses."""
    return any(cls.__name__ == "Abort" for cls in type(exc).__mro__)


def _prescan(argv: list[str]) -> tuple[list[str], bool, bool]:
    """(argv without --debug, debug, json): both flags count wherever they are, before `--`.

    A usage error happens before any command runs, so --json must be known from argv.
    """
    end = argv.index("--") if "--" in argv else len(argv)
    head, tail = argv[:end], argv[end:]
    debug = "--debug" in head
    json_mode = "--json" in head
    head = [a for a in head if a != "--debug"]
    # `mwaadeps --json build`: the commands own --json, so it moves after the command.
    command = next((i for i, a in enumerate(head) if not a.startswith("-")), None)
    if command is not None and "--json" in head[:command]:
        head = [a for a in head[:command] if a != "--json"] + head[command:] + ["--json"]
    return head + tail, debug, json_mode


def _open_file_name(exc: BaseException) -> str | None:
    """The file an OSError without a filename was writing: an open file in its traceback."""
    import io

    tb = exc.__traceback__
    frames = []
    while tb is not None:
        frames.append(tb.tb_frame)
        tb = tb.tb_next
    for frame in reversed(frames):
        for value in frame.f_locals.values():
            name = getattr(value, "name", None)
            if isinstance(value, io.IOBase) and isinstance(name, str):
                return name
    return None


def _as_error(exc: BaseException, args: list[str]) -> MwaadepsError:
    """Any exception that reached the boundary, as one of ours."""
    from mwaadeps.errors import InternalError, UsageError, from_os_error

    if isinstance(exc, MwaadepsError):
        cause = exc.__context__  # kept by `raise ... from None`
        if exc.hint is None and isinstance(cause, OSError):
            mapped = from_os_error(cause)  # e.g. a BundleError over EACCES: say what to do
            exc.hint = mapped.hint if mapped is not None else None
        return exc
    if isinstance(exc, KeyboardInterrupt) or _is_abort(exc):
        return Interrupted("Interrupted.", hint=None)
    if _is_usage_error(exc):
        ctx = getattr(exc, "ctx", None)
        words = [a for a in args[:2] if not a.startswith("-")][:1]
        where = ctx.command_path if ctx is not None else " ".join(["mwaadeps", *words])
        message = exc.format_message()  # type: ignore[attr-defined]
        return UsageError(message, hint=f"Run `{where} --help` for the options.")
    if isinstance(exc, OSError):
        mapped = from_os_error(exc, None if exc.filename else _open_file_name(exc))
        if mapped is not None:
            return mapped
    return InternalError(
        f"Internal error: {type(exc).__name__}: {exc}",
        hint="This is a bug in mwaadeps; rerun with --debug and report it.",
    )


def main(argv: list[str] | None = None) -> None:
    """Entry point: the one boundary that turns errors into messages and exit codes."""
    from mwaadeps import ui

    args, debug, json_mode = _prescan(list(sys.argv[1:] if argv is None else argv))
    _STATE["debug"] = debug or os.environ.get("MWAADEPS_DEBUG") == "1"
    _STATE["json"] = json_mode
    try:
        result = app(args=args, prog_name="mwaadeps", standalone_mode=False)
        if result == Interrupted.exit_code:  # typer turns Ctrl-C into exit code 130
            raise KeyboardInterrupt
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except (Exception, KeyboardInterrupt) as exc:
        err = _as_error(exc, args)
        if _STATE["debug"]:
            import traceback

            traceback.print_exception(exc)
        if _STATE["json"] or json_mode:
            ui.json_error(err)
        elif _is_usage_error(exc):
            exc.show()  # type: ignore[union-attr]  # click's usage text, then the error
        elif err.code == "interrupted":
            ui.err_console.print("Interrupted.")
        else:
            ui.error(err)
        code = getattr(exc, "exit_code", None) if _is_usage_error(exc) else None
        sys.exit(code if isinstance(code, int) else err.exit_code)
    sys.exit(result if isinstance(result, int) else 0)


if __name__ == "__main__":  # pragma: no cover
    main()
