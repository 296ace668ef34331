"""Rendering of the core's results for people (tables, lines) and machines (JSON payloads).

The command modules parse options, build settings, call the core and hand the result here.
Each function prints through ``ui`` (the only module that imports rich) and returns the exit
code the result calls for (0: success); failures that are errors raise a MwaadepsError.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mwaadeps import ui
from mwaadeps.errors import (
    DeployFailed,
    LocalTestFailed,
    MwaadepsError,
    StillUpdating,
    VerifyFailed,
)

if TYPE_CHECKING:
    from mwaadeps.build.audit import AuditReport
    from mwaadeps.build.lock import LockResult
    from mwaadeps.build.pipeline import BuildResult
    from mwaadeps.build.sdist import SdistOutlook
    from mwaadeps.build.upgrade import UpgradeReport, WriteResult
    from mwaadeps.deploy.discover import DiscoverReport
    from mwaadeps.deploy.models import (
        DeploymentRecord,
        DeployResult,
        DiffReport,
        InstallLogs,
        StatusReport,
    )
    from mwaadeps.deploy.verify import VerifyReport
    from mwaadeps.localtest.image import RunnerImage
    from mwaadeps.localtest.run import LocalTestReport
    from mwaadeps.requirements.fix import FixResult
    from mwaadeps.requirements.model import Problem
    from mwaadeps.requirements.rules import CheckReport
    from mwaadeps.sandbox.seed import SeededEnvironment
    from mwaadeps.targets import Target


# -- check / fix / lock / build ----------------------------------------------------------------


def problem_rows(problems: Sequence[Problem]) -> list[tuple[str, str, str, str]]:
    return [
        (
            p.severity,
            f"{p.origin.file.name}:{p.origin.line}" if p.origin else "-",
            p.message,
            p.hint,
        )
        for p in problems
    ]


def fix_diff(result: FixResult, dry_run: bool) -> None:
    """The diff a fix makes (or would make) and how many lines it changes."""
    if not result.changed:
        ui.info("Nothing to fix.")
        return
    ui.info(result.diff().rstrip("\n"))
    files = len(result.files)
    verb = "Would change" if dry_run else "Changed"
    ui.info(f"{verb} {len(result.changes)} line(s) in {files} file(s).")


def check(
    report: CheckReport,
    outlook: Sequence[SdistOutlook],
    fixed: FixResult | None,
    as_json: bool,
    base: Mapping[str, str] | None = None,
) -> int:
    """`mwaadeps check`: the problems, what the lock says of sdists; 1 on errors. ``base``:
    the discovered base install checked against (--env), if any."""
    extra: dict[str, Any] = {"sdists": [o.to_dict() for o in outlook]}
    if base is not None:
        extra["base"] = dict(base)
    if fixed is not None:
        extra["fix"] = fixed.to_dict()
    ui.problems(report, json_out=as_json, extra=extra)
    if not as_json:
        for item in outlook:
            verb = "compiles on MWAA" if item.compiles_on_mwaa else "ships only an sdist"
            ui.info(f"{item.name} {item.version} {verb} ({item.how}).")
    return 0 if report.ok else 1


def fix(result: FixResult, requirements: Path, target: Target, dry_run: bool, as_json: bool) -> int:
    """`mwaadeps fix`: the diff and what remains; 1 when errors remain (not for --dry-run)."""
    if as_json:
        ui.print_json({**result.to_dict(), "dry_run": dry_run})
    else:
        fix_diff(result, dry_run)
        if result.remaining:
            ui.table(
                "What fix cannot repair",
                ["", "where", "problem", "fix"],
                problem_rows(result.remaining),
            )
        if result.ok:
            ui.success(
                f"{requirements}: no errors left (MWAA {target.airflow_version}, "
                f"Python {target.python_version})."
            )
        else:
            errors = sum(1 for p in result.remaining if p.severity == "error")
            ui.info(f"{errors} error(s) remain: fix them by hand (see above).")
    return 0 if dry_run or result.ok else 1


def lock(result: LockResult, as_json: bool) -> int:
    """`mwaadeps lock`: the packages to bundle and the counts by role."""
    counts: dict[str, int] = {}
    for pkg in result.lock.packages:
        counts[pkg.role] = counts.get(pkg.role, 0) + 1
    if as_json:
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
        return 0
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
    return 0


def build(result: BuildResult, out_dir: Path, as_json: bool) -> int:
    """`mwaadeps build`: the outputs, the sdists MWAA compiles, the audit summary."""
    if as_json:
        ui.print_json(result.to_dict())
        return 0
    rows: list[tuple[Any, ...]] = [
        (name, ui.human_size(info["size"]), info["sha256"][:16])
        for name, info in result.outputs.items()
    ]
    ui.table(f"{out_dir}", ["output", "size", "sha256"], rows)
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
    return 0


# -- deploy / rollback / promote ---------------------------------------------------------------

# Error codes of a deploy whose end was not seen: the update goes on (exit 75, not 5).
NOT_SEEN = ("still_updating", "wait_lost", "verify_timeout")


def short_version(version: str | None) -> str:
    return version or "-"  # S3 version ids are shown whole: they are what you look up


def plan(result: DeployResult) -> None:
    """The deploy plan: each artifact's action, size, versions, sha256 and key."""
    rows = []
    for p in result.plan:
        old = short_version(p.old_version)
        new = short_version(p.new_version) if p.new_version else ("(new)" if p.changes else old)
        rows.append(
            [
                p.artifact,
                p.action,
                ui.human_size(p.size) if p.size is not None else "-",
                f"{old} -> {new}" if p.changes else old,
                (p.sha256 or "")[:12],
                p.key,
            ]
        )
    ui.table(
        f"Plan for {result.environment}",
        ["artifact", "action", "size", "version", "sha256", "key"],
        rows,
    )


