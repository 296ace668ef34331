"""The environment records the emulator keeps, and their status transitions.

Transitions are driven by GetEnvironment polls, never by time: CREATING -> AVAILABLE after
``update_polls`` polls; UPDATING -> AVAILABLE or UPDATE_FAILED once the polls are done and
the installer (if any) has returned.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mwaadeps.sandbox.emulator.webserver import Webserver

DEFAULT_ACCOUNT = "123456789012"
STATUSES = (
    "CREATING", "CREATE_FAILED", "AVAILABLE", "UPDATING", "DELETING", "DELETED", "UNAVAILABLE",
    "UPDATE_FAILED", "ROLLING_BACK", "CREATING_SNAPSHOT", "PENDING", "MAINTENANCE",
)  # fmt: skip
UPDATABLE = ("AVAILABLE", "UPDATE_FAILED")
"""Statuses that accept an update, and in which the webserver answers."""
UPDATE_FIELDS = (
    "ExecutionRoleArn", "AirflowConfigurationOptions", "AirflowVersion", "DagS3Path",
    "EnvironmentClass", "MaxWorkers", "MinWorkers", "MaxWebservers", "MinWebservers",
    "Schedulers", "WebserverAccessMode", "WeeklyMaintenanceWindowStart",
)  # fmt: skip
REQUIRED_FOR_CREATE = ("ExecutionRoleArn", "SourceBucketArn", "DagS3Path", "NetworkConfiguration")
DEFAULT_AIRFLOW = "2.10.3"


@dataclass(frozen=True)
class InstallOutcome:
    """What an installer hook reports: did pip succeed, what it printed, and (Docker) an
    image with the bundle installed."""

    ok: bool
    lines: tuple[str, ...]
    image: str | None = None


Installer = Callable[[Path], InstallOutcome]
"""Installs a bundle folder (requirements.txt, plugins.zip, startup.sh) the way MWAA does."""


@dataclass
class Environment:
    """One emulated environment: its GetEnvironment data and its update in progress."""

    region: str
    data: dict[str, Any]
    polls: int = 0
    pending: dict[str, Any] | None = None
    outcome: dict[str, Any] = field(default_factory=dict)
    install: threading.Thread | None = None
    install_result: InstallOutcome | None = None
    held: bool = False
    updates: int = 0  # each update gets new hosts, as MWAA replaces its containers
    image: str | None = None  # the installer's image of the current bundle
    webserver: Webserver | None = None  # made at the environment's first InvokeRestApi

    @property
    def name(self) -> str:
        """The environment's name."""
        return str(self.data["Name"])

    def installing(self) -> bool:
        """An installer thread is still running."""
        return self.install is not None and self.install.is_alive()


def new_data(
    region: str,
    name: str,
    body: dict[str, Any],
    account: str,
    logging_cfg: dict[str, Any],
    paths: dict[str, Any],
) -> dict[str, Any]:
    """GetEnvironment's data for a new environment (status CREATING)."""
    data: dict[str, Any] = {
        "Name": name,
        "Status": "CREATING",
        "Arn": f"arn:aws:airflow:{region}:{account}:environment/{name}",
        "CreatedAt": time.time(),
        "WebserverUrl": f"{uuid.uuid4().hex[:12]}-vpce.c{uuid.uuid4().hex[:2]}"
        f".{region}.airflow.amazonaws.com",
        "ExecutionRoleArn": body["ExecutionRoleArn"],
        "ServiceRoleArn": f"arn:aws:iam::{account}:role/aws-service-role/"
        "airflow.amazonaws.com/AWSServiceRoleForAmazonMWAA",
        "AirflowVersion": body.get("AirflowVersion", DEFAULT_AIRFLOW),
        "SourceBucketArn": body["SourceBucketArn"],
        "DagS3Path": body["DagS3Path"],
        "AirflowConfigurationOptions": body.get("AirflowConfigurationOptions", {}),
        "EnvironmentClass": body.get("EnvironmentClass", "mw1.small"),
        "MaxWorkers": body.get("MaxWorkers", 10),
        "MinWorkers": body.get("MinWorkers", 1),
        "Schedulers": body.get("Schedulers", 2),
        "NetworkConfiguration": body["NetworkConfiguration"],
        "LoggingConfiguration": logging_cfg,
        "WeeklyMaintenanceWindowStart": body.get("WeeklyMaintenanceWindowStart", "SUN:03:30"),
        "Tags": body.get("Tags", {}),
        "WebserverAccessMode": body.get("WebserverAccessMode", "PRIVATE_ONLY"),
        "EndpointManagement": body.get("EndpointManagement", "SERVICE"),
    }
    if body.get("KmsKey"):
        data["KmsKey"] = body["KmsKey"]
    data.update(paths)
    return data


def poll(env: Environment, update_polls: int, frozen: bool) -> bool:
    """Count one GetEnvironment; True when a pending update is due to finish now
    (the caller runs ``finish_update``). CREATING becomes AVAILABLE here."""
    status = env.data["Status"]
    if status not in ("CREATING", "UPDATING") or frozen or env.held:
        return False
    env.polls += 1
    if env.polls < update_polls or env.installing():
        return False
    if status == "CREATING":
        env.data["Status"] = "AVAILABLE"
        return False
    return env.pending is not None


def begin_update(
    env: Environment, pending: dict[str, Any], outcome: dict[str, Any], strategy: str | None
) -> None:
    """Go UPDATING towards ``pending`` (``outcome``: injected fail / pip_fail)."""
    env.updates += 1
    env.pending, env.outcome, env.polls = pending, outcome, 0
    env.install, env.install_result, env.held = None, None, False
    env.data["Status"] = "UPDATING"
    env.data["LastUpdate"] = {
        "Status": "PENDING",
        "CreatedAt": time.time(),
        "Source": "API",
        "WorkerReplacementStrategy": strategy or "FORCED",
    }


def finish_update(env: Environment) -> dict[str, Any]:
    """Apply (or roll back) the pending update; the target data the update aimed at."""
    assert env.pending is not None
    fail = env.outcome.get("fail")
    target = {**env.data, **env.pending}
    if fail:
        env.data["Status"] = "UPDATE_FAILED"
        env.data["LastUpdate"].update(
            Status="FAILED",
            Error={
                "ErrorCode": str(fail.get("code") or "INCORRECT_CONFIGURATION"),
                "ErrorMessage": str(
                    fail.get("message")
                    or "The update failed: requirements could not be installed. "
                    "The environment was rolled back."
                ),
            },
        )
    else:
        env.data.update(env.pending)
        env.data["Status"] = "AVAILABLE"
        env.data["LastUpdate"]["Status"] = "SUCCESS"
        env.data["LastUpdate"].pop("Error", None)
        result = env.install_result
        env.image = result.image if result is not None and result.ok else None
    env.pending = None
    return target


def force_status(env: Environment, status: str) -> None:
    """The control API's forced status: any pending update is dropped; a status that does
    not accept updates holds the environment there."""
    env.data["Status"] = status
    env.pending = None
    env.held = status not in UPDATABLE


__all__ = [
    "DEFAULT_ACCOUNT",
    "REQUIRED_FOR_CREATE",
    "STATUSES",
    "UPDATABLE",
    "UPDATE_FIELDS",
    "Environment",
    "InstallOutcome",
    "Installer",
    "begin_update",
    "finish_update",
    "force_status",
    "new_data",
    "poll",
]
