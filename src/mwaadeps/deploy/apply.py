"""Ship a bundle to MWAA: preflight -> plan -> upload -> UpdateEnvironment -> wait -> verify ->
record; plus status, diff, rollback, logs, history and promote.

Nothing here prints: progress goes to a Reporter, results are frozen dataclasses, and every
refusal is a MwaadepsError naming the resource with a hint. If any upload fails,
UpdateEnvironment is never called.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import re
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mwaadeps import __version__
from mwaadeps.deploy.aws import Aws, connect, describe, error_code, translate
from mwaadeps.digest import sha256_file
from mwaadeps.errors import AwsError, BundleError, ConfigError, MwaadepsError, PreflightError
from mwaadeps.progress import NullReporter, Reporter

if TYPE_CHECKING:
    from mwaadeps.config import EnvironmentConfig

PIP_FAILED = "ERROR: pip installation exited with a non-zero error code"
LOG_PREFIXES = ("requirements_install_", "startup_script_execution_")
UPDATABLE = ("AVAILABLE", "UPDATE_FAILED")
TERMINAL = ("AVAILABLE", "UPDATE_FAILED", "UNAVAILABLE", "CREATE_FAILED", "DELETED")
RECORDS_DIR = ".mwaadeps/deployments/"
LOCK_NAME = ".mwaadeps/lock.json"
MB = 1024 * 1024
# Outcomes of a recorded deployment. "pending": UpdateEnvironment was called and nobody saw
# the end yet (no wait, an interrupted or timed-out wait); the next status/deploy/rollback
# resolves it from MWAA's LastUpdate and the install logs.
OUTCOMES = ("success", "failed", "pending", "unknown", "not_started")

_REFUSE: dict[str, tuple[str, str]] = {
    "UPDATING": (
        "an update is already in progress",
        "Wait for it to finish (mwaadeps status --env {key}), then deploy again.",
    ),
    "CREATING": (
        "it is still being created",
        "Wait until it is AVAILABLE (mwaadeps status --env {key}), then deploy.",
    ),
    "PENDING": ("it is pending creation", "Wait until it is AVAILABLE, then deploy."),
    "ROLLING_BACK": (
        "it is rolling back a failed update",
        "Wait until it is UPDATE_FAILED or AVAILABLE, then deploy again.",
    ),
    "MAINTENANCE": (
        "it is in its maintenance window",
        "Wait for the maintenance to end (mwaadeps status --env {key}), then deploy.",
    ),
    "CREATING_SNAPSHOT": ("MWAA is taking a snapshot of it", "Wait a few minutes and retry."),
    "DELETING": ("it is being deleted", "Deploy to another environment."),
    "DELETED": ("it has been deleted", "Deploy to another environment."),
    "CREATE_FAILED": (
        "it failed to create",
        "Fix or recreate the environment in the MWAA console first.",
    ),
    "UNAVAILABLE": (
        "it is UNAVAILABLE (not stable)",
        "Investigate with mwaadeps logs --env {key} and the MWAA console; deploy "
        "once it is AVAILABLE or UPDATE_FAILED.",
    ),
}


@dataclass(frozen=True)
class ArtifactSpec:
    """One deployable file and the MWAA fields that point at it."""

    name: str
    path_field: str
    version_field: str

    def key(self, env: EnvironmentConfig) -> str:
        return {
            "requirements.txt": env.requirements_key,
            "plugins.zip": env.plugins_key,
            "startup.sh": env.startup_key,
        }[self.name]


ARTIFACTS = (
    ArtifactSpec("requirements.txt", "RequirementsS3Path", "RequirementsS3ObjectVersion"),
    ArtifactSpec("plugins.zip", "PluginsS3Path", "PluginsS3ObjectVersion"),
    ArtifactSpec("startup.sh", "StartupScriptS3Path", "StartupScriptS3ObjectVersion"),
)


@dataclass(frozen=True)
class DeployOptions:
    """Knobs of a deploy; the poll interval is small in tests."""

    dry_run: bool = False
    wait: bool = True
    worker_replacement: str | None = None
    poll_interval: float = 15.0
    timeout: float = 3600.0
    multipart_threshold: int = 16 * MB
    part_size: int = 8 * MB
    force: bool = False  # redeploy an unchanged bundle (e.g. after pip failed)
    break_lock: bool = False  # take over another deployer's lock


@dataclass(frozen=True)
class ErrorInfo:
    """Why a deploy did not succeed."""

    code: str
    message: str
    hint: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "hint": self.hint}


@dataclass(frozen=True)
class ArtifactPlan:
    """One artifact: what runs now, what will run, and whether it uploads."""

    artifact: str
    key: str
    action: str  # upload | unchanged | copy | restore
    sha256: str | None
    size: int | None
    old_key: str | None
    old_version: str | None
    old_sha256: str | None
    new_version: str | None

    @property
    def changes(self) -> bool:
        return self.action != "unchanged"

    def as_json(self) -> dict[str, Any]:
        return {
            "artifact": self.artifact,
            "action": self.action,
            "sha256": self.sha256,
            "old_version": self.old_version,
            "new_version": self.new_version,
            "key": self.key,
            "size": self.size,
            "old_sha256": self.old_sha256,
        }


@dataclass(frozen=True)
class LogStream:
    """One CloudWatch Logs stream of an update."""

    group: str
    name: str
    lines: tuple[str, ...]

    @property
    def errors(self) -> tuple[str, ...]:
        return tuple(line for line in self.lines if "ERROR" in line)

    @property
    def pip_failed(self) -> bool:
        return any(PIP_FAILED in line for line in self.lines)


@dataclass(frozen=True)
class InstallLogs:
    """The requirements/startup streams written since an update started."""

    environment: str
    since: float | None
    streams: tuple[LogStream, ...]

    @property
    def pip_failed(self) -> bool:
        return any(s.pip_failed for s in self.streams)

    def error_lines(self) -> tuple[str, ...]:
        """ERROR lines with their stream, de-duplicated across hosts."""
        seen: dict[str, None] = {}
        for stream in self.streams:
            for line in stream.errors:
                seen.setdefault(f"{stream.name.split('_ip-')[0]}: {line}", None)
        return tuple(seen)

    def as_json(self) -> dict[str, Any]:
        return {
            "environment": self.environment,
            "since": self.since,
            "pip_failed": self.pip_failed,
            "streams": [
                {"group": s.group, "name": s.name, "lines": list(s.lines)} for s in self.streams
            ],
        }


@dataclass(frozen=True)
class DeployResult:
    """The outcome of deploy / rollback / promote."""

    ok: bool
    environment: str
    action: str
    plan: tuple[ArtifactPlan, ...]
    update_called: bool
    status: str
    error: ErrorInfo | None = None
    dry_run: bool = False
    waited: bool = False
    record_id: int | None = None
    record_key: str | None = None
    last_update_error: Mapping[str, str] | None = None
    log_lines: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    started_at: str | None = None  # when UpdateEnvironment was called (ISO, UTC)
    interrupted: int | None = None  # the signal that stopped the wait

    @property
    def uploads(self) -> int:
        return sum(1 for p in self.plan if p.changes)

    def as_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "environment": self.environment,
            "action": self.action,
            "plan": [p.as_json() for p in self.plan],
            "update_called": self.update_called,
            "status": self.status,
            "error": self.error.as_json() if self.error else None,
            "dry_run": self.dry_run,
            "waited": self.waited,
            "record_id": self.record_id,
            "record_key": self.record_key,
            "last_update_error": dict(self.last_update_error) if self.last_update_error else None,
            "log_errors": list(self.log_lines),
            "warnings": list(self.warnings),
            "started_at": self.started_at,
            "interrupted": self.interrupted,
        }


class Interrupted(KeyboardInterrupt):
    """SIGINT/SIGTERM arrived (the CLI's signal handler raises it); ``signum`` says which."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


class LockedError(PreflightError):
    """Another deployer holds the environment's lock."""

    code = "locked"


@dataclass(frozen=True)
class Preflight:
    """What preflight established: the clients, the environment as MWAA reports it."""

    aws: Aws
    config: EnvironmentConfig
    environment: Mapping[str, Any]
    caller: str
    kms_key: str | None
    warnings: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def bucket(self) -> str:
        return self.config.bucket


@dataclass(frozen=True)
class DeployedArtifact:
    """What the environment points at for one artifact."""

    artifact: str
    key: str | None
    version: str | None
    sha256: str | None
    size: int | None


@dataclass(frozen=True)
class ArtifactStatus:
    """Deployed vs the local build for one artifact."""

    artifact: str
    key: str | None
    version: str | None
    sha256: str | None
    local_sha256: str | None
    state: str  # in sync | differs | not deployed | no local build

    def as_json(self) -> dict[str, Any]:
        return {
            "artifact": self.artifact,
            "key": self.key,
            "version": self.version,
            "sha256": self.sha256,
            "local_sha256": self.local_sha256,
            "state": self.state,
        }


@dataclass(frozen=True)
class StatusReport:
    """`mwaadeps status`: the environment, its last update, deployed vs local."""

    environment: str
    region: str
    status: str
    airflow_version: str | None
    last_update: Mapping[str, Any] | None
    artifacts: tuple[ArtifactStatus, ...]
    last_record: Mapping[str, Any] | None
    health: Health | None = None

    @property
    def in_sync(self) -> bool:
        return all(a.state == "in sync" for a in self.artifacts if a.state != "not deployed")

    def as_json(self) -> dict[str, Any]:
        return {
            "ok": True,
            "environment": self.environment,
            "region": self.region,
            "status": self.status,
            "airflow_version": self.airflow_version,
            "last_update": dict(self.last_update) if self.last_update else None,
            "in_sync": self.in_sync,
            "artifacts": [a.as_json() for a in self.artifacts],
            "last_record": dict(self.last_record) if self.last_record else None,
            "health": self.health.as_json() if self.health else None,
        }


@dataclass(frozen=True)
class DiffReport:
    """Package-level difference: deployed requirements.txt -> local build."""

    environment: str
    deployed_version: str | None
    added: tuple[tuple[str, str], ...]
    removed: tuple[tuple[str, str], ...]
    changed: tuple[tuple[str, str, str], ...]
    options_added: tuple[str, ...]
    options_removed: tuple[str, ...]
    unchanged: int

    @property
    def identical(self) -> bool:
        return not (
            self.added or self.removed or self.changed or self.options_added or self.options_removed
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "ok": True,
            "environment": self.environment,
            "deployed_version": self.deployed_version,
            "identical": self.identical,
            "added": [{"name": n, "version": v} for n, v in self.added],
            "removed": [{"name": n, "version": v} for n, v in self.removed],
            "changed": [{"name": n, "old": o, "new": v} for n, o, v in self.changed],
            "options_added": list(self.options_added),
            "options_removed": list(self.options_removed),
            "unchanged": self.unchanged,
        }


@dataclass(frozen=True)
class DeploymentRecord:
    """One recorded deployment (a JSON object in the bucket)."""

    id: int
    key: str
    data: Mapping[str, Any] = field(repr=False)

    @property
    def outcome(self) -> str:
        return str(self.data.get("outcome", "unknown"))

    def versions(self) -> dict[str, tuple[str, str | None]]:
        """artifact -> (key, version)."""
        arts = self.data.get("artifacts") or {}
        return {a: (str(v["key"]), v.get("version")) for a, v in arts.items() if v.get("key")}

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "key": self.key, **self.data}


