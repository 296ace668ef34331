"""Deploy data: options, plans, results, reports, records and the constants they share."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mwaadeps.deploy.aws import Aws, describe
from mwaadeps.errors import BundleError, ConfigError, PreflightError

if TYPE_CHECKING:
    from mwaadeps.config import EnvironmentConfig
    from mwaadeps.deploy.verify import VerifyReport


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
    verification: VerifyReport | None = None  # deploy --verify

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
            "verification": self.verification.as_json() if self.verification else None,
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


def resolve_worker_replacement(value: str | None, config: EnvironmentConfig) -> str | None:
    """CLI value > environment config > MWAA's default (None)."""
    chosen = value or config.worker_replacement
    if chosen is None:
        return None
    if chosen.lower() not in ("graceful", "forced"):
        raise ConfigError(f"--worker-replacement must be graceful or forced, not {chosen!r}.")
    return chosen.lower()
