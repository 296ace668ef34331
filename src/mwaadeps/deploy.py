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

from . import __version__
from .aws import Aws, connect, describe, error_code, translate
from .errors import AwsError, BundleError, ConfigError, MwaadepsError, PreflightError
from .progress import NullReporter, Reporter

if TYPE_CHECKING:
    from .config import EnvironmentConfig

PIP_FAILED = "ERROR: pip installation exited with a non-zero error code"
LOG_PREFIXES = ("requirements_install_", "startup_script_execution_")
UPDATABLE = ("AVAILABLE", "UPDATE_FAILED")
TERMINAL = ("AVAILABLE", "UPDATE_FAILED", "UNAVAILABLE", "CREATE_FAILED", "DELETED")
RECORDS_DIR = ".mwaadeps/deployments/"
MB = 1024 * 1024

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
        }


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


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, streamed."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1024 * 1024), b""):
            digest.update(chunk)
    return digest.hexdigest()


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
        warnings += _check_key(aws, config, str(kms_key), rep)
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


def _check_key(aws: Aws, config: EnvironmentConfig, key: str, rep: Reporter) -> list[str]:
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


def _streams(client: Any, group: str, prefix: str) -> list[str]:
    names: list[str] = []
    kwargs: dict[str, Any] = {"logGroupName": group, "logStreamNamePrefix": prefix}
    while True:
        page = client.describe_log_streams(**kwargs)
        names += [s["logStreamName"] for s in page.get("logStreams", [])]
        token = page.get("nextToken")
        if not token or len(names) > 5000:
            return names
        kwargs["nextToken"] = token


def _stream_epoch(name: str) -> int | None:
    match = re.search(r"_(\d{9,11})\.log$", name)
    return int(match.group(1)) if match else None


def _pick_streams(names: list[str], since: float | None) -> list[str]:
    dated = [(e, n) for n in names if (e := _stream_epoch(n)) is not None]
    if since is not None:
        return sorted(n for e, n in dated if e >= since - 5)
    if not dated:
        return []
    latest = max(e for e, _ in dated)
    return sorted(n for e, n in dated if e >= latest - 600)


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


def history(config: EnvironmentConfig, aws: Aws | None = None) -> tuple[DeploymentRecord, ...]:
    """The recorded deployments of an environment, oldest first."""
    aws = aws or connect(config)
    prefix = _records_prefix(config)
    keys: list[str] = []
    with translate(f"list deployment records in s3://{config.bucket}/{prefix}", config.bucket, aws):
        paginator = aws.s3.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=config.bucket, Prefix=prefix):
            keys += [o["Key"] for o in page.get("Contents", [])]
    records = []
    for key in sorted(keys):
        match = re.search(r"/?(\d+)\.json$", key)
        if not match:
            continue
        with translate(f"read deployment record s3://{config.bucket}/{key}", key, aws):
            body = aws.s3.get_object(Bucket=config.bucket, Key=key)["Body"].read()
        try:
            data = json.loads(body)
        except ValueError:
            continue
        records.append(DeploymentRecord(int(match.group(1)), key, data))
    return tuple(sorted(records, key=lambda r: r.id))


def _write_record(pre: Preflight, data: dict[str, Any]) -> tuple[int, str]:
    existing = history(pre.config, pre.aws)
    record_id = (existing[-1].id + 1) if existing else 1
    key = f"{_records_prefix(pre.config)}{record_id:05d}.json"
    body = json.dumps({"id": record_id, **_jsonable(data)}, indent=2, sort_keys=True).encode()
    with translate(f"record the deployment in s3://{pre.bucket}/{key}", key, pre.aws):
        pre.aws.s3.put_object(
            Bucket=pre.bucket,
            Key=key,
            Body=body,
            ContentType="application/json",
            **_sse(pre.kms_key),
        )
    return record_id, key


# -- the flows ---------------------------------------------------------------------------------


