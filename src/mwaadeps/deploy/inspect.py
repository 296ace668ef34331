"""Read-only views of an environment: status, diff (deployed vs dist/), logs."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from mwaadeps.build.dist import local_artifacts
from mwaadeps.deploy.apply import light_preflight, resolve_pending, running_health
from mwaadeps.deploy.aws import connect, translate
from mwaadeps.deploy.logs import install_logs
from mwaadeps.deploy.models import (
    ARTIFACTS,
    ArtifactStatus,
    DiffReport,
    InstallLogs,
    StatusReport,
    jsonable,
)
from mwaadeps.deploy.plan import deployed_artifacts
from mwaadeps.deploy.preflight import get_environment
from mwaadeps.deploy.records import history
from mwaadeps.digest import sha256_file
from mwaadeps.errors import BundleError, MwaadepsError
from mwaadeps.progress import NullReporter, Reporter

if TYPE_CHECKING:
    from mwaadeps.config import EnvironmentConfig


# -- status, diff, logs ----------------------------------------------------------------------


def status(
    config: EnvironmentConfig, dist: Path | None = None, reporter: Reporter | None = None
) -> StatusReport:
    """The environment's status, last update, and deployed artifacts vs the local build."""
    rep = reporter or NullReporter()
    aws = connect(config)
    rep.step(f"Reading {config.name}")
    environment = get_environment(aws, config.name)
    bucket = str(environment.get("SourceBucketArn", "")).rsplit(":", 1)[-1] or config.bucket
    deployed = deployed_artifacts(aws, bucket, environment)
    local = local_artifacts(dist, required=False) if dist is not None else {}
    rows = []
    for spec in ARTIFACTS:
        d = deployed[spec.name]
        local_sha = sha256_file(local[spec.name]) if spec.name in local else None
        if d.key is None:
            state = "not deployed"
        elif local_sha is None:
            state = "no local build"
        else:
            state = "in sync" if local_sha == d.sha256 else "differs"
        rows.append(ArtifactStatus(spec.name, d.key, d.version, d.sha256, local_sha, state))
    last_record, health = None, None
    try:
        pre = light_preflight(aws, config, environment)
        records = resolve_pending(pre, history(config, aws, rep), "status", rep)
        last_record = records[-1].as_json() if records else None
        if any(d.key for d in deployed.values()):
            health = running_health(aws, config, environment, records, rep)
    except MwaadepsError as exc:
        rep.warn(f"Cannot read or settle the deployment records: {exc.message}")
    return StatusReport(
        config.name,
        aws.region,
        str(environment.get("Status")),
        environment.get("AirflowVersion"),
        jsonable(environment.get("LastUpdate")),
        tuple(rows),
        last_record,
        health,
    )


def requirement_pins(text: str, name: str) -> tuple[dict[str, str], set[str]]:
    """The packages (name -> pinned version or specifier) and option lines of a requirements
    text (``name`` labels it), read by the project's parser; nested files are not followed."""
    from mwaadeps.requirements.parser import parse_requirements

    path = Path(name)
    parsed = parse_requirements(path, overrides={path: text.encode("utf-8")})
    packages: dict[str, str] = {}
    for item in parsed.requirements:
        if item.origin.file != path:
            continue
        specs = list(item.requirement.specifier)
        exact = len(specs) == 1 and specs[0].operator in ("==", "===")
        packages[item.name] = specs[0].version if exact else str(item.requirement.specifier) or "*"
    options = {
        o.name if o.shown is None else f"{o.name} {o.shown}"
        for o in parsed.options
        if o.origin.file == path
    }
    return packages, options


def diff(config: EnvironmentConfig, dist: Path, reporter: Reporter | None = None) -> DiffReport:
    """Package-level diff between the deployed requirements.txt and dist/requirements.txt."""
    rep = reporter or NullReporter()
    local_path = dist / "requirements.txt"
    if not local_path.is_file():
        raise BundleError(
            f"{local_path} does not exist.", hint="Run mwaadeps build first, or pass --dist."
        )
    aws = connect(config)
    rep.step(f"Reading the requirements {config.name} runs")
    environment = get_environment(aws, config.name)
    bucket = str(environment.get("SourceBucketArn", "")).rsplit(":", 1)[-1] or config.bucket
    key, version = (
        environment.get("RequirementsS3Path"),
        environment.get("RequirementsS3ObjectVersion"),
    )
    deployed_text = ""
    if key:
        kwargs: dict[str, Any] = {"Bucket": bucket, "Key": key}
        if version:
            kwargs["VersionId"] = version
        with translate(f"read s3://{bucket}/{key}", key, aws):
            deployed_text = aws.s3.get_object(**kwargs)["Body"].read().decode("utf-8", "replace")
    old, old_opts = requirement_pins(deployed_text, f"s3://{bucket}/{key}")
    new, new_opts = requirement_pins(local_path.read_text(encoding="utf-8"), str(local_path))
    return DiffReport(
        config.name,
        version,
        added=tuple(sorted((n, v) for n, v in new.items() if n not in old)),
        removed=tuple(sorted((n, v) for n, v in old.items() if n not in new)),
        changed=tuple(sorted((n, old[n], v) for n, v in new.items() if n in old and old[n] != v)),
        options_added=tuple(sorted(new_opts - old_opts)),
        options_removed=tuple(sorted(old_opts - new_opts)),
        unchanged=sum(1 for n, v in new.items() if old.get(n) == v),
    )


def logs(config: EnvironmentConfig, reporter: Reporter | None = None) -> InstallLogs:
    """The requirements/startup log streams of the environment's last update."""
    rep = reporter or NullReporter()
    aws = connect(config)
    environment = get_environment(aws, config.name)
    rep.step(f"Reading the install logs of {config.name}")
    return install_logs(aws, environment, reporter=rep)