def deploy_exit_code(result: DeployResult) -> int:
    """0, 128+signal for an interrupted wait, 75 when the end was not seen, else 5."""
    if result.ok:
        return 0
    if result.interrupted:
        return 128 + int(result.interrupted)
    code = result.error.code if result.error else None
    if code == VerifyFailed.code:
        return VerifyFailed.exit_code
    return StillUpdating.exit_code if code in NOT_SEEN else DeployFailed.exit_code


def deploy(result: DeployResult, as_json: bool) -> int:
    """A DeployResult (deploy, rollback, promote); a failed update raises DeployFailed."""
    if as_json:
        ui.print_json(result.as_json())
        return deploy_exit_code(result)
    plan(result)
    if result.verification is not None:
        verify_report(result.verification)
        if result.ok:
            ui.success(f"{result.environment} verified: {result.verification.reason}")
    if result.ok and result.dry_run:
        ui.info("Dry run: nothing was uploaded and the environment was not updated.")
        return 0
    if result.ok and not result.update_called:
        ui.success(
            f"Nothing changed: {result.environment} already runs these artifacts "
            "(no upload, no UpdateEnvironment)."
        )
        return 0
    if result.last_update_error:
        err = result.last_update_error
        ui.warn(f"MWAA LastUpdate.Error: {err.get('ErrorCode')}: {err.get('ErrorMessage')}")
    for line in result.log_lines:
        ui.warn(line)
    if not result.ok:
        assert result.error is not None
        if result.interrupted or result.error.code in NOT_SEEN:  # started, not failed
            ui.warn(result.error.message)
            ui.info(f"  {result.error.hint}")
            return deploy_exit_code(result)
        if result.error.code == VerifyFailed.code:
            raise VerifyFailed(result.error.message, hint=result.error.hint)
        raise DeployFailed(result.error.message, hint=result.error.hint)
    if result.waited:
        ui.success(
            f"{result.environment} is {result.status}; pip succeeded; recorded as "
            f"deployment {result.record_id} ({result.record_key})."
        )
    else:
        ui.success(
            f"Update of {result.environment} started (recorded as deployment "
            f"{result.record_id}); check it with mwaadeps status."
        )
    return 0


def deploy_failure(exc: MwaadepsError, environment: str) -> int:
    """A deploy that failed before it had a result, as the deploy JSON shape."""
    ui.json_error(exc, environment=environment, plan=[], update_called=False, status=None)
    return exc.exit_code


def interrupted_before_update(signal_name: str, environment: str) -> None:
    ui.warn(
        f"Interrupted ({signal_name}) before UpdateEnvironment: {environment} was not updated "
        "(any multipart upload in progress was aborted)."
    )


# -- status / diff / logs / history / sandbox --------------------------------------------------