def deploy(
    config: EnvironmentConfig,
    dist: Path,
    options: DeployOptions | None = None,
    reporter: Reporter | None = None,
) -> DeployResult:
    """Deploy dist/ to the environment: preflight, plan, upload, update, wait, verify, record.

    Preflight refusals raise PreflightError; later failures return ok=False with the error.
    """
    options = options or DeployOptions()
    rep = reporter or NullReporter()
    local = local_artifacts(dist)
    manifest = _manifest(dist)
    pre = preflight(config, rep)
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
    if options.dry_run or not any(p.changes for p in plan):
        return base
    versions: dict[str, str | None] = {p.artifact: p.new_version for p in plan}
    uploads = [p for p in plan if p.changes]
    final_plan = list(plan)
    for done, item in enumerate(uploads, 1):
        rep.step(f"Uploading {item.artifact} -> s3://{pre.bucket}/{item.key}")
        assert item.sha256 is not None
        try:
            versions[item.artifact] = upload_file(
                pre.aws,
                pre.bucket,
                item.key,
                local[item.artifact],
                item.sha256,
                pre.kms_key,
                options,
                rep,
            )
        except MwaadepsError as exc:
            return _replace(
                base,
                plan=_with_versions(final_plan, versions),
                ok=False,
                error=ErrorInfo(
                    "upload_failed",
                    f"Upload of {item.artifact} failed; UpdateEnvironment "
                    f"was not called and {config.name} still runs the "
                    f"previous versions. {exc.message}",
                    exc.hint,
                ),
            )
        rep.advance("Uploaded", done, len(uploads))
    final = _with_versions(final_plan, versions)
    return _update_and_verify(
        pre,
        _replace(base, plan=final),
        versions,
        options,
        rep,
        {"action": "deploy", "manifest": manifest},
    )


def _with_versions(
    plan: list[ArtifactPlan] | tuple[ArtifactPlan, ...], versions: Mapping[str, str | None]
) -> tuple[ArtifactPlan, ...]:
    from dataclasses import replace

    return tuple(replace(p, new_version=versions.get(p.artifact)) for p in plan)


def _replace(result: DeployResult, **changes: Any) -> DeployResult:
    from dataclasses import replace

    return replace(result, **changes)