# -- helpers -----------------------------------------------------------------------------------


def _b64(hex_digest: str) -> str:
    return base64.b64encode(bytes.fromhex(hex_digest)).decode()


def _from_b64(value: str) -> str | None:
    if "-" in value:  # a composite (multipart) checksum is not the file's sha256
        return None
    try:
        return base64.b64decode(value).hex()
    except ValueError:
        return None


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _epoch(value: Any) -> float | None:
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, int | float):
        return float(value)
    return None


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {k: _jsonable(v) for k, v in value.items() if k != "ResponseMetadata"}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def _records_prefix(env: EnvironmentConfig) -> str:
    folder = env.requirements_key.rpartition("/")[0]
    return f"{folder}/{RECORDS_DIR}" if folder else RECORDS_DIR


def local_artifacts(dist: Path) -> dict[str, Path]:
    """The artifacts present in a dist/ folder (at least one is required)."""
    if not dist.is_dir():
        raise BundleError(
            f"The bundle folder {dist} does not exist.",
            hint="Run mwaadeps build first, or pass --dist.",
        )
    found = {a.name: dist / a.name for a in ARTIFACTS if (dist / a.name).is_file()}
    if not found:
        raise BundleError(
            f"{dist} has no requirements.txt, plugins.zip or startup.sh.",
            hint="Run mwaadeps build first, or pass --dist.",
        )
    return found


def _manifest(dist: Path) -> dict[str, Any] | None:
    path = dist / "manifest.json"
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BundleError(
            f"{path} is not valid JSON ({exc}).", hint="Rebuild with mwaadeps build."
        ) from None
    return data if isinstance(data, dict) else None


def _call(aws: Aws, action: str, fn: Callable[..., Any], **kwargs: Any) -> Any:
    """fn(**kwargs); ClientErrors pass through for the caller, other botocore errors
    (connection, credentials) become MwaadepsErrors."""
    import botocore.exceptions as bx

    try:
        return fn(**kwargs)
    except bx.ClientError:
        raise
    except bx.BotoCoreError as exc:
        raise describe(exc, action, aws.env.name, aws.secrets()) from None


# -- preflight ---------------------------------------------------------------------------------


def get_environment(aws: Aws, name: str) -> dict[str, Any]:
    """GetEnvironment, with a clear error when the environment does not exist."""
    import botocore.exceptions as bx

    try:
        return dict(
            _call(aws, f"read MWAA environment {name}", aws.mwaa.get_environment, Name=name)[
                "Environment"
            ]
        )
    except bx.ClientError as exc:
        if error_code(exc) == "ResourceNotFoundException":
            raise PreflightError(
                f"MWAA environment {name} does not exist in {aws.region}.",
                hint="Check name and region in the [environments] table (and the profile's "
                "account).",
            ) from None
        with translate(f"read MWAA environment {name}", name, aws):
            raise


def preflight(
    config: EnvironmentConfig, reporter: Reporter | None = None, *, require_updatable: bool = True
) -> Preflight:
    """Check everything a deploy needs before changing anything; raise PreflightError."""
    rep = reporter or NullReporter()
    rep.step(f"Preflight: credentials and region for {config.key}")
    aws = connect(config)
    caller = aws.caller_arn()
    rep.step(f"Preflight: MWAA environment {config.name}")
    environment = get_environment(aws, config.name)
    bucket_arn = f"arn:aws:s3:::{config.bucket}"
    actual = environment.get("SourceBucketArn")
    if actual != bucket_arn:
        raise PreflightError(
            f"Environment {config.name} reads from {actual}, not the configured bucket "
            f"{config.bucket}.",
            hint=f'Set bucket = "{str(actual).rsplit(":", 1)[-1]}" in [environments.'
            f"{config.key}] (or fix the environment's source bucket).",
        )
    status = str(environment.get("Status"))
    if require_updatable and status not in UPDATABLE:
        why, hint = _REFUSE.get(
            status, (f"its status is {status}", "Wait until it is AVAILABLE, then deploy.")
        )
        raise PreflightError(
            f"Environment {config.name} cannot be updated now: {why} (status {status}).",
            hint=hint.format(key=config.key),
        )
    warnings = list(_check_bucket(aws, config, rep))
    kms_key = config.kms_key or environment.get("KmsKey")
    if kms_key:
        warnings += _check_key(aws, config, str(kms_key), rep, environment.get("KmsKey"))
    for warning in warnings:
        rep.warn(warning)
    return Preflight(
        aws, config, environment, caller, str(kms_key) if kms_key else None, tuple(warnings)
    )