def status(report: StatusReport, as_json: bool) -> int:
    """The environment's status, last update, artifacts, last record and health."""
    if as_json:
        ui.print_json(report.as_json())
        return 0
    ui.info(
        f"{report.environment} ({report.region}, Airflow {report.airflow_version}): {report.status}"
    )
    last = report.last_update or {}
    if last:
        ui.info(f"Last update: {last.get('Status')} at {last.get('CreatedAt')}")
        if last.get("Error"):
            ui.warn(f"{last['Error'].get('ErrorCode')}: {last['Error'].get('ErrorMessage')}")
    ui.table(
        None,
        ["artifact", "key", "version", "sha256", "local build"],
        [
            [a.artifact, a.key or "-", short_version(a.version), (a.sha256 or "")[:12], a.state]
            for a in report.artifacts
        ],
    )
    if report.last_record:
        rec = report.last_record
        ui.info(
            f"Last recorded deployment: {rec.get('id')} ({rec.get('action')}, "
            f"{rec.get('outcome')}) at {rec.get('time')} by {rec.get('who')}"
        )
    if report.health is not None:
        line = f"What {report.environment} runs: {report.health.state} ({report.health.reason})"
        (ui.info if report.health.state == "healthy" else ui.warn)(line)
    return 0


def diff(report: DiffReport, as_json: bool) -> int:
    """Deployed -> local packages and options."""
    if as_json:
        ui.print_json(report.as_json())
        return 0
    if report.identical:
        ui.success(
            f"The local build pins what {report.environment} runs ({report.unchanged} packages)."
        )
        return 0
    rows = [[n, "-", v, "added"] for n, v in report.added]
    rows += [[n, v, "-", "removed"] for n, v in report.removed]
    rows += [[n, o, v, "changed"] for n, o, v in report.changed]
    rows += [[o, "", "", "option added"] for o in report.options_added]
    rows += [[o, "", "", "option removed"] for o in report.options_removed]
    ui.table(
        f"{report.environment} (deployed) -> local build",
        ["package", "deployed", "local", "change"],
        rows,
    )
    ui.info(f"{report.unchanged} packages unchanged.")
    return 0


def pip_failed(environment: str) -> DeployFailed:
    return DeployFailed(
        f"pip failed in {environment}'s last update.",
        hint="Fix the bundle and deploy again, or mwaadeps rollback.",
    )


def logs(report: InstallLogs, errors_only: bool, as_json: bool) -> int:
    """The install log streams; pip's failure is a DeployFailed (in JSON: the error shape)."""
    if as_json and report.pip_failed:
        ui.json_error(pip_failed(report.environment), **report.as_json())
        return DeployFailed.exit_code
    if as_json:
        ui.print_json({"ok": True, **report.as_json(), "error": None})
        return 0
    if not report.streams:
        ui.warn(
            f"No requirements/startup log streams found for {report.environment}'s last update."
        )
        return 0
    for stream in report.streams:
        ui.info(f"== {stream.group} / {stream.name}")
        for line in stream.errors if errors_only else stream.lines:
            ui.info(f"  {line}")
    if report.pip_failed:
        raise pip_failed(report.environment)
    return 0


def history(records: Sequence[DeploymentRecord], as_json: bool) -> int:
    """The recorded deployments, oldest first."""
    if as_json:
        ui.print_json({"ok": True, "records": [r.as_json() for r in records]})
        return 0
    ui.table(
        None,
        ["id", "time", "action", "outcome", "who", "requirements", "plugins"],
        [
            [
                r.id,
                r.data.get("time"),
                r.data.get("action"),
                r.outcome,
                r.data.get("who"),
                (r.versions().get("requirements.txt") or ("", "-"))[1],
                (r.versions().get("plugins.zip") or ("", "-"))[1],
            ]
            for r in records
        ],
    )
    return 0