def _update_and_verify(
    pre: Preflight,
    result: DeployResult,
    versions: Mapping[str, str | None],
    options: DeployOptions,
    rep: Reporter,
    record: dict[str, Any],
) -> DeployResult:
    """One UpdateEnvironment, then wait, read the install logs, and record the outcome."""
    kwargs = _update_kwargs(pre.name, result.plan, versions, options.worker_replacement)
    rep.step(f"UpdateEnvironment {pre.name}")
    started = time.time()
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
                exc.hint or "MWAA did not start the update; fix the cause and deploy again.",
            ),
        )
    result = _replace(result, update_called=True, status="UPDATING")
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
    }
    if not options.wait:
        record_id, key = _write_record(pre, {**data, "outcome": "pending", "status": "UPDATING"})
        return _replace(result, record_id=record_id, record_key=key)
    environment = wait_for_update(
        pre.aws, pre.name, rep, poll_interval=options.poll_interval, timeout=options.timeout
    )
    status = str(environment.get("Status"))
    last = environment.get("LastUpdate") or {}
    last_error = last.get("Error") or None
    rep.step(f"Reading the install logs of {pre.name}")
    logs = install_logs(pre.aws, environment, since=started - 5, reporter=rep)
    error: ErrorInfo | None = None
    if status == "UPDATE_FAILED":
        detail = (
            f"{last_error.get('ErrorCode')}: {last_error.get('ErrorMessage')}"
            if last_error
            else "no error given"
        )
        error = ErrorInfo(
            "update_failed",
            f"The update of {pre.name} failed ({detail}); MWAA rolled back to the "
            "previous versions.",
            "Read the log lines above (mwaadeps logs --env "
            f"{pre.config.key}), fix the bundle and deploy again.",
        )
    elif status != "AVAILABLE":
        error = ErrorInfo(
            "timeout" if status not in TERMINAL else "unavailable",
            f"{pre.name} is {status} after the update.",
            f"Check mwaadeps status --env {pre.config.key} and the MWAA console.",
        )
    elif logs.pip_failed:
        error = ErrorInfo(
            "pip_failed",
            f"{pre.name} is AVAILABLE but pip failed to install the requirements "
            "(MWAA starts Airflow anyway, without the missing packages).",
            f"Fix the bundle and deploy again, or mwaadeps rollback --env {pre.config.key}.",
        )
    elif not any(s.name.startswith("requirements_install_") for s in logs.streams) and versions.get(
        "requirements.txt"
    ):
        rep.warn(
            f"No requirements_install log stream found for this update of {pre.name}; "
            "pip's result could not be verified."
        )
    outcome = "success" if error is None else "failed"
    record_id, key = _write_record(
        pre,
        {**data, "outcome": outcome, "status": status, "error": error.as_json() if error else None},
    )
    return _replace(
        result,
        ok=error is None,
        status=status,
        error=error,
        waited=True,
        record_id=record_id,
        record_key=key,
        last_update_error=dict(last_error) if last_error else None,
        log_lines=logs.error_lines(),
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
    records = history(config, pre.aws)
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
    else:
        running = {a: v for a, v in current.items() if v[0]}
        candidates = [r for r in records if r.outcome == "success" and r.versions() != running]
        if not candidates:
            raise PreflightError(
                f"No earlier successful deployment of {config.name} to roll back to.",
                hint=f"mwaadeps history --env {config.key}",
            )
        chosen = candidates[-1]
    rep.step(f"Rolling {config.name} back to deployment {chosen.id}")
    versions: dict[str, str | None] = {}
    plan = []
    arts = chosen.data.get("artifacts") or {}
    for spec in ARTIFACTS:
        entry = arts.get(spec.name)
        if not entry or not entry.get("key"):
            continue
        key, version = str(entry["key"]), entry.get("version")
        sha, size = _object_sha256(pre.aws, pre.bucket, key, version)
        if sha is None:
            raise PreflightError(
                f"s3://{pre.bucket}/{key} version {version} (record {chosen.id}) no longer exists.",
                hint="Pick another record with --to.",
            )
        old_key, old_version = current[spec.name]
        same = (old_key, old_version) == (key, version)
        versions[spec.name] = version
        plan.append(
            ArtifactPlan(
                spec.name,
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
    if options.dry_run or not any(p.changes for p in plan):
        return result
    return _update_and_verify(
        pre,
        result,
        versions,
        options,
        rep,
        {
            "action": "rollback",
            "rolled_back_to": chosen.id,
            "manifest": chosen.data.get("manifest"),
        },
    )


def promote(
    source: EnvironmentConfig,
    dest: EnvironmentConfig,
    options: DeployOptions | None = None,
    reporter: Reporter | None = None,
) -> DeployResult:
    """Deploy to ``dest`` the exact objects ``source`` runs (copied, same sha256s)."""
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
    if options.dry_run or not any(p.changes for p in plan):
        return result
    versions: dict[str, str | None] = {p.artifact: p.new_version for p in plan}
    for item in plan:
        if not item.changes:
            continue
        src = running[item.artifact]
        rep.step(
            f"Copying {item.artifact}: s3://{src_bucket}/{src.key} -> s3://{pre.bucket}/{item.key}"
        )
        try:
            versions[item.artifact] = _copy(pre, src_bucket, src, item)
        except MwaadepsError as exc:
            return _replace(
                result,
                plan=_with_versions(plan, versions),
                ok=False,
                error=ErrorInfo(
                    "copy_failed",
                    f"Copy of {item.artifact} failed; UpdateEnvironment "
                    f"was not called and {dest.name} still runs the "
                    f"previous versions. {exc.message}",
                    exc.hint,
                ),
            )
    src_records = [
        r
        for r in history(source, src_aws)
        if r.versions() == {a.artifact: (a.key, a.version) for a in running.values() if a.key}
    ]
    manifest = src_records[-1].data.get("manifest") if src_records else None
    return _update_and_verify(
        pre,
        _replace(result, plan=_with_versions(plan, versions)),
        versions,
        options,
        rep,
        {
            "action": "promote",
            "manifest": manifest,
            "promoted_from": {
                "environment": source.name,
                "record": src_records[-1].id if src_records else None,
            },
        },
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
    last_record = None
    try:
        records = history(config, aws)
        last_record = records[-1].as_json() if records else None
    except MwaadepsError as exc:
        rep.warn(f"Cannot read the deployment records: {exc.message}")
    return StatusReport(
        config.name,
        aws.region,
        str(environment.get("Status")),
        environment.get("AirflowVersion"),
        _jsonable(environment.get("LastUpdate")),
        tuple(rows),
        last_record,
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