def _check_bucket(aws: Aws, config: EnvironmentConfig, rep: Reporter) -> Iterator[str]:
    import botocore.exceptions as bx

    bucket = config.bucket
    rep.step(f"Preflight: bucket {bucket} (versioning, public access block)")
    try:
        versioning = (
            _call(aws, f"read bucket {bucket}", aws.s3.get_bucket_versioning, Bucket=bucket).get(
                "Status"
            )
            or "never enabled"
        )
    except bx.ClientError as exc:
        if error_code(exc) in ("AccessDenied", "403"):
            yield f"Cannot read the versioning of bucket {bucket} (access denied); not checked."
            versioning = "Enabled"
        elif error_code(exc) in ("NoSuchBucket", "404"):
            raise PreflightError(
                f"Bucket {bucket} does not exist.",
                hint=f"Fix bucket in [environments.{config.key}].",
            ) from None
        else:
            with translate(f"read the versioning of bucket {bucket}", bucket, aws):
                raise
    if versioning != "Enabled":
        raise PreflightError(
            f"Bucket {bucket} has versioning {versioning}; MWAA requires Enabled.",
            hint=f"aws s3api put-bucket-versioning --bucket {bucket} "
            "--versioning-configuration Status=Enabled",
        )
    try:
        block = _call(aws, f"read bucket {bucket}", aws.s3.get_public_access_block, Bucket=bucket)[
            "PublicAccessBlockConfiguration"
        ]
    except bx.ClientError as exc:
        code = error_code(exc)
        if code == "NoSuchPublicAccessBlockConfiguration":
            block = {}
        elif code in ("AccessDenied", "403"):
            yield f"Cannot read the public access block of bucket {bucket}; not checked."
            block = None
        else:
            with translate(f"read the public access block of bucket {bucket}", bucket, aws):
                raise
    if block is not None:
        missing = [
            k
            for k in (
                "BlockPublicAcls",
                "IgnorePublicAcls",
                "BlockPublicPolicy",
                "RestrictPublicBuckets",
            )
            if not block.get(k)
        ]  # type: ignore[misc]
        if missing:
            raise PreflightError(
                f"Bucket {bucket} does not block public access ({', '.join(missing)} off); "
                "MWAA requires it blocked.",
                hint=f"aws s3api put-public-access-block --bucket {bucket} "
                "--public-access-block-configuration BlockPublicAcls=true,"
                "IgnorePublicAcls=true,BlockPublicPolicy=true,RestrictPublicBuckets=true",
            )
    try:
        location = _call(
            aws, f"read bucket {bucket}", aws.s3.get_bucket_location, Bucket=bucket
        ).get("LocationConstraint")
    except bx.ClientError:
        return
    region = location or "us-east-1"
    if region == "EU":
        region = "eu-west-1"
    if region != aws.region:
        raise PreflightError(
            f"Bucket {bucket} is in {region} but environment {config.name} is in {aws.region}; "
            "MWAA needs both in the same Region.",
            hint="Use a bucket in the environment's Region.",
        )


def _key_id(key: str) -> str:
    """The key id of a key ARN or id (an alias stays itself)."""
    return key.rsplit(":key/", 1)[-1] if ":key/" in key else key


def _check_key(
    aws: Aws, config: EnvironmentConfig, key: str, rep: Reporter, env_key: str | None = None
) -> list[str]:
    """The key exists and is enabled; a configured kms-key is the environment's own key
    (aliases resolved with DescribeKey, ARNs and key ids compared by key id)."""
    import botocore.exceptions as bx

    rep.step(f"Preflight: KMS key {key}")
    try:
        meta = _call(aws, f"describe KMS key {key}", aws.kms.describe_key, KeyId=key)["KeyMetadata"]
    except bx.ClientError as exc:
        code = error_code(exc)
        if code in ("AccessDeniedException", "AccessDenied"):
            return [f"Cannot describe KMS key {key} (access denied); not checked."]
        if code in ("NotFoundException", "NotFound"):
            raise PreflightError(
                f"KMS key {key} (environment {config.key}) does not exist in {aws.region}.",
                hint=f"Fix kms-key in [environments.{config.key}].",
            ) from None
        with translate(f"describe KMS key {key}", key, aws):
            raise
    state = meta.get("KeyState")
    if state != "Enabled":
        raise PreflightError(
            f"KMS key {key} is {state}; uploads cannot be encrypted with it.",
            hint="Enable the key (aws kms enable-key) or configure another kms-key.",
        )
    if not config.kms_key or config.kms_key == env_key:
        return []
    if not env_key:
        return [
            f"{config.name} uses an AWS owned key, but kms-key {config.kms_key} encrypts the "
            "uploads: its execution role must be allowed to decrypt with that key."
        ]
    if "alias/" in env_key:  # MWAA takes no alias, but resolve one anyway
        try:
            described = _call(
                aws, f"describe KMS key {env_key}", aws.kms.describe_key, KeyId=env_key
            )
        except bx.ClientError:
            return [f"Cannot resolve the environment's KMS key {env_key}; not compared."]
        same = described["KeyMetadata"].get("Arn") == meta.get("Arn")
    elif env_key.startswith("arn:"):
        same = env_key == meta.get("Arn")
    else:
        same = _key_id(env_key) == meta.get("KeyId")
    if not same:
        raise PreflightError(
            f"kms-key {config.kms_key} of [environments.{config.key}] is key "
            f"{meta.get('Arn') or meta.get('KeyId')}, but {config.name} uses KMS key {env_key}: "
            "MWAA could not decrypt what mwaadeps uploads.",
            hint=f'Set kms-key = "{env_key}" in [environments.{config.key}] (or remove it to '
            "use the environment's key).",
        )
    return []


# -- reading what is deployed --------------------------------------------------------------


def _object_sha256(
    aws: Aws, bucket: str, key: str, version: str | None
) -> tuple[str | None, int | None]:
    """sha256 (metadata, S3 checksum, or by reading it) and size of one object version."""
    import botocore.exceptions as bx

    kwargs: dict[str, Any] = {"Bucket": bucket, "Key": key, "ChecksumMode": "ENABLED"}
    if version:
        kwargs["VersionId"] = version
    try:
        head = _call(aws, f"read s3://{bucket}/{key}", aws.s3.head_object, **kwargs)
    except bx.ClientError as exc:
        if error_code(exc) in ("404", "NoSuchKey", "NoSuchVersion", "403", "AccessDenied"):
            return None, None
        with translate(f"read s3://{bucket}/{key}", key, aws):
            raise
    size = int(head.get("ContentLength") or 0)
    meta = head.get("Metadata") or {}
    if re.fullmatch(r"[0-9a-f]{64}", meta.get("sha256", "")):
        return meta["sha256"], size
    checksum = head.get("ChecksumSHA256")
    if checksum and (hexed := _from_b64(checksum)):
        return hexed, size
    kwargs.pop("ChecksumMode")
    with translate(f"read s3://{bucket}/{key}", key, aws):
        body = aws.s3.get_object(**kwargs)["Body"]
        digest = hashlib.sha256()
        for chunk in iter(lambda: body.read(1024 * 1024), b""):
            digest.update(chunk)
    return digest.hexdigest(), size


def deployed_artifacts(
    aws: Aws, bucket: str, environment: Mapping[str, Any]
) -> dict[str, DeployedArtifact]:
    """What the environment points at now, per artifact (with sha256 from S3)."""
    out = {}
    for spec in ARTIFACTS:
        key = environment.get(spec.path_field)
        version = environment.get(spec.version_field)
        sha, size = _object_sha256(aws, bucket, key, version) if key else (None, None)
        out[spec.name] = DeployedArtifact(spec.name, key, version, sha, size)
    return out


# -- plan, upload, update, wait --------------------------------------------------------------


def plan_deploy(
    pre: Preflight, dist: Path, reporter: Reporter | None = None
) -> tuple[ArtifactPlan, ...]:
    """Compare dist/ with what runs now, by sha256."""
    rep = reporter or NullReporter()
    rep.step(f"Planning: comparing {dist} with what {pre.name} runs")
    local = local_artifacts(dist)
    current = deployed_artifacts(pre.aws, pre.bucket, pre.environment)
    plan = []
    for spec in ARTIFACTS:
        now = current[spec.name]
        path = local.get(spec.name)
        if path is None:
            if now.key:
                rep.warn(
                    f"{spec.name} is not in {dist}; {pre.name} keeps {now.key} "
                    f"(version {now.version}). MWAA cannot unset it: deploy an empty file "
                    "to disable it."
                )
                plan.append(
                    ArtifactPlan(
                        spec.name,
                        now.key,
                        "unchanged",
                        now.sha256,
                        now.size,
                        now.key,
                        now.version,
                        now.sha256,
                        now.version,
                    )
                )
            continue
        sha = sha256_file(path)
        key = spec.key(pre.config)
        same = now.sha256 == sha and now.key == key and now.version is not None
        plan.append(
            ArtifactPlan(
                spec.name,
                key,
                "unchanged" if same else "upload",
                sha,
                path.stat().st_size,
                now.key,
                now.version,
                now.sha256,
                now.version if same else None,
            )
        )
    return tuple(plan)


