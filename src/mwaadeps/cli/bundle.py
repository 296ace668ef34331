"""check / fix / lock / build commands."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from mwaadeps.cli.options import (
    AirflowOpt,
    ConfigOpt,
    ConstraintsOpt,
    JsonOpt,
    ModeOpt,
    PythonOpt,
    RequirementsOpt,
    ResolverOpt,
    set_json,
    settings_from,
)

PluginsOpt = Annotated[Path | None, typer.Option("--plugins", help="Plugins folder to bundle.")]
StartupOpt = Annotated[
    Path | None, typer.Option("--startup-script", help="MWAA startup script to ship.")
]


FixOpt = Annotated[
    bool, typer.Option("--fix", help="Rewrite the file first (as `mwaadeps fix`), then check.")
]
BaseEnvOpt = Annotated[
    str | None,
    typer.Option(
        "--env",
        "-e",
        help="Use this environment's discovered base install (mwaadeps discover --write) "
        "instead of the prediction; also [build] env.",
    ),
]
DryRunOpt = Annotated[
    bool, typer.Option("--dry-run", help="Print the diff, change nothing (exit 0).")
]


def _requirements_settings(**cli: Any) -> Any:
    from mwaadeps.errors import RequirementsError

    settings = settings_from(**cli)
    settings.target  # an unknown target is the first thing to say  # noqa: B018
    if not settings.requirements.is_file():
        raise RequirementsError(
            f"Requirements file {settings.requirements} does not exist.",
            hint="Pass --requirements or set it in mwaadeps.toml.",
        )
    return settings


def _sdist_outlook(settings: Any) -> list[Any]:
    """What the lock (when there is one for the target) says of sdist-only packages."""
    from mwaadeps.build import lockfile
    from mwaadeps.build.sdist import sdist_outlook

    if not settings.lock_file.is_file():
        return []
    try:
        lock = lockfile.read(settings.lock_file)
    except Exception:  # a stale or foreign lock: `lock`/`build` say what is wrong with it
        return []
    return sdist_outlook(lock, settings.target, settings.cache_dir, dict(settings.env))


def check(
    requirements: RequirementsOpt = None,
    airflow_version: AirflowOpt = None,
    python_version: PythonOpt = None,
    constraints: ConstraintsOpt = None,
    mode: ModeOpt = None,
    fix: FixOpt = False,
    env: BaseEnvOpt = None,
    json_out: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Lint requirements.txt for MWAA without resolving (exit 1 on errors)."""
    from mwaadeps import ui
    from mwaadeps.build.base import base_override
    from mwaadeps.build.lock import load_target_constraints
    from mwaadeps.cli import render
    from mwaadeps.requirements.parser import parse_requirements
    from mwaadeps.requirements.rules import check_requirements

    set_json(json_out)
    settings = _requirements_settings(
        requirements=requirements,
        airflow_version=airflow_version,
        python_version=python_version,
        constraints=constraints,
        mode=mode,
        base_env=env,
        config=config,
    )
    target = settings.target
    override = base_override(settings)  # a file for another target is refused here too
    with ui.reporter(quiet=json_out) as rep:
        loaded = load_target_constraints(settings, rep)
    fixed = None
    if fix:
        from mwaadeps.requirements.fix import apply_fix, plan_fix

        fixed = plan_fix(settings.requirements, target, loaded)
        apply_fix(fixed)
        if not json_out:
            render.fix_diff(fixed, dry_run=False)
    report = check_requirements(
        parse_requirements(settings.requirements), target, loaded, mode=settings.mode
    )
    raise typer.Exit(
        render.check(
            report,
            _sdist_outlook(settings),
            fixed,
            json_out,
            override.source() if override else None,
        )
    )


def fix_cmd(
    requirements: RequirementsOpt = None,
    airflow_version: AirflowOpt = None,
    python_version: PythonOpt = None,
    constraints: ConstraintsOpt = None,
    dry_run: DryRunOpt = False,
    json_out: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Rewrite requirements.txt in place for the target (diff first; exit 1 if errors remain)."""
    from mwaadeps import ui
    from mwaadeps.build.lock import load_target_constraints
    from mwaadeps.cli import render
    from mwaadeps.requirements.fix import apply_fix, plan_fix

    set_json(json_out)
    settings = _requirements_settings(
        requirements=requirements,
        airflow_version=airflow_version,
        python_version=python_version,
        constraints=constraints,
        config=config,
    )
    target = settings.target
    with ui.reporter(quiet=json_out) as rep:
        loaded = load_target_constraints(settings, rep)
    result = plan_fix(settings.requirements, target, loaded)
    if not dry_run:
        apply_fix(result)
    raise typer.Exit(render.fix(result, settings.requirements, target, dry_run, json_out))


def lock_cmd(
    requirements: RequirementsOpt = None,
    airflow_version: AirflowOpt = None,
    python_version: PythonOpt = None,
    constraints: ConstraintsOpt = None,
    resolver: ResolverOpt = None,
    env: BaseEnvOpt = None,
    json_out: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Resolve requirements with MWAA's base install for the target into mwaadeps.lock."""
    from mwaadeps import ui
    from mwaadeps.build.lock import lock
    from mwaadeps.cli import render

    set_json(json_out)
    settings = settings_from(
        requirements=requirements,
        airflow_version=airflow_version,
        python_version=python_version,
        constraints=constraints,
        resolver=resolver,
        base_env=env,
        config=config,
    )
    with ui.reporter(quiet=json_out) as rep:
        result = lock(settings, rep, force=True)
    raise typer.Exit(render.lock(result, json_out))


def build_cmd(
    requirements: RequirementsOpt = None,
    airflow_version: AirflowOpt = None,
    python_version: PythonOpt = None,
    constraints: ConstraintsOpt = None,
    resolver: ResolverOpt = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Output folder (dist).")] = None,
    full: Annotated[
        bool | None, typer.Option("--full/--minimal", help="Bundle every locked package.")
    ] = None,
    mode: ModeOpt = None,
    plugins: PluginsOpt = None,
    startup_script: StartupOpt = None,
    audit: Annotated[
        bool, typer.Option("--audit", help="Refuse to build with known vulnerabilities.")
    ] = False,
    env: BaseEnvOpt = None,
    json_out: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Lock when stale, fetch target wheels and write dist/ (plugins.zip, requirements.txt)."""
    from mwaadeps import ui
    from mwaadeps.build.pipeline import build
    from mwaadeps.cli import render

    set_json(json_out)
    settings = settings_from(
        requirements=requirements,
        airflow_version=airflow_version,
        python_version=python_version,
        constraints=constraints,
        resolver=resolver,
        out=out,
        full=full,
        mode=mode,
        plugins=plugins,
        startup_script=startup_script,
        base_env=env,
        config=config,
    )
    with ui.reporter(quiet=json_out) as rep:
        result = build(settings, rep, audit=audit)
    raise typer.Exit(render.build(result, settings.out_dir, json_out))


def register(app: typer.Typer) -> None:
    """Add this module's commands to the app."""
    app.command("check")(check)
    app.command("fix")(fix_cmd)
    app.command("lock")(lock_cmd)
    app.command("build")(build_cmd)