def sandbox_ready(
    url: str,
    variables: Mapping[str, str],
    seeded: Sequence[SeededEnvironment],
    installer: str | None,
    why: str,
    as_json: bool,
) -> None:
    """The sandbox's endpoint, its environment variables and the seeded environments."""
    if as_json:
        ui.print_json(
            {
                "ok": True,
                "endpoint": url,
                "env": dict(variables),
                "installer": installer,
                "environments": [
                    {
                        "key": s.key,
                        "name": s.name,
                        "region": s.region,
                        "bucket": s.bucket,
                        "kms_key_arn": s.kms_key_arn,
                        "kms_alias": s.kms_alias,
                        "status": s.status,
                    }
                    for s in seeded
                ],
            }
        )
        return
    ui.success(f"Sandbox on {url} (S3, KMS, STS, CloudWatch Logs, MWAA)")
    ui.info("Point mwaadeps, the AWS CLI or boto3 at it with:")
    for key, value in variables.items():
        ui.info(f"  export {key}={value}")
    for s in seeded:
        ui.info(
            f"Environment [{s.key}] {s.name} ({s.region}): {s.status}; bucket "
            f"{s.bucket}; KMS key {s.kms_alias or s.kms_key_arn}"
        )
    ui.info(f"Real installs: {'yes, ' + why if installer else 'no (' + why + ')'}.")
    ui.info(
        f"Faults: curl -X POST {url}/_sandbox/faults -d "
        '\'{"fail_next_update": {"message": "boom"}}\'  (Ctrl-C stops)'
    )


# -- test-local / runner build -----------------------------------------------------------------


def local_test(report: LocalTestReport, tag: str, out_dir: Path, as_json: bool) -> int:
    """The steps of a test-local run; 1 when one failed."""
    if as_json and report.ok:
        ui.print_json({**report.to_dict(), "error": None})
    elif as_json:
        names = ", ".join(s.name for s in report.failed)
        failed = LocalTestFailed(
            f"test-local failed in {tag} ({names}).",
            hint="steps says why each failed; fix the bundle, then build again.",
        )
        ui.json_error(failed, **report.to_dict())
    else:
        shown = {"ok": "ok", "failed": "FAILED", "skipped": "skipped"}
        rows = [(s.name, shown[s.status], f"{s.seconds:.1f}") for s in report.steps]
        ui.table(f"test-local in {tag}", ["step", "result", "seconds"], rows)
        for step in report.failed:
            ui.info(f"\n{step.name} failed:\n{step.message}")
        if report.ok:
            ui.success(f"The bundle in {out_dir} installs and loads as on MWAA.")
        else:
            names = ", ".join(s.name for s in report.failed)
            ui.info(f"\n✘ test-local failed ({names}).")
    return 0 if report.ok else 1


def local_test_terminated(as_json: bool) -> int:
    """SIGTERM ended test-local (its container removed): exit 143."""
    message = "Terminated; the test-local container was removed."
    if as_json:
        terminated = MwaadepsError(message)
        terminated.code = "terminated"
        ui.json_error(terminated)
    else:
        ui.err_console.print(message)
    return 143


def runner_image(image: RunnerImage, as_json: bool) -> int:
    """The runner image built (or found up to date)."""
    if as_json:
        ui.print_json({"ok": True, **image.to_dict()})
    elif image.built:
        ui.success(
            f"Built {image.tag} ({image.image_id[7:19]}): Airflow {image.airflow_version}, "
            f"Python {image.python_version}, pip {image.pip_version}, "
            f"{image.wheels} wheels, from {image.base_image}."
        )
    else:
        ui.success(f"{image.tag} is up to date ({image.image_id[7:19]}); nothing to build.")
    return 0


# -- audit -------------------------------------------------------------------------------------

_SHOWN = 10  # "not audited" lines shown; --json has them all


def audit(report: AuditReport, level: str, as_json: bool) -> int:
    """The findings at or above ``level``; 1 when some fail it. An incomplete audit (advisory
    data missing for some packages) raises AuditUnavailable (in JSON: the error shape)."""
    from mwaadeps.build.audit import unavailable_error

    if as_json:
        if report.unavailable:
            ui.json_error(unavailable_error(report), **report.to_dict(level))
            return unavailable_error(report).exit_code
        ui.print_json(report.to_dict(level))
    else:
        _audit_lines(report, level)
        if report.unavailable:
            raise unavailable_error(report)
    return 1 if report.failing(level) else 0


def _audit_lines(report: AuditReport, level: str) -> None:
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


# -- upgrade -----------------------------------------------------------------------------------