def _sse(kms_key: str | None) -> dict[str, Any]:
    return {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": kms_key} if kms_key else {}


def upload_file(
    aws: Aws,
    bucket: str,
    key: str,
    path: Path,
    sha: str,
    kms_key: str | None,
    options: DeployOptions,
    reporter: Reporter | None = None,
) -> str:
    """Upload with SSE-KMS, the SHA256 checksum and sha256 metadata; the new VersionId."""
    rep = reporter or NullReporter()
    size = path.stat().st_size
    extra: dict[str, Any] = {
        "Metadata": {"sha256": sha, "mwaadeps-version": __version__},
        **_sse(kms_key),
    }
    where = f"s3://{bucket}/{key}"
    with translate(f"upload {path.name} to {where}", where, aws):
        if size <= options.multipart_threshold:
            response = aws.s3.put_object(
                Bucket=bucket,
                Key=key,
                Body=path.read_bytes(),
                ChecksumAlgorithm="SHA256",
                ChecksumSHA256=_b64(sha),
                **extra,
            )
            stored = response.get("ChecksumSHA256")
            if stored and stored != _b64(sha):
                raise AwsError(
                    f"S3 stored {where} with another SHA256 than the file's.",
                    hint="Retry the deploy; if it persists, check the network.",
                )
        else:
            response = _multipart(aws, bucket, key, path, extra, options.part_size, rep)
    version = response.get("VersionId")
    if not version or version == "null":
        raise AwsError(
            f"S3 returned no version for {where}; bucket versioning is not enabled.",
            hint="Enable versioning on the bucket; MWAA needs object versions.",
        )
    return str(version)


def _multipart(
    aws: Aws,
    bucket: str,
    key: str,
    path: Path,
    extra: dict[str, Any],
    part_size: int,
    rep: Reporter,
) -> Any:
    upload = aws.s3.create_multipart_upload(
        Bucket=bucket, Key=key, ChecksumAlgorithm="SHA256", **extra
    )
    upload_id = upload["UploadId"]
    total = -(-path.stat().st_size // part_size)
    parts = []
    try:
        with path.open("rb") as fh:
            for number in range(1, total + 1):
                chunk = fh.read(part_size)
                checksum = base64.b64encode(hashlib.sha256(chunk).digest()).decode()
                part = aws.s3.upload_part(
                    Bucket=bucket,
                    Key=key,
                    UploadId=upload_id,
                    PartNumber=number,
                    Body=chunk,
                    ChecksumSHA256=checksum,
                )
                parts.append(
                    {
                        "ETag": part["ETag"],
                        "PartNumber": number,
                        "ChecksumSHA256": part.get("ChecksumSHA256") or checksum,
                    }
                )
                rep.advance(f"Uploading {path.name}", number, total)
        done = {"Parts": parts}
        return aws.s3.complete_multipart_upload(
            Bucket=bucket,
            Key=key,
            UploadId=upload_id,
            MultipartUpload=done,  # type: ignore[arg-type]
        )
    except BaseException:
        with contextlib.suppress(Exception):
            aws.s3.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
        raise


def _update_kwargs(
    name: str,
    plan: tuple[ArtifactPlan, ...],
    versions: Mapping[str, str | None],
    worker_replacement: str | None,
) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"Name": name}
    for spec in ARTIFACTS:
        item = next((p for p in plan if p.artifact == spec.name), None)
        if item is None:
            continue
        kwargs[spec.path_field] = item.key
        kwargs[spec.version_field] = versions[spec.name]
    if worker_replacement:
        kwargs["WorkerReplacementStrategy"] = worker_replacement.upper()
    return kwargs


def wait_for_update(
    aws: Aws,
    name: str,
    reporter: Reporter | None = None,
    *,
    poll_interval: float = 15.0,
    timeout: float = 3600.0,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """Poll GetEnvironment until AVAILABLE / UPDATE_FAILED / UNAVAILABLE (or the timeout)."""
    rep = reporter or NullReporter()
    started = time.monotonic()
    while True:
        environment = get_environment(aws, name)
        status = str(environment.get("Status"))
        elapsed = time.monotonic() - started
        rep.step(f"{name}: {status} ({int(elapsed // 60)}m{int(elapsed % 60):02d}s)")
        if status in TERMINAL or elapsed >= timeout:
            return environment
        sleep(poll_interval)


def install_logs(
    aws: Aws,
    environment: Mapping[str, Any],
    since: float | None = None,
    reporter: Reporter | None = None,
) -> InstallLogs:
    """The requirements_install_* / startup_script_execution_* streams since ``since``."""
    import botocore.exceptions as bx

    rep = reporter or NullReporter()
    name = str(environment.get("Name"))
    if since is None:
        since = _epoch((environment.get("LastUpdate") or {}).get("CreatedAt"))
    groups = []
    for module in (environment.get("LoggingConfiguration") or {}).values():
        arn = (module or {}).get("CloudWatchLogGroupArn")
        if arn and ":log-group:" in arn:
            groups.append(arn.split(":log-group:", 1)[1].removesuffix(":*"))
    if not groups:
        rep.warn(f"{name} has no CloudWatch log groups enabled; install logs cannot be read.")
    streams: list[LogStream] = []
    for group in sorted(set(groups)):
        for prefix in LOG_PREFIXES:
            try:
                found = _call(
                    aws,
                    f"list log streams of {group}",
                    _streams,
                    client=aws.logs,
                    group=group,
                    prefix=prefix,
                )
            except bx.ClientError as exc:
                if error_code(exc) == "ResourceNotFoundException":
                    break
                if error_code(exc) in ("AccessDeniedException", "AccessDenied"):
                    rep.warn(f"Cannot read log group {group} (access denied).")
                    break
                with translate(f"list log streams of {group}", group, aws):
                    raise
            picked = _pick_streams(found, since)
            for stream in picked:
                with translate(f"read log stream {group}/{stream}", group, aws):
                    lines = _events(aws, group, stream)
                streams.append(LogStream(group, stream, tuple(lines)))
    return InstallLogs(name, since, tuple(streams))


def _streams(client: Any, group: str, prefix: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"logGroupName": group, "logStreamNamePrefix": prefix}
    while True:
        page = client.describe_log_streams(**kwargs)
        found += list(page.get("logStreams", []))
        token = page.get("nextToken")
        if not token or len(found) > 5000:
            return found
        kwargs["nextToken"] = token


def _stream_epoch(name: str) -> int | None:
    match = re.search(r"_(\d{9,11})\.log$", name)
    return int(match.group(1)) if match else None


def _stream_start(stream: Mapping[str, Any]) -> float | None:
    """When a stream's first event was written (else when it was created), epoch seconds."""
    millis = stream.get("firstEventTimestamp") or stream.get("creationTime")
    return millis / 1000.0 if isinstance(millis, int | float) else None


def _pick_streams(streams: list[dict[str, Any]], since: float | None) -> list[str]:
    """The streams of the update that started at ``since``: strictly none from before.

    The epoch in the name (seconds) must not be before the update's second, and the
    stream's first event (milliseconds) not before the update itself; without ``since``,
    the latest batch (within 10 minutes of the newest stream).
    """
    import math

    dated = []
    for stream in streams:
        name = str(stream.get("logStreamName", ""))
        epoch, first = _stream_epoch(name), _stream_start(stream)
        if epoch is None and first is None:
            continue
        dated.append((epoch, first, name))
    if since is not None:
        floor = math.floor(since)
        return sorted(
            n for e, f, n in dated if (e is None or e >= floor) and (f is None or f >= since)
        )
    if not dated:
        return []
    latest = max(e if e is not None else (f or 0) for e, f, _ in dated)
    return sorted(n for e, f, n in dated if (e if e is not None else (f or 0)) >= latest - 600)


def _events(aws: Aws, group: str, stream: str) -> list[str]:
    lines: list[str] = []
    kwargs: dict[str, Any] = {"logGroupName": group, "logStreamName": stream, "startFromHead": True}
    previous = None
    while True:
        page = aws.logs.get_log_events(**kwargs)
        lines += [str(e.get("message", "")).rstrip("\n") for e in page.get("events", [])]
        token = page.get("nextForwardToken")
        if not token or token == previous or not page.get("events"):
            return lines
        previous, kwargs["nextToken"] = token, token


# -- records -----------------------------------------------------------------------------------


_RECORD_RE = re.compile(r"(?:^|/)(\d+)\.json$")


def _record_problem(data: Any, record_id: int, config: EnvironmentConfig) -> str | None:
    """Why a parsed record cannot be used (None: it can)."""
    if not isinstance(data, dict):
        return "it is not a JSON object"
    if data.get("environment") != config.name:
        return f"it belongs to environment {data.get('environment')!r}, not {config.name}"
    if "id" in data and data["id"] != record_id:
        return f"its id {data['id']!r} does not match its name"
    arts = data.get("artifacts")
    if not isinstance(arts, dict) or not all(
        isinstance(v, dict) and isinstance(v.get("key"), str) for v in arts.values()
    ):
        return "its artifacts are not a table of {key, version}"
    if data.get("outcome") not in OUTCOMES:
        return f"its outcome {data.get('outcome')!r} is not one of {', '.join(OUTCOMES)}"
    return None


def _record_ids(aws: Aws, config: EnvironmentConfig, prefix: str) -> tuple[list[str], int]:
    """The current record keys, and the highest id ever used under the prefix (every version
    and delete marker counts, so an id is never given twice)."""
    import botocore.exceptions as bx

    where = f"s3://{config.bucket}/{prefix}"
    keys: list[str] = []
    with translate(f"list deployment records in {where}", config.bucket, aws):
        for page in aws.s3.get_paginator("list_objects_v2").paginate(
            Bucket=config.bucket, Prefix=prefix
        ):
            keys += [o["Key"] for o in page.get("Contents", [])]
    used = [int(m.group(1)) for k in keys if (m := _RECORD_RE.search(k))]
    try:
        for vpage in aws.s3.get_paginator("list_object_versions").paginate(
            Bucket=config.bucket, Prefix=prefix
        ):
            names = [v["Key"] for v in vpage.get("Versions", [])]
            names += [d["Key"] for d in vpage.get("DeleteMarkers", [])]
            used += [int(m.group(1)) for k in names if (m := _RECORD_RE.search(k))]
    except (bx.ClientError, bx.BotoCoreError):
        pass  # no s3:ListBucketVersions: the current keys still give the highest live id
    return keys, max(used, default=0)


def _scan_records(
    config: EnvironmentConfig, aws: Aws
) -> tuple[tuple[DeploymentRecord, ...], list[str], int]:
    """(usable records oldest first, a warning per skipped record, the highest id used)."""
    prefix = _records_prefix(config)
    keys, max_id = _record_ids(aws, config, prefix)
    records, skipped = [], []
    for key in sorted(keys):
        match = _RECORD_RE.search(key)
        if not match or "/" in key[len(prefix) :]:
            continue
        record_id = int(match.group(1))
        where = f"s3://{config.bucket}/{key}"
        with translate(f"read deployment record {where}", key, aws):
            body = aws.s3.get_object(Bucket=config.bucket, Key=key)["Body"].read()
        try:
            data = json.loads(body)
        except ValueError:
            problem: str | None = "it is not valid JSON"
        else:
            problem = _record_problem(data, record_id, config)
        if problem is not None:
            skipped.append(f"Skipped deployment record {where}: {problem}.")
            continue
        records.append(DeploymentRecord(record_id, key, data))
    return tuple(sorted(records, key=lambda r: r.id)), skipped, max_id


def history(
    config: EnvironmentConfig, aws: Aws | None = None, reporter: Reporter | None = None
) -> tuple[DeploymentRecord, ...]:
    """The recorded deployments of an environment, oldest first; corrupt or foreign
    records are skipped with a warning."""
    rep = reporter or NullReporter()
    records, skipped, _ = _scan_records(config, aws or connect(config))
    for warning in skipped:
        rep.warn(warning)
    return records


def _put_record(pre: Preflight, key: str, data: Mapping[str, Any]) -> None:
    body = json.dumps(_jsonable(data), indent=2, sort_keys=True).encode()
    with translate(f"record the deployment in s3://{pre.bucket}/{key}", key, pre.aws):
        pre.aws.s3.put_object(
            Bucket=pre.bucket,
            Key=key,
            Body=body,
            ContentType="application/json",
            **_sse(pre.kms_key),
        )


def _write_record(pre: Preflight, data: dict[str, Any]) -> tuple[int, str]:
    """A new record: the highest id ever used + 1, written only if that key is free."""
    import botocore.exceptions as bx

    for _ in range(10):
        _, max_id = _record_ids(pre.aws, pre.config, _records_prefix(pre.config))
        record_id = max_id + 1
        key = f"{_records_prefix(pre.config)}{record_id:05d}.json"
        try:
            _put_record_raw(pre, key, {**data, "id": record_id})
        except bx.ClientError as exc:
            if error_code(exc) in ("PreconditionFailed", "412", "ConditionalRequestConflict"):
                continue  # another deployer took this id a moment ago
            with translate(f"record the deployment in s3://{pre.bucket}/{key}", key, pre.aws):
                raise
        return record_id, key
    raise AwsError(
        f"Cannot find a free deployment record id under s3://{pre.bucket}/"
        f"{_records_prefix(pre.config)}.",
        hint="Another deployer keeps writing records; retry in a minute.",
    )


def _put_record_raw(pre: Preflight, key: str, data: Mapping[str, Any]) -> None:
    """put_object If-None-Match: *, letting ClientErrors through."""
    body = json.dumps(_jsonable(data), indent=2, sort_keys=True).encode()
    _call(
        pre.aws,
        f"record the deployment in s3://{pre.bucket}/{key}",
        pre.aws.s3.put_object,
        Bucket=pre.bucket,
        Key=key,
        Body=body,
        ContentType="application/json",
        IfNoneMatch="*",
        **_sse(pre.kms_key),
    )


def _update_record(pre: Preflight, record: DeploymentRecord, changes: Mapping[str, Any]) -> None:
    """Overwrite a record (same id) with its resolved outcome."""
    _put_record(pre, record.key, {**record.data, **changes, "id": record.id})


# -- one deployer at a time ------------------------------------------------------------------


@dataclass(frozen=True)
class DeployLock:
    """The lock object this process wrote (released by deleting exactly that version)."""

    key: str
    version: str | None
    owner: str
    expires: str


def _lock_key(config: EnvironmentConfig) -> str:
    return _records_prefix(config).removesuffix("deployments/") + "lock.json"


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).isoformat(timespec="seconds")


def _read_lock(pre: Preflight, key: str) -> tuple[dict[str, Any] | None, str | None]:
    """(the lock's JSON or None when unreadable, its VersionId); (None, None) when absent."""
    import botocore.exceptions as bx

    try:
        got = _call(
            pre.aws,
            f"read s3://{pre.bucket}/{key}",
            pre.aws.s3.get_object,
            Bucket=pre.bucket,
            Key=key,
        )
    except bx.ClientError as exc:
        if error_code(exc) in ("NoSuchKey", "404"):
            return None, None
        with translate(f"read the deploy lock s3://{pre.bucket}/{key}", key, pre.aws):
            raise
    version = got.get("VersionId")
    try:
        data = json.loads(got["Body"].read())
    except ValueError:
        return {}, version
    return (data if isinstance(data, dict) else {}), version


def acquire_lock(
    pre: Preflight,
    action: str,
    ttl: float,
    *,
    break_lock: bool = False,
    reporter: Reporter | None = None,
) -> DeployLock:
    """Write the lock object with If-None-Match: * (owner, time, expiry); refuse when another
    deployer holds it, unless it expired or ``break_lock``."""
    import os
    import socket

    import botocore.exceptions as bx

    rep = reporter or NullReporter()
    key = _lock_key(pre.config)
    where = f"s3://{pre.bucket}/{key}"
    rep.step(f"Locking {pre.name} ({where})")
    now = time.time()
    owner = f"{pre.caller} on {socket.gethostname()} (pid {os.getpid()}, {action})"
    data = {
        "owner": owner,
        "environment": pre.name,
        "action": action,
        "created": _iso(now),
        "expires": _iso(now + ttl),
        "expires_epoch": now + ttl,
        "tool": f"mwaadeps {__version__}",
    }
    body = json.dumps(data, indent=2, sort_keys=True).encode()
    for _ in range(5):
        try:
            put = _call(
                pre.aws,
                f"write the deploy lock {where}",
                pre.aws.s3.put_object,
                Bucket=pre.bucket,
                Key=key,
                Body=body,
                ContentType="application/json",
                IfNoneMatch="*",
                **_sse(pre.kms_key),
            )
        except bx.ClientError as exc:
            if error_code(exc) not in ("PreconditionFailed", "412", "ConditionalRequestConflict"):
                with translate(f"write the deploy lock {where}", key, pre.aws):
                    raise
        else:
            return DeployLock(key, put.get("VersionId"), owner, str(data["expires"]))
        held, version = _read_lock(pre, key)
        if held is None:
            continue  # released in between: try again
        expires = held.get("expires_epoch")
        expired = not isinstance(expires, int | float) or expires <= time.time()
        who = held.get("owner") or "an unknown deployer (unreadable lock)"
        if not (expired or break_lock):
            raise LockedError(
                f"{pre.name} is locked by {who} since {held.get('created')} ({where}); "
                f"the lock expires at {held.get('expires')}.",
                hint="Wait for that deploy to finish; if it is dead, pass --break-lock "
                "(or wait until the lock expires).",
            )
        rep.warn(
            f"Taking over the deploy lock of {pre.name} from {who} "
            f"({'--break-lock' if not expired else 'expired at ' + str(held.get('expires'))})."
        )
        _delete_version(pre, key, version)
    raise LockedError(
        f"Cannot take the deploy lock {where}: other deployers keep taking it.",
        hint="Retry in a minute.",
    )


def _delete_version(pre: Preflight, key: str, version: str | None) -> None:
    kwargs: dict[str, Any] = {"Bucket": pre.bucket, "Key": key}
    if version:
        kwargs["VersionId"] = version
    with translate(f"remove the deploy lock s3://{pre.bucket}/{key}", key, pre.aws):
        pre.aws.s3.delete_object(**kwargs)


def release_lock(pre: Preflight, lock: DeployLock, reporter: Reporter | None = None) -> None:
    """Delete the version of the lock this process wrote (never someone else's)."""
    try:
        _delete_version(pre, lock.key, lock.version)
    except MwaadepsError as exc:
        (reporter or NullReporter()).warn(
            f"Could not release the deploy lock s3://{pre.bucket}/{lock.key}: {exc.message} "
            f"(it expires at {lock.expires})."
        )


@contextlib.contextmanager
def _locked(
    pre: Preflight, action: str, options: DeployOptions, rep: Reporter
) -> Iterator[DeployLock]:
    ttl = (options.timeout if options.wait else 0.0) + 900.0
    lock = acquire_lock(pre, action, ttl, break_lock=options.break_lock, reporter=rep)
    try:
        yield lock
    finally:
        release_lock(pre, lock, rep)


# -- judging an update, resolving pending records, the health of what runs -------------------


@dataclass(frozen=True)
class Health:
    """Is what an environment runs a verified deployment? healthy | failed | unverified."""

    state: str
    reason: str
    record: DeploymentRecord | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "reason": self.reason,
            "record": self.record.id if self.record else None,
        }


