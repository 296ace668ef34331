"""The one family of errors mwaadeps raises, and the exit code of each kind.

Core modules raise these; only ``cli.main`` turns them into a message and an exit code.
"""

from __future__ import annotations

import errno
from typing import Any


class MwaadepsError(Exception):
    """Base error: a message for the user, an optional hint, a stable code."""

    exit_code = 1
    code = "error"

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message

    def to_dict(self) -> dict[str, Any]:
        """The ``error`` object of every ``--json`` failure: code, message, hint."""
        return {"code": self.code, "message": self.message, "hint": self.hint}


class UsageError(MwaadepsError):
    """A bad command line: an unknown option, a missing value."""

    exit_code = 2
    code = "usage"


class Interrupted(MwaadepsError):
    """The user stopped the command (Ctrl-C)."""

    exit_code = 130
    code = "interrupted"


class InternalError(MwaadepsError):
    """A bug in mwaadeps: anything the code did not expect."""

    exit_code = 70
    code = "internal"


class FileSystemError(MwaadepsError):
    """A file cannot be written: no permission, no space, a read-only file system."""

    exit_code = 1
    code = "filesystem"


class ConfigError(MwaadepsError):
    """mwaadeps.toml, an option or an environment variable is wrong."""

    exit_code = 2
    code = "config"


class TargetError(ConfigError):
    """The MWAA/Airflow target cannot be determined."""

    code = "target"


class RequirementsError(MwaadepsError):
    """requirements.txt has problems that stop a lock or build."""

    code = "requirements"


class ConstraintsError(MwaadepsError):
    """The constraints file cannot be fetched or read."""

    exit_code = 3
    code = "constraints"


class ResolutionError(MwaadepsError):
    """The requirements cannot be resolved for the target."""

    code = "resolution"


class DownloadError(MwaadepsError):
    """A distribution could not be downloaded or failed verification."""

    exit_code = 3
    code = "download"


class WheelError(MwaadepsError):
    """A wheel cannot install on the target, or an sdist cannot become one."""

    code = "wheel"


class BundleError(MwaadepsError):
    """The bundle cannot be written."""

    code = "bundle"


class StaleBundleError(BundleError):
    """dist/ was built from inputs that have changed since."""

    code = "stale_bundle"


class DockerError(MwaadepsError):
    """The Docker engine or an image is unavailable."""

    exit_code = 4
    code = "docker"


class LocalTestFailed(MwaadepsError):
    """The bundle failed in the MWAA-like container."""

    code = "test_failed"


class AwsError(MwaadepsError):
    """AWS (or the sandbox) refused or failed a call."""

    exit_code = 5
    code = "aws"


class PreflightError(AwsError):
    """A deploy precondition does not hold; nothing was changed."""

    code = "preflight"


class LockedError(PreflightError):
    """Another deployer holds the environment's lock."""

    code = "locked"


class DeployFailed(AwsError):
    """The MWAA update failed or left the environment unhealthy."""

    code = "deploy_failed"


class StillUpdating(DeployFailed):
    """The update was started but its end was not seen (timeout, lost wait): not a failure."""

    exit_code = 75
    code = "still_updating"


class VerifyFailed(MwaadepsError):
    """The DAGs did not load on the environment, or the smoke run failed."""

    code = "verify_failed"


class RestApiError(AwsError):
    """Airflow's REST API (through MWAA's InvokeRestApi) answered with an error status."""

    code = "rest_api"

    def __init__(self, message: str, *, status: int, detail: str, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.status = status
        self.detail = detail


# What each errno a user can fix means, and what to do (a folder's rights, a full disk).
class AuditUnavailable(MwaadepsError):
    """The advisory data could not be read for some packages: the audit is incomplete."""

    exit_code = 3
    code = "audit_unavailable"


class VulnerabilitiesFound(MwaadepsError):
    """`build --audit`: a locked package has a known vulnerability the policy does not accept."""

    code = "vulnerable"


_PERMISSION_HINT = "Check the file's and its folder's permissions, or choose another folder."
_OS_ADVICE: dict[int, tuple[str, str, str]] = {
    errno.EACCES: ("Cannot access", "permission denied", _PERMISSION_HINT),
    errno.EPERM: ("Cannot access", "operation not permitted", _PERMISSION_HINT),
    errno.ENOSPC: (
        "Cannot write",
        "no space left on the device",
        "Free some disk space, then run the command again.",
    ),
    errno.EDQUOT: (
        "Cannot write",
        "disk quota exceeded",
        "Free some space within your quota, then run the command again.",
    ),
    errno.EROFS: (
        "Cannot write",
        "the file system is read-only",
        "Choose a folder on a writable file system (e.g. --out).",
    ),
}


def from_os_error(exc: OSError, filename: str | None = None) -> FileSystemError | None:
    """A plain error naming the file for a permission/space/read-only OSError; else None.

    ``filename`` names the file when the OSError does not (a failed ``write`` on an open file).
    """
    advice = _OS_ADVICE.get(exc.errno or 0)
    if advice is None:
        return None
    verb, what, hint = advice
    name = exc.filename if exc.filename is not None else filename
    if name is None:
        return FileSystemError(f"{verb} a file: {what}.", hint=hint)
    also = f" (or {exc.filename2})" if exc.filename2 is not None else ""
    return FileSystemError(f"{verb} {name}{also}: {what}.", hint=hint)


class DiscoverFailed(AwsError):
    """`mwaadeps discover` could not read what the environment has installed."""

    code = "discover_failed"


class DiscoverTimeout(DiscoverFailed):
    """The discovery DAG did not load or finish in time (nothing is left behind)."""

    exit_code = 75
    code = "discover_timeout"
