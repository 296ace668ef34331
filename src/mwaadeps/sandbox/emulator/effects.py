"""What the emulator does to the sandbox's other services: S3 artifact checks and
downloads, CloudWatch Logs groups and install streams, installer runs."""

from __future__ import annotations

import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from mwaadeps.sandbox.emulator.faults import INTERNAL_AGENT
from mwaadeps.sandbox.emulator.routing import bucket_of, validation
from mwaadeps.sandbox.emulator.state import Environment, Installer, InstallOutcome

PIP_FAILED_LINE = "ERROR: pip installation exited with a non-zero error code"
LOG_MODULES = {
    "DagProcessingLogs": "DAGProcessing",
    "SchedulerLogs": "Scheduler",
    "TaskLogs": "Task",
    "WebserverLogs": "WebServer",
    "WorkerLogs": "Worker",
}
_INSTALL_HOSTS = {
    "WorkerLogs": "ip-10-0-1-11.ec2.internal",
    "SchedulerLogs": "ip-10-0-1-12.ec2.internal",
    "WebserverLogs": "ip-10-0-1-13.ec2.internal",
}
ARTIFACTS = (
    ("RequirementsS3Path", "RequirementsS3ObjectVersion", "requirements.txt"),
    ("PluginsS3Path", "PluginsS3ObjectVersion", "plugins.zip"),
    ("StartupScriptS3Path", "StartupScriptS3ObjectVersion", "startup.sh"),
)