def _running(environment: Mapping[str, Any]) -> dict[str, tuple[str, str | None]]:
    return {
        s.name: (str(environment[s.path_field]), environment.get(s.version_field))
        for s in ARTIFACTS
        if environment.get(s.path_field)
    }


def _judge(
    aws: Aws,
    config: EnvironmentConfig,
    environment: Mapping[str, Any],
    since: float | None,
    rep: Reporter,
) -> tuple[ErrorInfo | None, InstallLogs]:
    """How the update that started at ``since`` ended: None (success) or why it failed."""
    name, status = config.name, str(environment.get("Status"))
    last_error = (environment.get("LastUpdate") or {}).get("Error") or None
    rep.step(f"Reading the install logs of {name}")
    logs = install_logs(aws, environment, since=since, reporter=rep)
    if status == "UPDATE_FAILED":
        detail = (
            f"{last_error.get('ErrorCode')}: {last_error.get('ErrorMessage')}"
            if last_error
            else "no error given"
        )
        return ErrorInfo(
            "update_failed",
            f"The update of {name} failed ({detail}); MWAA rolled back to the previous versions.",
            f"Read the log lines above (mwaadeps logs --env {config.key}), fix the bundle and "
            "deploy again.",
        ), logs
    if status != "AVAILABLE":
        return ErrorInfo(
            "unavailable",
            f"{name} is {status} after the update.",
            f"Check mwaadeps status --env {config.key} and the MWAA console.",
        ), logs
    if logs.pip_failed:
        return ErrorInfo(
            "pip_failed",
            f"{name} is AVAILABLE but pip failed to install the requirements "
            "(MWAA starts Airflow anyway, without the missing packages).",
            f"Fix the bundle and deploy again, or mwaadeps rollback --env {config.key}.",
        ), logs
    if environment.get("RequirementsS3Path") and not any(
        s.name.startswith("requirements_install_") for s in logs.streams
    ):
        rep.warn(
            f"No requirements_install log stream found for this update of {name}; "
            "pip's result could not be verified."
        )
    return None, logs


