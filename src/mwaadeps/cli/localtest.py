"""test-local / runner build commands."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer

from mwaadeps import ui
from mwaadeps.cli import options as cli
from mwaadeps.cli import render

runner_app = typer.Typer(
    name="runner",
    help="The MWAA-like runner image test-local uses.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread so the run's cleanup (a finally) removes the container."""


@contextmanager
def _sigterm_interrupts() -> Iterator[None]:
    """While inside, SIGTERM raises Terminated (once: a second one waits for the cleanup)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        raise Terminated

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _labels(values: list[str] | None) -> dict[str, str]:
    """--label KEY=VALUE options as a dict."""
    from mwaadeps.errors import ConfigError

    out: dict[str, str] = {}
    for value in values or []:
        key, sep, val = value.partition("=")
        if not sep or not key.strip():
            raise ConfigError(
                f"--label {value!r} is not KEY=VALUE.", hint="Pass e.g. --label ci-job=1234."
            )
        out[key.strip()] = val
    return out


def _essential_text(settings: object, bundle: object) -> str | None:
    """MWAA's essential pins: from the bundle, else from the configured constraints."""
    from mwaadeps.build.constraints import load_constraints
    from mwaadeps.config import Settings
    from mwaadeps.errors import MwaadepsError
    from mwaadeps.localtest.run import Bundle, essential_constraints_for

    assert isinstance(settings, Settings) and isinstance(bundle, Bundle)
    text = essential_constraints_for(bundle, settings.python_version)
    if text is None and settings.airflow_version:
        try:
            text = load_constraints(settings).essential_text()
        except MwaadepsError as exc:
            ui.warn(f"No essential constraints: {exc.message}")
    return text


def local_test_command(
    dist: cli.DistOpt = None,
    dags: Annotated[
        Path | None, typer.Option("--dags", help="DAGs folder to import (default: ./dags).")
    ] = None,
    image: Annotated[str | None, typer.Option("--image", help="Runner image to use.")] = None,
    network: Annotated[
        bool, typer.Option("--network", help="Give the container a network (default: none).")
    ] = False,
    startup_timeout: Annotated[
        int,
        typer.Option(
            "--startup-timeout",
            min=1,
            help="Seconds before the startup script is killed (MWAA: 300).",
        ),
    ] = 300,
    pip_timeout: Annotated[
        int,
        typer.Option("--pip-timeout", min=1, help="Seconds before pip is killed (MWAA: 540)."),
    ] = 540,
    verbose: Annotated[
        bool,
        typer.Option(
            "--verbose", "-v", help="Show every pip line ('already satisfied' ones included)."
        ),
    ] = False,
    label: Annotated[
        list[str] | None,
        typer.Option(
            "--label", metavar="KEY=VALUE", help="A label for the container (repeatable)."
        ),
    ] = None,
    allow_stale: cli.AllowStaleOpt = False,
    airflow_version: cli.AirflowOpt = None,
    json_out: cli.JsonOpt = False,
    config: cli.ConfigOpt = None,
) -> None:
    """Install the bundle in an MWAA-like container as MWAA does, and check the result."""
    from mwaadeps.build.dist import check_fresh
    from mwaadeps.localtest.docker import docker_client, pick_image
    from mwaadeps.localtest.run import LocalTestReport, bundle_target, read_bundle, run_bundle

    cli.set_json(json_out)
    labels = _labels(label)
    settings = cli.settings_from(
        airflow_version=airflow_version, out=dist, dags=dags, config=config
    )
    check_fresh(settings, settings.out_dir, allow_stale=allow_stale)
    bundle = read_bundle(settings.out_dir)
    version = settings.airflow_version or bundle.airflow_version
    client = docker_client()
    tag = pick_image(client, version, explicit=image, configured=settings.runner_image)
    essential = _essential_text(settings, bundle)
    target = bundle_target(bundle, settings.airflow_version, settings.python_version)
    report: LocalTestReport
    try:
        with _sigterm_interrupts(), ui.reporter(quiet=json_out) as rep:
            report = run_bundle(
                settings.out_dir,
                image=tag,
                dags=settings.dags,
                network=network,
                reporter=rep,
                essential_constraints=essential,
                client=client,
                startup_timeout=startup_timeout,
                pip_timeout=pip_timeout,
                labels=labels,
                target=target,
                verbose=verbose,
            )
    except Terminated:
        raise typer.Exit(render.local_test_terminated(json_out)) from None
    raise typer.Exit(render.local_test(report, tag, settings.out_dir, json_out))


@runner_app.command("build")
def runner_build(
    airflow_version: cli.AirflowOpt = None,
    python_version: cli.PythonOpt = None,
    constraints: cli.ConstraintsOpt = None,
    base_image: Annotated[
        str | None,
        typer.Option("--base-image", help="Base image with the target's Python and pip."),
    ] = None,
    tag: Annotated[
        str | None, typer.Option("--tag", help="Image tag (default mwaadeps-runner:<airflow>).")
    ] = None,
    json_out: cli.JsonOpt = False,
    config: cli.ConfigOpt = None,
) -> None:
    """Build the MWAA-like runner image for an Airflow version (no network in the build)."""
    from mwaadeps.localtest.image import build_runner_image

    cli.set_json(json_out)
    settings = cli.settings_from(
        airflow_version=airflow_version,
        python_version=python_version,
        constraints=constraints,
        config=config,
    )
    with ui.reporter(quiet=json_out) as rep:
        image = build_runner_image(settings, base_image=base_image, tag=tag, reporter=rep)
    raise typer.Exit(render.runner_image(image, json_out))


def register(app: typer.Typer) -> None:
    """Add test-local and the runner sub-app to the app."""
    app.command("test-local")(local_test_command)
    app.add_typer(runner_app, name="runner")
