"""An MWAA API emulator speaking botocore's rest-json wire protocol (a WSGI app).

It keeps environments in memory, checks S3 objects and versions through the sandbox's S3
(moto) like MWAA does, moves UPDATING -> AVAILABLE / UPDATE_FAILED as clients poll, and
writes ``requirements_install_*`` / ``startup_script_execution_*`` log streams into the
sandbox's CloudWatch Logs. Transitions are driven by GetEnvironment calls, not by time, so
tests are deterministic. Faults are injected through ``/_sandbox/faults``.

Modules: ``routing`` (the wire), ``state`` (environment records and transitions),
``effects`` (S3, CloudWatch Logs, installer runs), ``faults``, ``webserver`` (the Airflow
REST API behind InvokeRestApi and its backend seam), ``model`` (the pure-Python
backend), ``app`` (the WSGI apps).
"""

from mwaadeps.sandbox.emulator.app import MwaaEmulator
from mwaadeps.sandbox.emulator.effects import PIP_FAILED_LINE
from mwaadeps.sandbox.emulator.faults import INTERNAL_AGENT, Faults
from mwaadeps.sandbox.emulator.model import DISCOVERY_MARKER, ModelBackend
from mwaadeps.sandbox.emulator.routing import ApiError, s3_error, signing_scope
from mwaadeps.sandbox.emulator.state import (
    DEFAULT_ACCOUNT,
    STATUSES,
    Installer,
    InstallOutcome,
)
from mwaadeps.sandbox.emulator.webserver import (
    AirflowBackend,
    DagInfo,
    ImportErrorInfo,
    Installed,
    ParseResult,
    RunResult,
)

__all__ = [
    "DEFAULT_ACCOUNT",
    "DISCOVERY_MARKER",
    "INTERNAL_AGENT",
    "PIP_FAILED_LINE",
    "STATUSES",
    "AirflowBackend",
    "ApiError",
    "DagInfo",
    "Faults",
    "ImportErrorInfo",
    "InstallOutcome",
    "Installed",
    "Installer",
    "ModelBackend",
    "MwaaEmulator",
    "ParseResult",
    "RunResult",
    "s3_error",
    "signing_scope",
]