class Effects:
    """The emulator's AWS clients (on the sandbox itself) and what it does with them.
    Failures that MWAA would not report are collected in ``problems``."""

    def __init__(self, aws_endpoint: str | None, account: str, problems: list[str]) -> None:
        self.aws_endpoint = aws_endpoint
        self.account = account
        self.problems = problems
        self._clients: dict[tuple[str, str, str], Any] = {}
        self._lock = threading.Lock()

    def client(self, service: str, region: str) -> Any:
        """A cached boto3 client for ``service`` on the sandbox."""
        key = (service, region, self.aws_endpoint or "")
        with self._lock:
            if key not in self._clients:
                self._clients[key] = self._new_client(service, region)
            return self._clients[key]

    def _new_client(self, service: str, region: str) -> Any:
        from mwaadeps.deploy.aws import new_client

        return new_client(
            service,
            region,
            self.aws_endpoint,
            credentials=("sandbox", "sandbox"),
            retries={"mode": "standard", "max_attempts": 3},
            user_agent_extra=INTERNAL_AGENT,
        )

    # -- S3 --------------------------------------------------------------------------------

    def check_bucket(self, region: str, bucket: str) -> None:
        """ValidationException unless the source bucket answers."""
        try:
            self.client("s3", region).head_bucket(Bucket=bucket)
        except Exception:
            raise validation(f"Unable to access the source bucket {bucket}.") from None

    def check_artifacts(
        self, region: str, bucket: str, body: dict[str, Any], current: dict[str, Any]
    ) -> dict[str, Any]:
        """The artifact paths/versions after this request; each must exist in S3."""
        s3 = self.client("s3", region)
        out: dict[str, Any] = {}
        for path_key, version_key, label in ARTIFACTS:
            path = body.get(path_key)
            version = body.get(version_key)
            if path is None and version is None:
                continue
            if path is None:
                path = current.get(path_key)
                if path is None:
                    raise validation(f"{version_key} needs {path_key}.")
            if path and version is None:
                raise validation(f"{version_key} is required with {path_key} ({label}).")
            if path:
                try:
                    s3.head_object(Bucket=bucket, Key=path, VersionId=version)
                except Exception:
                    raise validation(
                        f"Unable to read version {version} of s3://{bucket}/{path}. "
                        "Check that the object and version exist."
                    ) from None
            out[path_key], out[version_key] = path, version
        return out

    def fetch_bundle(self, region: str, data: dict[str, Any], folder: Path) -> None:
        """Download the artifacts ``data`` names (exact versions) into ``folder`` as
        requirements.txt, plugins.zip, startup.sh."""
        s3 = self.client("s3", region)
        bucket = bucket_of(data["SourceBucketArn"])
        for path_key, version_key, label in ARTIFACTS:
            if data.get(path_key):
                obj = s3.get_object(Bucket=bucket, Key=data[path_key], VersionId=data[version_key])
                (folder / label).write_bytes(obj["Body"].read())

    def dag_objects(self, region: str, data: dict[str, Any]) -> tuple[tuple[str, str], ...]:
        """(key, ETag) of every object under the environment's DagS3Path, sorted."""
        s3 = self.client("s3", region)
        bucket = bucket_of(data["SourceBucketArn"])
        prefix = str(data.get("DagS3Path") or "dags").strip("/") + "/"
        out = []
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            out += [(o["Key"], o["ETag"]) for o in page.get("Contents", ())]
        return tuple(sorted(out))

    def fetch_dags(self, region: str, data: dict[str, Any], keys: list[str], folder: Path) -> None:
        """Download the DAG objects ``keys`` into ``folder`` by their path under DagS3Path."""
        s3 = self.client("s3", region)
        bucket = bucket_of(data["SourceBucketArn"])
        prefix = str(data.get("DagS3Path") or "dags").strip("/") + "/"
        for key in keys:
            rel = key[len(prefix) :]
            parts = [p for p in rel.split("/") if p]
            if not parts or key.endswith("/") or any(p in (".", "..") for p in parts):
                continue
            dest = folder.joinpath(*parts)
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(s3.get_object(Bucket=bucket, Key=key)["Body"].read())

    # -- installs --------------------------------------------------------------------------

    def run_installer(self, env: Environment, installer: Installer, target: dict[str, Any]) -> None:
        """Download the target bundle and install it (in a thread); the result goes to
        ``env.install_result``."""
        try:
            with tempfile.TemporaryDirectory(prefix="mwaa-sandbox-") as tmp:
                self.fetch_bundle(env.region, target, Path(tmp))
                env.install_result = installer(Path(tmp))
        except Exception as exc:
            env.install_result = InstallOutcome(False, (f"sandbox installer failed: {exc}",))

    def install_lines(self, env: Environment, target: dict[str, Any], pip_fail: bool) -> list[str]:
        """The requirements_install log lines: the installer's, or pip-like ones."""
        result = env.install_result
        if result is not None:
            lines = [
                line if line.startswith("[sandbox]") else f"[INFO] - {line}"
                for line in result.lines
            ]
            if not result.ok:
                lines.append(f"[ERROR] - {PIP_FAILED_LINE}")
            return lines
        pins = self.requirement_lines(env.region, target)
        lines = [
            "[INFO] - Installing requirements from /usr/local/airflow/requirements/requirements.txt"
        ]
        lines += [f"[INFO] - Collecting {pin}" for pin in pins if not pin.startswith("-")]
        if pip_fail:
            bad = next((p for p in pins if not p.startswith("-")), "a-requirement")
            lines += [
                f"[ERROR] - ERROR: Could not find a version that satisfies the requirement {bad}",
                f"[ERROR] - ERROR: No matching distribution found for {bad}",
                f"[ERROR] - {PIP_FAILED_LINE}",
            ]
        else:
            names = " ".join(p.replace("==", "-") for p in pins if not p.startswith("-"))
            lines.append(f"[INFO] - Successfully installed {names}".rstrip())
        return lines

    def requirement_lines(self, region: str, target: dict[str, Any]) -> list[str]:
        """The non-comment lines of the target's requirements.txt."""
        if not target.get("RequirementsS3Path"):
            return []
        try:
            obj = self.client("s3", region).get_object(
                Bucket=bucket_of(target["SourceBucketArn"]),
                Key=target["RequirementsS3Path"],
                VersionId=target["RequirementsS3ObjectVersion"],
            )
            text = obj["Body"].read().decode("utf-8", "replace")
        except Exception as exc:
            self.problems.append(f"read requirements: {exc}")
            return []
        return [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]

    # -- CloudWatch Logs -------------------------------------------------------------------

    def create_log_groups(self, region: str, name: str, cfg: dict[str, Any]) -> dict[str, Any]:
        """Create the enabled modules' log groups; the LoggingConfiguration to report."""
        logs = self.client("logs", region)
        out: dict[str, Any] = {}
        for module, suffix in LOG_MODULES.items():
            conf = cfg.get(module) or {}
            enabled = bool(conf.get("Enabled", False))
            entry: dict[str, Any] = {"Enabled": enabled, "LogLevel": conf.get("LogLevel", "INFO")}
            if enabled:
                group = f"airflow-{name}-{suffix}"
                try:
                    logs.create_log_group(logGroupName=group)
                except Exception as exc:
                    if "AlreadyExists" not in type(exc).__name__:
                        self.problems.append(f"create_log_group {group}: {exc}")
                entry["CloudWatchLogGroupArn"] = (
                    f"arn:aws:logs:{region}:{self.account}:log-group:{group}:*"
                )
            out[module] = entry
        return out

    def write_logs(
        self, env: Environment, target: dict[str, Any], lines: list[str], epoch: int
    ) -> None:
        """requirements_install_* (and startup_script_execution_*) streams per host."""
        logs = self.client("logs", env.region)
        cfg = env.data.get("LoggingConfiguration") or {}
        startup = target.get("StartupScriptS3Path")
        for module, first in _INSTALL_HOSTS.items():
            host = first.replace("ip-10-0-1-", f"ip-10-0-{env.updates % 250 + 1}-")
            arn = (cfg.get(module) or {}).get("CloudWatchLogGroupArn")
            if not arn:
                continue
            group = arn.split(":log-group:", 1)[1].rsplit(":", 1)[0]
            streams = [(f"requirements_install_{host}_{epoch}.log", lines)]
            if startup:
                streams.append(
                    (
                        f"startup_script_execution_{host}_{epoch}.log",
                        [
                            "[INFO] - Running the startup script "
                            "/usr/local/airflow/startup/startup.sh",
                            "[INFO] - Startup script finished with exit code 0",
                        ],
                    )
                )
            for stream, content in streams:
                try:
                    _put_stream(logs, group, stream, content)
                except Exception as exc:
                    self.problems.append(f"write logs {group}/{stream}: {exc}")


def _put_stream(logs: Any, group: str, stream: str, lines: list[str]) -> None:
    try:
        logs.create_log_stream(logGroupName=group, logStreamName=stream)
    except Exception as exc:
        if "AlreadyExists" not in type(exc).__name__:
            raise
    now = int(time.time() * 1000)
    events = [{"timestamp": now + i, "message": line} for i, line in enumerate(lines)]
    if events:
        logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=events)


__all__ = ["ARTIFACTS", "LOG_MODULES", "PIP_FAILED_LINE", "Effects"]
