"""The one family of errors mwaadeps raises, and the exit code of each kind.

Core modules raise these; only ``cli.main`` turns them into a message and an exit code.
"""

from __future__ import annotations


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


class DeployFailed(AwsError):
    """The MWAA update failed or left the environment unhealthy."""

    code = "deploy_failed"


class StillUpdating(DeployFailed):
    """The update was started but its end was not seen (timeout, lost wait): not a failure."""

    exit_code = 75
    code = "still_updating"