def _light_preflight(
    aws: Aws, config: EnvironmentConfig, environment: Mapping[str, Any]
) -> Preflight:
    """What resolving a record needs, without the deploy checks (status, promote's source)."""
    kms = config.kms_key or environment.get("KmsKey")
    return Preflight(aws, config, environment, "", str(kms) if kms else None)


def resolve_pending(
    pre: Preflight,
    records: tuple[DeploymentRecord, ...],
    by: str,
    reporter: Reporter | None = None,
) -> tuple[DeploymentRecord, ...]:
    """Settle the last record when it is pending and MWAA has finished: from LastUpdate
    (which update, how it ended) and the install logs; the record is rewritten."""
    rep = reporter or NullReporter()
    if not records or records[-1].outcome != "pending":
        return records
    last, environment = records[-1], pre.environment
    status = str(environment.get("Status"))
    if status not in TERMINAL:
        return records
    update = environment.get("LastUpdate") or {}
    created = _epoch(update.get("CreatedAt"))
    before = last.data.get("previous_update_epoch")
    changes: dict[str, Any] = {"status": status, "resolved_at": _now(), "resolved_by": by}
    if created is None or (isinstance(before, int | float) and abs(created - before) < 0.001):
        error: ErrorInfo | None = ErrorInfo(
            "not_started",
            f"MWAA shows no update of {pre.name} after deployment {last.id} called "
            "UpdateEnvironment; it never started.",
        )
        changes["outcome"] = "not_started"
    else:
        error, _ = _judge(pre.aws, pre.config, environment, created, rep)
        if error is None and _running(environment) != last.versions():
            error = ErrorInfo(
                "superseded",
                f"{pre.name} runs other versions than deployment {last.id}; another update "
                "followed it.",
            )
            changes["outcome"] = "unknown"
        else:
            changes["outcome"] = "success" if error is None else "failed"
    changes["error"] = error.as_json() if error else None
    _update_record(pre, last, changes)
    rep.warn(
        f"Deployment {last.id} of {pre.name} was pending; MWAA says it ended: "
        f"{changes['outcome']}{' (' + error.message + ')' if error else ''}."
    )
    resolved = DeploymentRecord(last.id, last.key, {**last.data, **changes, "id": last.id})
    return (*records[:-1], resolved)


def running_health(
    aws: Aws,
    config: EnvironmentConfig,
    environment: Mapping[str, Any],
    records: tuple[DeploymentRecord, ...],
    reporter: Reporter | None = None,
) -> Health:
    """Whether the versions the environment runs are a verified deployment: the newest
    record of exactly these versions, and the live install logs of the last update."""
    rep = reporter or NullReporter()
    running = _running(environment)
    record = next((r for r in reversed(records) if r.versions() == running), None)
    update = environment.get("LastUpdate") or {}
    if update.get("Status") in (None, "SUCCESS"):  # the running versions come from it
        logs = install_logs(aws, environment, reporter=rep)
        if logs.pip_failed:
            first = next(iter(logs.error_lines()), "")
            return Health(
                "failed", f"pip failed in its last update ({first or 'see mwaadeps logs'})", record
            )
    if record is None:
        return Health("unverified", "no deployment record matches the versions it runs")
    if record.outcome == "success":
        return Health("healthy", f"deployment {record.id} of these versions succeeded", record)
    err = record.data.get("error") or {}
    why = f": {err.get('message')}" if isinstance(err, dict) and err.get("message") else ""
    if record.outcome == "failed":
        return Health("failed", f"deployment {record.id} of these versions failed{why}", record)
    return Health(
        "unverified", f"deployment {record.id} of these versions is {record.outcome}{why}", record
    )


# -- the flows ---------------------------------------------------------------------------------


def deploy(
    config: EnvironmentConfig,
    dist: Path,
    options: DeployOptions | None = None,
    reporter: Reporter | None = None,
) -> DeployResult:
    """Deploy dist/ to the environment: preflight, plan, upload, update, wait, verify, record.

    Preflight refusals raise PreflightError; later failures return ok=False with the error.
    An unchanged bundle on a broken environment (its deployment failed, or pip failed) is a
    failure, not "nothing changed", unless ``options.force`` redeploys it.
    """
    options = options or DeployOptions()
    rep = reporter or NullReporter()
    local = local_artifacts(dist)
    manifest = _manifest(dist)
    pre = preflight(config, rep)
    records = resolve_pending(pre, history(config, pre.aws, rep), "deploy", rep)
    plan = plan_deploy(pre, dist, rep)
    base = DeployResult(
        True,
        config.name,
        "deploy",
        plan,
        False,
        str(pre.environment["Status"]),
        dry_run=options.dry_run,
        warnings=pre.warnings,
    )
    if not any(p.changes for p in plan):
        health = running_health(pre.aws, config, pre.environment, records, rep)
        if health.state == "failed" and not options.force:
            return _replace(
                base,
                ok=False,
                error=ErrorInfo(
                    "unchanged_but_broken",
                    f"Nothing to upload, but {config.name} is broken: {health.reason}.",
                    "Fix the bundle and deploy again, mwaadeps rollback --env "
                    f"{config.key}, or redeploy the same bundle with --force.",
                ),
            )
        if options.force:
            plan = tuple(_replace_plan(p, "redeploy") if p.artifact in local else p for p in plan)
            base = _replace(base, plan=plan)

    def upload(item: ArtifactPlan) -> str:
        assert item.sha256 is not None
        return upload_file(
            pre.aws,
            pre.bucket,
            item.key,
            local[item.artifact],
            item.sha256,
            pre.kms_key,
            options,
            rep,
        )

    return _apply(pre, base, options, rep, {"action": "deploy", "manifest": manifest}, upload)


