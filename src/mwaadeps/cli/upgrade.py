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
    if json_out:
        payload = report.to_dict()
        if write:
            payload["written"] = written.to_dict() if written else None
            if refusal is not None:
                payload["write_error"] = {
                    "code": refusal.code, "message": refusal.message, "hint": refusal.hint
                }  # fmt: skip
        ui.print_json(payload)
    else:
        _render(report, show_all, writing=written is not None)
        if written is not None:
            for message in written.messages:
                ui.info(f"  {message}")
            for problem in written.remaining:
                if problem.severity == "error":
                    ui.info(f"  still: {problem.origin or '-'}: {problem.message}")
            if written.ok:
                ui.success(
                    f"Moved to MWAA {report.to_target.airflow_version}: run `mwaadeps lock` "
                    "(or build) next."
                )
            else:
                ui.info("✘ Written, but the errors above remain: `mwaadeps check` explains them.")
        elif refusal is not None:
            raise refusal
    if written is None and (refusal is not None or not report.ok):
        raise typer.Exit(1)
    if written is not None and not written.ok:
        raise typer.Exit(1)


def _render(report: object, show_all: bool, writing: bool) -> None:
    from mwaadeps import ui
    from mwaadeps.build.upgrade import UpgradeReport

    assert isinstance(report, UpgradeReport)
    old, new = report.from_target, report.to_target
    title = (
        f"MWAA {old.airflow_version} (Python {old.python_version}) -> "
        f"{new.airflow_version} (Python {new.python_version})"
    )
    shown = [p for p in report.changes if show_all or p.shipped or p.blocking]
    rows = [
        (
            p.name + (" *" if p.top_level else ""),
            p.old or "-",
            p.new or "-",
            p.status + (" (blocks)" if p.blocking else ""),
            p.allowed or "",
            "; ".join(p.reasons),
        )
        for p in shown
    ]
    hidden = len(report.changes) - len(rows)
    if rows:
        ui.table(title, ["package", "current", "new", "status", "allowed", "why"], rows)
    if hidden:
        ui.info(f"(and {hidden} changes in what MWAA's image provides; --all lists them)")
    for dag in report.dag_imports:
        where = f"{dag.file.name}:{dag.line}"
        fix = f"use {dag.replacement} ({dag.provider})" if dag.replacement else ""
        ui.info(f"  {where}: {dag.module} - " + "; ".join(x for x in (fix, dag.note or "") if x))
    for note in report.notes:
        ui.info(note)
    counts: dict[str, int] = {}
    for pkg in shown:
        counts[pkg.status] = counts.get(pkg.status, 0) + 1
    summary = ", ".join(f"{n} {status}" for status, n in counts.items())
    if hidden:
        summary += f"{', ' if summary else ''}{hidden} in MWAA's image"
    if report.error:
        ui.info(
            f"\nThe requirements do not resolve for MWAA {new.airflow_version}:\n{report.error}"
        )
    if report.ok:
        what = "nothing to change" if not report.changes else summary
        ui.success(f"The requirements resolve for MWAA {new.airflow_version}: {what}.")
    elif writing:
        ui.info(f"\n{len(report.blocking)} package(s) need a change ({summary}); writing:")
    else:
        ui.info(
            f"\n✘ {len(report.blocking)} package(s) block the upgrade ({summary})."
            + (" `--write` fixes them." if report.fixable else "")
        )


def register(app: typer.Typer) -> None:
    """Add the upgrade command to the app."""
    app.command("upgrade")(upgrade_command)