def upgrade(
    report: UpgradeReport,
    written: WriteResult | None,
    refusal: MwaadepsError | None,
    *,
    write: bool,
    show_all: bool,
    as_json: bool,
) -> int:
    """The upgrade preflight (and what --write did); 1 when blocked or errors remain."""
    if as_json:
        payload = report.to_dict()
        if write:
            payload["written"] = written.to_dict() if written else None
            if refusal is not None:
                payload["write_error"] = {
                    "code": refusal.code, "message": refusal.message, "hint": refusal.hint
                }  # fmt: skip
        ui.print_json(payload)
    else:
        _upgrade_lines(report, show_all, writing=written is not None)
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
        return 1
    return 1 if written is not None and not written.ok else 0


def _upgrade_lines(report: UpgradeReport, show_all: bool, writing: bool) -> None:
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


# -- verify ------------------------------------------------------------------------------------


def verify_report(report: VerifyReport) -> None:
    """The DAGs, import errors, unparsed files and the run of a VerifyReport."""
    ui.info(
        f"{report.environment} (Airflow {report.airflow_version or '?'}): {report.status}; "
        f"{len(report.files)} DAG file(s) in {report.dags_at}"
    )
    if report.dags:
        ui.table(
            f"DAGs on {report.environment}",
            ["dag_id", "paused", "file"],
            [[d.dag_id, "yes" if d.paused else "no", d.file] for d in report.dags],
        )
    if report.import_errors:
        ui.table(
            "Import errors",
            ["file", "trace starts", "error"],
            [[p.file, p.first_line, p.last_line] for p in report.import_errors],
        )
    for name in report.unparsed:
        ui.warn(f"Not parsed yet: {name}")
    if report.run is not None:
        run = report.run
        note = " (unpaused for the run, paused again)" if run.unpaused else ""
        ui.info(f"Run {run.run_id} of {run.dag_id}: {run.state}{note}")
    if report.record_id is not None:
        ui.info(f"Recorded on deployment {report.record_id}.")


def verify(report: VerifyReport, as_json: bool) -> int:
    """A VerifyReport: 0 when it passed, 75 when a wait timed out; a failure raises."""
    if as_json:
        ui.print_json(report.as_json())
        return 0 if report.ok else int(report.exit_code)
    verify_report(report)
    if report.verdict == "failed":
        raise VerifyFailed(report.reason, hint=report.hint)
    if report.verdict == "timeout":
        ui.warn(report.reason)
        ui.info(f"  {report.hint}")
        return int(report.exit_code)
    ui.success(f"{report.environment} verified: {report.reason}")
    return 0


def verify_failure(exc: MwaadepsError, environment: str) -> int:
    """A verify that failed before its verdict, in the report's JSON shape."""
    from mwaadeps.deploy.verify import VerifyReport

    shape = VerifyReport(environment, "", "failed", "").as_json()
    ui.json_error(exc, **{**shape, "status": None, "verdict": None, "reason": None})
    return exc.exit_code


# -- discover ----------------------------------------------------------------------------------


def discover(report: DiscoverReport, as_json: bool) -> int:
    """A DiscoverReport: the live set against the prediction, the bundle and the override
    (differences are findings, not failures: 0)."""
    if as_json:
        ui.print_json(report.as_json())
        return 0
    ui.info(
        f"{report.environment} runs Airflow {report.airflow_version} on Python "
        f"{report.python_version}: {len(report.packages)} packages, {len(report.base)} of "
        "them MWAA's base install."
    )
    for comparison in (report.prediction, report.bundle, report.override):
        if comparison is None:
            continue
        if comparison.differences:
            ui.table(
                f"Live vs {comparison.source}",
                ["package", "difference", "expected", "live"],
                [
                    (d.name, d.kind, d.expected or "-", d.live or "-")
                    for d in comparison.differences
                ],
            )
        else:
            ui.success(f"Live matches {comparison.source} ({comparison.compared} packages).")
    for note in report.notes:
        ui.info(note)
    if report.written:
        ui.success("Wrote " + " and ".join(str(p) for p in report.written) + ".")
    elif report.override is not None and report.override.differences:
        ui.info(
            f"Run `mwaadeps discover --env {report.key} --write` to update the override, "
            "then lock and build again."
        )
    elif report.override is None and report.prediction and report.prediction.differences:
        ui.info(
            f"Run `mwaadeps discover --env {report.key} --write` to lock against what "
            f"{report.environment} really has (lock/build/check --env {report.key})."
        )
    return 0