def _replace_plan(item: ArtifactPlan, action: str) -> ArtifactPlan:
    from dataclasses import replace

    return replace(item, action=action)


def _with_versions(
    plan: list[ArtifactPlan] | tuple[ArtifactPlan, ...], versions: Mapping[str, str | None]
) -> tuple[ArtifactPlan, ...]:
    from dataclasses import replace

    return tuple(replace(p, new_version=versions.get(p.artifact)) for p in plan)


def _replace(result: DeployResult, **changes: Any) -> DeployResult:
    from dataclasses import replace

    return replace(result, **changes)


_VERBS = {
    "upload": ("Uploading", "upload_failed", "Upload"),
    "copy": ("Copying", "copy_failed", "Copy"),
}


def _apply(
    pre: Preflight,
    result: DeployResult,
    options: DeployOptions,
    rep: Reporter,
    record: dict[str, Any],
    transfer: Callable[[ArtifactPlan], str] | None = None,
) -> DeployResult:
    """The one apply path of deploy, rollback and promote: take the lock, transfer what
    changed (upload / copy), one UpdateEnvironment, wait, verify, record, release the lock."""
    if options.dry_run or not any(p.changes for p in result.plan):
        return result
    with _locked(pre, result.action, options, rep):
        now = get_environment(pre.aws, pre.name)
        if str(now.get("Status")) not in UPDATABLE:
            raise PreflightError(
                f"{pre.name} became {now.get('Status')} while this {result.action} was planned "
                "(another update started).",
                hint=f"Wait for it (mwaadeps status --env {pre.config.key}), then retry.",
            )
        versions: dict[str, str | None] = {p.artifact: p.new_version for p in result.plan}
        moving = [p for p in result.plan if p.action in _VERBS]
        for done, item in enumerate(moving, 1):
            verb, code, noun = _VERBS[item.action]
            rep.step(f"{verb} {item.artifact} -> s3://{pre.bucket}/{item.key}")
            assert transfer is not None
            try:
                versions[item.artifact] = transfer(item)
            except MwaadepsError as exc:
                return _replace(
                    result,
                    plan=_with_versions(result.plan, versions),
                    ok=False,
                    error=ErrorInfo(
                        code,
                        f"{noun} of {item.artifact} failed; UpdateEnvironment was not called "
                        f"and {pre.name} still runs the previous versions. {exc.message}",
                        exc.hint,
                    ),
                )
            rep.advance(f"{verb} done", done, len(moving))
        final = _replace(result, plan=_with_versions(result.plan, versions))
        return _update_and_verify(pre, final, versions, options, rep, record)


def _update_and_verify(
    pre: Preflight,
    result: DeployResult,
    versions: Mapping[str, str | None],
    options: DeployOptions,
    rep: Reporter,
    record: dict[str, Any],
) -> DeployResult:
    """One UpdateEnvironment, recorded as pending at once; then wait, read the install logs,
    and record the outcome. An interrupted, lost or timed-out wait leaves it pending."""
    kwargs = _update_kwargs(pre.name, result.plan, versions, options.worker_replacement)
    previous = _epoch((pre.environment.get("LastUpdate") or {}).get("CreatedAt"))
    data: dict[str, Any] = {
        **record,
        "environment": pre.name,
        "env_key": pre.config.key,
        "time": _now(),
        "who": pre.caller,
        "tool": f"mwaadeps {__version__}",
        "worker_replacement": kwargs.get("WorkerReplacementStrategy"),
        "artifacts": {
            p.artifact: {
                "key": p.key,
                "version": versions.get(p.artifact),
                "sha256": p.sha256,
                "size": p.size,
            }
            for p in result.plan
        },
        "previous": {p.artifact: {"key": p.old_key, "version": p.old_version} for p in result.plan},
        "previous_update_epoch": previous,
        "outcome": "pending",
        "status": "UPDATING",
        "error": None,
    }
    rep.step(f"UpdateEnvironment {pre.name}")
    started = time.time()
    data["update_started"] = started
    record_id: int | None = None
    key = ""
    try:
        # A signal between the call and the pending record would lose track of a started
        # update: both happen with SIGINT/SIGTERM held back, delivered right after.
        with _signals_deferred():
            try:
                with translate(f"update MWAA environment {pre.name}", pre.name, pre.aws):
                    pre.aws.mwaa.update_environment(**kwargs)
            except AwsError as exc:
                return _replace(
                    result,
                    ok=False,
                    error=ErrorInfo(
                        "update_rejected",
                        exc.message,
                        exc.hint
                        or "MWAA did not start the update; fix the cause and deploy again.",
                    ),
                )
            record_id, key = _write_record(pre, data)
        result = _replace(
            result,
            update_called=True,
            status="UPDATING",
            record_id=record_id,
            record_key=key,
            started_at=_iso(started),
        )
        rep.step(
            f"Update of {pre.name} started at {_iso(started)}; recorded as pending deployment "
            f"{record_id} ({key})"
        )
        if not options.wait:
            return result
        return _wait_and_verify(pre, result, options, rep, data, started)
    except KeyboardInterrupt as exc:
        if record_id is None:  # UpdateEnvironment was rejected or never sent
            raise
        return _stopped(pre, result, exc, record_id, key, started)


@contextlib.contextmanager
def _signals_deferred() -> Iterator[None]:
    """Hold SIGINT/SIGTERM back (main thread, POSIX); they are delivered when the block ends."""
    import signal
    import threading

    held = {signal.SIGINT, signal.SIGTERM}
    if not hasattr(signal, "pthread_sigmask") or threading.current_thread() is not (
        threading.main_thread()
    ):
        yield
        return
    signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, held)


def _wait_and_verify(
    pre: Preflight,
    result: DeployResult,
    options: DeployOptions,
    rep: Reporter,
    data: dict[str, Any],
    started: float,
) -> DeployResult:
    """Wait for the started update, judge it, and rewrite its pending record."""
    assert result.record_id is not None and result.record_key is not None
    record_id = result.record_id
    pending = DeploymentRecord(record_id, result.record_key, {**data, "id": record_id})
    try:
        environment = wait_for_update(
            pre.aws, pre.name, rep, poll_interval=options.poll_interval, timeout=options.timeout
        )
    except MwaadepsError as exc:
        return _replace(
            result,
            ok=False,
            error=ErrorInfo(
                "wait_lost",
                f"Lost track of the update of {pre.name} while waiting ({exc.message}). "
                f"UpdateEnvironment was called at {_iso(started)} and the update goes on in MWAA; "
                f"recorded as pending deployment {record_id}.",
                f"mwaadeps status --env {pre.config.key} shows how it ended (and records it).",
            ),
        )
    status = str(environment.get("Status"))
    if status not in TERMINAL:
        return _replace(
            result,
            ok=False,
            status=status,
            error=ErrorInfo(
                "still_updating",
                f"{pre.name} is still {status} after {options.timeout:g} s; the update goes on "
                f"in MWAA (this is not a failure); recorded as pending deployment {record_id}.",
                f"mwaadeps status --env {pre.config.key} shows how it ended (and records it).",
            ),
        )
    last = environment.get("LastUpdate") or {}
    since = _epoch(last.get("CreatedAt")) or started
    error, logs = _judge(pre.aws, pre.config, environment, since, rep)
    _update_record(
        pre,
        pending,
        {
            "outcome": "success" if error is None else "failed",
            "status": status,
            "error": error.as_json() if error else None,
        },
    )
    last_error = last.get("Error") or None
    return _replace(
        result,
        ok=error is None,
        status=status,
        error=error,
        waited=True,
        last_update_error=dict(last_error) if last_error else None,
        log_lines=logs.error_lines(),
    )


def _stopped(
    pre: Preflight,
    result: DeployResult,
    exc: KeyboardInterrupt,
    record_id: int,
    key: str,
    started: float,
) -> DeployResult:
    import signal

    signum = exc.signum if isinstance(exc, Interrupted) else int(signal.SIGINT)
    name = signal.Signals(signum).name
    return _replace(
        result,
        ok=False,
        update_called=True,
        status="UPDATING",
        record_id=record_id,
        record_key=key,
        started_at=_iso(started),
        interrupted=signum,
        error=ErrorInfo(
            "interrupted",
            f"Interrupted ({name}) while waiting: UpdateEnvironment of {pre.name} was called at "
            f"{_iso(started)} and the update goes on in MWAA; recorded as pending deployment "
            f"{record_id} ({key}).",
            f"mwaadeps status --env {pre.config.key} shows how it ended (and records it).",
        ),
    )


