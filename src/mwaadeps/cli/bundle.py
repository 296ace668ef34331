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
    PythonOpt,
    RequirementsOpt,
    set_json,
    settings_from,
)

ResolverOpt = Annotated[
    str | None, typer.Option("--resolver", help="uv (default, any host) or pip-tools.")
]
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


def _problem_rows(problems: Any) -> list[tuple[str, str, str, str]]:
    return [
        (
            p.severity,
            f"{p.origin.file.name}:{p.origin.line}" if p.origin else "-",
            p.message,
            p.hint,
        )
        for p in problems
    ]


def _render_fix(result: Any, dry_run: bool) -> None:
    from mwaadeps import ui

    if not result.changed:
        ui.info("Nothing to fix.")
        return
    ui.info(result.diff().rstrip("\n"))
    files = len(result.files)
    verb = "Would change" if dry_run else "Changed"
    ui.info(f"{verb} {len(result.changes)} line(s) in {files} file(s).")


def check(
    requirements: RequirementsOpt = None,
    airflow_version: AirflowOpt = None,
    python_version: PythonOpt = None,
    constraints: ConstraintsOpt = None,
    mode: Annotated[str | None, typer.Option("--mode", help="bundle or index.")] = None,
    fix: FixOpt = False,
    env: BaseEnvOpt = None,
    json_out: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Lint requirements.txt for MWAA without resolving (exit 1 on errors)."""
    from mwaadeps import ui
    from mwaadeps.build.base import base_override
    from mwaadeps.build.lock import load_target_constraints
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
            _render_fix(fixed, dry_run=False)
    report = check_requirements(
        parse_requirements(settings.requirements), target, loaded, mode=settings.mode
    )
    outlook = _sdist_outlook(settings)
    extra: dict[str, Any] = {"sdists": [o.to_dict() for o in outlook]}
    if override is not None:
        extra["base"] = override.source()
    if fixed is not None:
        extra["fix"] = fixed.to_dict()
    ui.problems(report, json_out=json_out, extra=extra)
    if not json_out:
        for item in outlook:
            verb = "compiles on MWAA" if item.compiles_on_mwaa else "ships only an sdist"
            ui.info(f"{item.name} {item.version} {verb} ({item.how}).")
    raise typer.Exit(0 if report.ok else 1)


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
    if json_out:
        ui.print_json({**result.to_dict(), "dry_run": dry_run})
    else:
        _render_fix(result, dry_run)
        if result.remaining:
            ui.table(
                "What fix cannot repair",
                ["", "where", "problem", "fix"],
                _problem_rows(result.remaining),
            )
        if result.ok:
            ui.success(
                f"{settings.requirements}: no errors left (MWAA {target.airflow_version}, "
                f"Python {target.python_version})."
            )
        else:
            errors = sum(1 for p in result.remaining if p.severity == "error")
            ui.info(f"{errors} error(s) remain: fix them by hand (see above).")
    raise typer.Exit(0 if dry_run or result.ok else 1)


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
    counts: dict[str, int] = {}
    for pkg in result.lock.packages:
        counts[pkg.role] = counts.get(pkg.role, 0) + 1
    if json_out:
        ui.print_json(
            {
                "ok": True,
                "lock": str(result.path),
                "target": result.lock.target,
                "resolver": result.lock.resolver,
                "counts": counts,
                "base": result.lock.base_source or None,
                "packages": [
                    {"name": p.name, "version": p.version, "role": p.role}
                    for p in result.lock.packages
                ],
                "seconds": round(result.seconds, 3),
            }
        )
        return
    bundle = [p for p in result.lock.packages if p.role != "provided"]
    ui.table(
        None, ["package", "version", "bundle role"], [(p.name, p.version, p.role) for p in bundle]
    )
    ui.success(
        f"Locked {len(result.lock.packages)} packages for MWAA "
        f"{result.lock.target['airflow_version']} in {result.seconds:.1f}s: "
        f"{counts.get('bundle', 0)} to bundle, {counts.get('fallback', 0)} fallback, "
        f"{counts.get('provided', 0)} already in MWAA -> {result.path}"
    )
    if result.lock.base_source:
        ui.info(f"MWAA's base install: {result.lock.base_source['file']} (discovered).")


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
    mode: Annotated[
        str | None, typer.Option("--mode", help="bundle (offline wheels) or index.")
    ] = None,
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
    if json_out:
        ui.print_json(result.to_dict())
        return
    rows: list[tuple[Any, ...]] = [
        (name, ui.human_size(info["size"]), info["sha256"][:16])
        for name, info in result.outputs.items()
    ]
    ui.table(f"{settings.out_dir}", ["output", "size", "sha256"], rows)
    what = "lock reused" if result.lock_reused else "locked"
    ui.success(
        f"Built the bundle for MWAA {result.target['airflow_version']} in {result.seconds:.1f}s "
        f"({what}; {len(result.wheels)} wheels, {len(result.pins)} pins, "
        f"{ui.human_size(result.downloaded_bytes)} downloaded)."
    )
    for item in result.compiled_on_mwaa:
        verb = "compiles" if item["trial_built"] else "is expected to compile"
        ui.info(
            f"{item['name']} {item['version']} {verb} on MWAA from its sdist "
            f"({item['checked']}; build requirements bundled: "
            f"{', '.join(item['build_requires']) or 'none'})."
        )
    if result.audit is not None:
        report = result.audit
        ignored = f", {len(report['ignored'])} ignored" if report["ignored"] else ""
        ui.info(
            f"Audit: {report['audited']} packages, no known vulnerabilities at or above "
            f"fail-on {report['fail_on']}{ignored}."
        )


def register(app: typer.Typer) -> None:
    """Add this module's commands to the app."""
    app.command("check")(check)
    app.command("fix")(fix_cmd)
    app.command("lock")(lock_cmd)
    app.command("build")(build_cmd)
