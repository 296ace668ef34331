"""audit command: known vulnerabilities of every locked package (exit 1 when found)."""

from __future__ import annotations

from typing import Annotated, Any

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
    from mwaadeps.build.audit import fail_on_for, run_audit, unavailable_error
    from mwaadeps.build.lock import load_target_constraints
    from mwaadeps.build.lockfile import read
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
    if json_out:
        if report.unavailable:
            ui.json_error(unavailable_error(report), **report.to_dict(level))
            raise typer.Exit(unavailable_error(report).exit_code)
        ui.print_json(report.to_dict(level))
    else:
        _render(report, level)
        if report.unavailable:
            raise unavailable_error(report)
    if report.failing(level):
        raise typer.Exit(1)


_SHOWN = 10  # "not audited" lines shown; --json has them all


def _render(report: Any, level: str) -> None:
    from mwaadeps import ui
    from mwaadeps.build.audit import AuditReport

    assert isinstance(report, AuditReport)
    columns = ["id", "aliases", "package", "version", "severity", "fix", "fix allowed"]
    rows = [
        (
            f.advisory.id,
            ", ".join(f.advisory.aliases),
            f.name,
            f.version,
            f.advisory.severity or "-",
            f.fix or "-",
            f.allowed,
        )
        for f in report.active
    ]
    if rows:
        ui.table(f"Known vulnerabilities (advisories from {report.index})", columns, rows)
    for f in report.findings:
        if f.ignored is not None:
            ui.info(f"ignored: {f.advisory.id} ({f.name} {f.version}): {f.ignored}")
    for ident in report.unused_ignores:
        ui.warn(f"The ignored advisory {ident} matches no locked package any more.")
    for s in report.skipped:
        ui.note(f"skipped {s.name} {s.version}: {s.reason}")
    for s in report.unavailable[:_SHOWN]:
        ui.info(f"not audited: {s.name} {s.version}: {s.reason}")
    if len(report.unavailable) > _SHOWN:
        ui.info(f"not audited: {len(report.unavailable) - _SHOWN} more (--json lists them)")
    failing = report.failing(level)
    if report.unavailable:
        return
    if failing:
        blocked = sum(1 for f in failing if f.allowed != "allowed")
        ui.info(
            f"✘ {len(failing)} known vulnerabilit{'y' if len(failing) == 1 else 'ies'} "
            f"(fail-on {level}) in {report.audited} audited packages"
            + (f"; {blocked} cannot be fixed within the target's pins." if blocked else ".")
        )
    else:
        extra = f" ({len(report.active)} below fail-on {level})" if report.active else ""
        ui.success(f"No known vulnerabilities in {report.audited} audited packages{extra}.")


def register(app: typer.Typer) -> None:
    """Add the audit command to the app."""
    app.command("audit")(audit_command)