def rollback(
    config: EnvironmentConfig,
    to: int | None = None,
    options: DeployOptions | None = None,
    reporter: Reporter | None = None,
) -> DeployResult:
    """Point the environment back at a recorded set of object versions (no upload)."""
    options = options or DeployOptions()
    rep = reporter or NullReporter()
    pre = preflight(config, rep)
    records = resolve_pending(pre, history(config, pre.aws, rep), "rollback", rep)
    current = {
        s.name: (pre.environment.get(s.path_field), pre.environment.get(s.version_field))
        for s in ARTIFACTS
    }
    if to is not None:
        chosen = next((r for r in records if r.id == to), None)
        if chosen is None:
            ids = ", ".join(str(r.id) for r in records) or "none"
            raise PreflightError(
                f"There is no deployment record {to} for {config.name} (recorded: {ids}).",
                hint=f"mwaadeps history --env {config.key}",
            )
        if chosen.outcome != "success":
            rep.warn(f"Deployment {chosen.id} is {chosen.outcome}; rolling back to it anyway.")
    else:
        running = _running(pre.environment)
        candidates = [r for r in records if r.outcome == "success" and r.versions() != running]
        if not candidates:
            raise PreflightError(
                f"No earlier successful deployment of {config.name} to roll back to.",
                hint=f"mwaadeps history --env {config.key}",
            )
        chosen = candidates[-1]
    rep.step(f"Rolling {config.name} back to deployment {chosen.id}")
    plan = []
    for artifact, (key, version) in chosen.versions().items():
        sha, size = _object_sha256(pre.aws, pre.bucket, key, version)
        if sha is None:
            raise PreflightError(
                f"s3://{pre.bucket}/{key} version {version} (record {chosen.id}) no longer exists.",
                hint="Pick another record with --to.",
            )
        old_key, old_version = current.get(artifact, (None, None))
        same = (old_key, old_version) == (key, version)
        plan.append(
            ArtifactPlan(
                artifact,
                key,
                "unchanged" if same else "restore",
                sha,
                size,
                old_key,
                old_version,
                None,
                version,
            )
        )
    plan.sort(key=lambda p: [s.name for s in ARTIFACTS].index(p.artifact))
    result = DeployResult(
        True,
        config.name,
        "rollback",
        tuple(plan),
        False,
        str(pre.environment["Status"]),
        dry_run=options.dry_run,
        warnings=pre.warnings,
    )
    record = {
        "action": "rollback",
        "rolled_back_to": chosen.id,
        "manifest": chosen.data.get("manifest"),
    }
    return _apply(pre, result, options, rep, record)


def promote(
    source: EnvironmentConfig,
    dest: EnvironmentConfig,
    options: DeployOptions | None = None,
    reporter: Reporter | None = None,
) -> DeployResult:
    """Deploy to ``dest`` the exact objects ``source`` runs (copied, same sha256s), only when
    they are a verified, successful deployment of ``source``."""
    options = options or DeployOptions()
    rep = reporter or NullReporter()
    rep.step(f"Reading what {source.name} runs")
    src_aws = connect(source)
    src_env = get_environment(src_aws, source.name)
    if src_env.get("Status") != "AVAILABLE":
        raise PreflightError(
            f"{source.name} is {src_env.get('Status')}; promote copies only "
            "what a healthy environment runs.",
            hint=f"Wait until it is AVAILABLE (mwaadeps status --env {source.key}).",
        )
    src_bucket = str(src_env.get("SourceBucketArn", "")).rsplit(":", 1)[-1] or source.bucket
    running = deployed_artifacts(src_aws, src_bucket, src_env)
    if not any(a.key for a in running.values()):
        raise PreflightError(
            f"{source.name} runs no requirements, plugins or startup script.",
            hint=f"Deploy to {source.key} first.",
        )
    src_pre = _light_preflight(src_aws, source, src_env)
    src_records = resolve_pending(src_pre, history(source, src_aws, rep), "promote", rep)
    health = running_health(src_aws, source, src_env, src_records, rep)
    if health.state != "healthy":
        raise PreflightError(
            f"{source.name} runs a deployment that is {health.state}: {health.reason}; "
            "promote copies only a verified, successful deployment.",
            hint=f"Fix it first (mwaadeps status --env {source.key}; deploy or rollback "
            f"--env {source.key}).",
        )
    pre = preflight(dest, rep)
    current = deployed_artifacts(pre.aws, pre.bucket, pre.environment)
    plan = []
    for spec in ARTIFACTS:
        src = running[spec.name]
        if not src.key:
            continue
        if src.sha256 is None:
            raise PreflightError(
                f"Cannot read s3://{src_bucket}/{src.key} version {src.version}.",
                hint="Check read access to the source bucket.",
            )
        now = current[spec.name]
        key = spec.key(dest)
        same = now.sha256 == src.sha256 and now.key == key and now.version is not None
        plan.append(
            ArtifactPlan(
                spec.name,
                key,
                "unchanged" if same else "copy",
                src.sha256,
                src.size,
                now.key,
                now.version,
                now.sha256,
                now.version if same else None,
            )
        )
    result = DeployResult(
        True,
        dest.name,
        "promote",
        tuple(plan),
        False,
        str(pre.environment["Status"]),
        dry_run=options.dry_run,
        warnings=pre.warnings,
    )
    assert health.record is not None
    record = {
        "action": "promote",
        "manifest": health.record.data.get("manifest"),
        "promoted_from": {"environment": source.name, "record": health.record.id},
    }
    return _apply(
        pre,
        result,
        options,
        rep,
        record,
        lambda item: _copy(pre, src_bucket, running[item.artifact], item),
    )


def _copy(pre: Preflight, src_bucket: str, src: DeployedArtifact, item: ArtifactPlan) -> str:
    assert src.key is not None and item.sha256 is not None
    source: dict[str, str] = {"Bucket": src_bucket, "Key": src.key}
    if src.version:
        source["VersionId"] = src.version
    where = f"s3://{pre.bucket}/{item.key}"
    with translate(f"copy {item.artifact} to {where}", where, pre.aws):
        response = pre.aws.s3.copy_object(
            Bucket=pre.bucket,
            Key=item.key,
            CopySource=source,  # type: ignore[arg-type]
            MetadataDirective="REPLACE",
            Metadata={"sha256": item.sha256, "mwaadeps-version": __version__},
            ChecksumAlgorithm="SHA256",
            **_sse(pre.kms_key),
        )
    version = response.get("VersionId")
    if not version:
        raise AwsError(f"S3 returned no version for {where}; bucket versioning is not enabled.")
    copied, _ = _object_sha256(pre.aws, pre.bucket, item.key, version)
    if copied != item.sha256:
        raise AwsError(
            f"The copy at {where} (version {version}) has sha256 {copied}, not {item.sha256}.",
            hint="Retry the promote.",
        )
    return str(version)


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
    local: dict[str, Path] = {}
    if dist is not None and dist.is_dir():
        local = {a.name: dist / a.name for a in ARTIFACTS if (dist / a.name).is_file()}
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
        pre = _light_preflight(aws, config, environment)
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
        _jsonable(environment.get("LastUpdate")),
        tuple(rows),
        last_record,
        health,
    )


def _parse_requirements(text: str) -> tuple[dict[str, str], set[str]]:
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.utils import canonicalize_name

    packages: dict[str, str] = {}
    options: set[str] = set()
    for raw in text.replace("\\\n", " ").splitlines():
        line = re.sub(r"(^|\s)#.*$", "", raw).strip()
        if not line:
            continue
        if line.startswith("-"):
            options.add(" ".join(line.split()))
            continue
        try:
            req = Requirement(line.split(" --hash")[0].strip())
        except InvalidRequirement:
            options.add(line)
            continue
        specs = list(req.specifier)
        version = (
            specs[0].version
            if len(specs) == 1 and specs[0].operator in ("==", "===")
            else str(req.specifier) or "*"
        )
        packages[canonicalize_name(req.name)] = version
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
    old, old_opts = _parse_requirements(deployed_text)
    new, new_opts = _parse_requirements(local_path.read_text(encoding="utf-8"))
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


def resolve_worker_replacement(value: str | None, config: EnvironmentConfig) -> str | None:
    """CLI value > environment config > MWAA's default (None)."""
    chosen = value or config.worker_replacement
    if chosen is None:
        return None
    if chosen.lower() not in ("graceful", "forced"):
        raise ConfigError(f"--worker-replacement must be graceful or forced, not {chosen!r}.")
    return chosen.lower()
