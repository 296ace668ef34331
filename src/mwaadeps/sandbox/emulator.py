"""An MWAA API emulator speaking botocore's rest-json wire protocol (a WSGI app).

It keeps environments in memory, checks S3 objects and versions through the sandbox's S3
(moto) like MWAA does, moves UPDATING -> AVAILABLE / UPDATE_FAILED as clients poll, and
writes ``requirements_install_*`` / ``startup_script_execution_*`` log streams into the
sandbox's CloudWatch Logs. Transitions are driven by GetEnvironment calls, not by time, so
tests are deterministic. Faults are injected through ``/_sandbox/faults``.
"""

from __future__ import annotations

import json
import re
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote

DEFAULT_ACCOUNT = "123456789012"
INTERNAL_AGENT = "mwaadeps-sandbox-emulator"
PIP_FAILED_LINE = "ERROR: pip installation exited with a non-zero error code"
STATUSES = (
    "CREATING", "CREATE_FAILED", "AVAILABLE", "UPDATING", "DELETING", "DELETED", "UNAVAILABLE",
    "UPDATE_FAILED", "ROLLING_BACK", "CREATING_SNAPSHOT", "PENDING", "MAINTENANCE",
)  # fmt: skip
_UPDATABLE = ("AVAILABLE", "UPDATE_FAILED")
_LOG_MODULES = {
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
_ARTIFACTS = (
    ("RequirementsS3Path", "RequirementsS3ObjectVersion", "requirements.txt"),
    ("PluginsS3Path", "PluginsS3ObjectVersion", "plugins.zip"),
    ("StartupScriptS3Path", "StartupScriptS3ObjectVersion", "startup.sh"),
)
_NAME_RE = re.compile(r"[a-zA-Z][0-9a-zA-Z\-_]*")
_BUCKET_ARN_RE = re.compile(r"arn:aws(-[a-z]+)?:s3:::([a-z0-9.\-]+)")
_CREDENTIAL_RE = re.compile(r"Credential=[^/,\s]+/\d{8}/([a-z0-9-]+)/([a-z0-9-]+)/aws4_request")
_UPDATE_FIELDS = (
    "ExecutionRoleArn", "AirflowConfigurationOptions", "AirflowVersion", "DagS3Path",
    "EnvironmentClass", "MaxWorkers", "MinWorkers", "MaxWebservers", "MinWebservers",
    "Schedulers", "WebserverAccessMode", "WeeklyMaintenanceWindowStart",
)  # fmt: skip


@dataclass(frozen=True)
class InstallOutcome:
    """What an installer hook reports: did pip succeed, and what it printed."""

    ok: bool
    lines: tuple[str, ...]


Installer = Callable[[Path], InstallOutcome]
"""Installs a bundle folder (requirements.txt, plugins.zip, startup.sh) the way MWAA does."""


@dataclass
class Faults:
    """Injected misbehaviour; set through POST /_sandbox/faults (JSON with these fields)."""

    fail_next_update: dict[str, str] | None = None
    pip_fail_next_update: bool = False
    stay_updating: bool = False
    throttle: int = 0
    throttle_s3: int = 0
    fail_uploads_after: int | None = None
    throttle_after_update: int = 0  # once an update starts, throttle the next N MWAA calls
    hold_upload_parts: bool = False  # UploadPart requests wait until this is cleared


class ApiError(Exception):
    """An MWAA error response: HTTP status, x-amzn-ErrorType, message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def _validation(message: str) -> ApiError:
    return ApiError(400, "ValidationException", message)


def signing_scope(authorization: str) -> tuple[str, str] | None:
    """(region, service) from a SigV4 Authorization header, or None."""
    match = _CREDENTIAL_RE.search(authorization or "")
    return (match.group(1), match.group(2)) if match else None


@dataclass
class _Environment:
    region: str
    data: dict[str, Any]
    polls: int = 0
    pending: dict[str, Any] | None = None
    outcome: dict[str, Any] = field(default_factory=dict)
    install: threading.Thread | None = None
    install_result: InstallOutcome | None = None
    held: bool = False
    updates: int = 0  # each update gets new hosts, as MWAA replaces its containers


class MwaaEmulator:
    """The MWAA REST API on a WSGI callable; ``control`` serves /_sandbox/*."""

    def __init__(
        self,
        aws_endpoint: str | None = None,
        *,
        update_polls: int = 2,
        installer: Installer | None = None,
        account: str = DEFAULT_ACCOUNT,
    ) -> None:
        self.aws_endpoint = aws_endpoint
        self.update_polls = update_polls
        self.installer = installer
        self.account = account
        self.faults = Faults()
        self.calls: Counter[str] = Counter()
        self.problems: list[str] = []
        self._envs: dict[tuple[str, str], _Environment] = {}
        self._lock = threading.RLock()
        self._flock = threading.Lock()
        self._clients: dict[tuple[str, str, str], Any] = {}
        self._object_puts = 0
        self._artifact_puts = 0
        self.updated = threading.Event()  # set by each accepted UpdateEnvironment (tests)
        self.part_held = threading.Event()  # set when an UploadPart is being held
        self._release_parts = threading.Event()

    # -- plumbing -------------------------------------------------------------------------

    def _client(self, service: str, region: str) -> Any:
        key = (service, region, self.aws_endpoint or "")
        with self._flock:
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

    def reset(self) -> None:
        """Forget every environment, fault and counter."""
        with self._lock:
            self._envs.clear()
            self.calls.clear()
            self.problems.clear()
            self._object_puts = 0
            self._artifact_puts = 0
            self.updated.clear()
            self._set_faults(Faults())

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        """Serve one MWAA API request."""
        method = environ.get("REQUEST_METHOD", "GET")
        path = environ.get("PATH_INFO", "/")
        scope = signing_scope(environ.get("HTTP_AUTHORIZATION", ""))
        region = scope[0] if scope else "us-east-1"
        body = _read_body(environ)
        query = {k: v[-1] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
        try:
            with self._lock:
                if self.faults.throttle > 0:
                    self.faults.throttle -= 1
                    self.calls["Throttled"] += 1
                    raise ApiError(429, "ThrottlingException", "Rate exceeded")
            payload = self._dispatch(method, path, region, body, query)
            return _respond(start_response, 200, payload)
        except ApiError as exc:
            return _respond(start_response, exc.status, {"message": exc.message}, exc.code)
        except Exception as exc:  # an emulator bug must look like an AWS 500, not hang
            self.problems.append(f"{type(exc).__name__}: {exc}")
            return _respond(start_response, 500, {"message": str(exc)}, "InternalServerException")

    def _dispatch(
        self, method: str, path: str, region: str, raw: bytes, query: dict[str, str]
    ) -> dict[str, Any]:
        try:
            body = json.loads(raw) if raw.strip() else {}
        except ValueError:
            raise ApiError(400, "SerializationException", "The request body is not JSON.") from None
        if not isinstance(body, dict):
            raise ApiError(400, "SerializationException", "The request body is not an object.")
        if path.rstrip("/") == "/environments" and method == "GET":
            self.calls["ListEnvironments"] += 1
            return self.list_environments(region, query)
        match = re.fullmatch(r"/environments/([^/]+)", path)
        if match:
            name = unquote(match.group(1))
            op = {
                "PUT": "CreateEnvironment",
                "GET": "GetEnvironment",
                "PATCH": "UpdateEnvironment",
                "DELETE": "DeleteEnvironment",
            }.get(method)
            if op is None:
                raise ApiError(405, "MethodNotAllowedException", f"{method} is not allowed.")
            self.calls[op] += 1
            _check_name(name)
            if op == "CreateEnvironment":
                return self.create_environment(region, name, body)
            if op == "GetEnvironment":
                return {"Environment": self.get_environment(region, name)}
            if op == "UpdateEnvironment":
                return self.update_environment(region, name, body)
            return self.delete_environment(region, name)
        raise ApiError(
            404, "UnknownOperationException", f"The sandbox does not implement {method} {path}."
        )

    def _env(self, region: str, name: str) -> _Environment:
        env = self._envs.get((region, name))
        if env is None:
            raise ApiError(
                404, "ResourceNotFoundException", f"Environment {name} does not exist in {region}."
            )
        return env

    # -- operations -----------------------------------------------------------------------

    def list_environments(self, region: str, query: dict[str, str]) -> dict[str, Any]:
        """ListEnvironments, paginated by MaxResults/NextToken."""
        with self._lock:
            names = sorted(n for (r, n) in self._envs if r == region)
        try:
            limit = int(query.get("MaxResults", "25"))
            start = int(query.get("NextToken", "0"))
        except ValueError:
            raise _validation("MaxResults and NextToken must be integers.") from None
        if not 1 <= limit <= 25:
            raise _validation("MaxResults must be between 1 and 25.")
        out: dict[str, Any] = {"Environments": names[start : start + limit]}
        if start + limit < len(names):
            out["NextToken"] = str(start + limit)
        return out

    def create_environment(self, region: str, name: str, body: dict[str, Any]) -> dict[str, Any]:
        """CreateEnvironment: validate, check S3, create log groups; status CREATING."""
        for required in (
            "ExecutionRoleArn",
            "SourceBucketArn",
            "DagS3Path",
            "NetworkConfiguration",
        ):
            if not body.get(required):
                raise _validation(f"1 validation error detected: {required} must not be null.")
        bucket = _bucket_of(body["SourceBucketArn"])
        with self._lock:
            if (region, name) in self._envs:
                raise _validation(f"Environment {name} already exists.")
        s3 = self._client("s3", region)
        try:
            s3.head_bucket(Bucket=bucket)
        except Exception:
            raise _validation(f"Unable to access the source bucket {bucket}.") from None
        paths = self._check_artifacts(s3, bucket, body, {})
        arn = f"arn:aws:airflow:{region}:{self.account}:environment/{name}"
        logging_cfg = self._create_log_groups(region, name, body.get("LoggingConfiguration") or {})
        data: dict[str, Any] = {
            "Name": name,
            "Status": "CREATING",
            "Arn": arn,
            "CreatedAt": time.time(),
            "WebserverUrl": f"{uuid.uuid4().hex[:12]}-vpce.c{uuid.uuid4().hex[:2]}"
            f".{region}.airflow.amazonaws.com",
            "ExecutionRoleArn": body["ExecutionRoleArn"],
            "ServiceRoleArn": f"arn:aws:iam::{self.account}:role/aws-service-role/"
            "airflow.amazonaws.com/AWSServiceRoleForAmazonMWAA",
            "AirflowVersion": body.get("AirflowVersion", "2.10.3"),
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
        with self._lock:
            self._envs[(region, name)] = _Environment(region=region, data=data)
        return {"Arn": arn}

    def get_environment(self, region: str, name: str) -> dict[str, Any]:
        """GetEnvironment; each call while CREATING/UPDATING moves the clock one poll."""
        with self._lock:
            env = self._env(region, name)
            status = env.data["Status"]
            if status in ("CREATING", "UPDATING") and not (self.faults.stay_updating or env.held):
                env.polls += 1
                installing = env.install is not None and env.install.is_alive()
                if env.polls >= self.update_polls and not installing:
                    if status == "CREATING":
                        env.data["Status"] = "AVAILABLE"
                    elif env.pending is not None:
                        self._finish_update(env)
            return json.loads(json.dumps(env.data))  # type: ignore[no-any-return]

    def update_environment(self, region: str, name: str, body: dict[str, Any]) -> dict[str, Any]:
        """UpdateEnvironment: check state and S3 objects, then go UPDATING."""
        with self._lock:
            env = self._env(region, name)
            status = env.data["Status"]
            if status not in _UPDATABLE:
                raise _validation(
                    f"Environment {name} is in {status} state; updates are allowed only in "
                    "AVAILABLE or UPDATE_FAILED state."
                )
            current = dict(env.data)
        strategy = body.get("WorkerReplacementStrategy")
        if strategy is not None and strategy not in ("FORCED", "GRACEFUL"):
            raise _validation("WorkerReplacementStrategy must be FORCED or GRACEFUL.")
        bucket = _bucket_of(body.get("SourceBucketArn") or current["SourceBucketArn"])
        s3 = self._client("s3", region)
        paths = self._check_artifacts(s3, bucket, body, current)
        pending = {k: body[k] for k in _UPDATE_FIELDS if k in body}
        pending.update(paths)
        if body.get("SourceBucketArn"):
            pending["SourceBucketArn"] = body["SourceBucketArn"]
        with self._lock:
            if env.data["Status"] not in _UPDATABLE:
                raise _validation(f"Environment {name} is in {env.data['Status']} state.")
            outcome: dict[str, Any] = {}
            if self.faults.fail_next_update is not None:
                outcome["fail"] = self.faults.fail_next_update
                self.faults.fail_next_update = None
            if self.faults.pip_fail_next_update:
                outcome["pip_fail"] = True
                self.faults.pip_fail_next_update = False
            if self.faults.throttle_after_update:
                self.faults.throttle += self.faults.throttle_after_update
                self.faults.throttle_after_update = 0
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
            if self.installer is not None and not outcome:
                target = {**current, **pending}
                env.install = threading.Thread(
                    target=self._run_installer, args=(env, bucket, target), daemon=True
                )
                env.install.start()
            self.updated.set()
            return {"Arn": env.data["Arn"]}

    def delete_environment(self, region: str, name: str) -> dict[str, Any]:
        """DeleteEnvironment: gone at once."""
        with self._lock:
            self._env(region, name)
            del self._envs[(region, name)]
        return {}

    # -- helpers --------------------------------------------------------------------------

    def _check_artifacts(
        self, s3: Any, bucket: str, body: dict[str, Any], current: dict[str, Any]
    ) -> dict[str, Any]:
        """The artifact paths/versions after this request; each must exist in S3."""
        out: dict[str, Any] = {}
        for path_key, version_key, label in _ARTIFACTS:
            path = body.get(path_key)
            version = body.get(version_key)
            if path is None and version is None:
                continue
            if path is None:
                path = current.get(path_key)
                if path is None:
                    raise _validation(f"{version_key} needs {path_key}.")
            if path and version is None:
                raise _validation(f"{version_key} is required with {path_key} ({label}).")
            if path:
                try:
                    s3.head_object(Bucket=bucket, Key=path, VersionId=version)
                except Exception:
                    raise _validation(
                        f"Unable to read version {version} of s3://{bucket}/{path}. "
                        "Check that the object and version exist."
                    ) from None
            out[path_key], out[version_key] = path, version
        return out

    def _create_log_groups(self, region: str, name: str, cfg: dict[str, Any]) -> dict[str, Any]:
        logs = self._client("logs", region)
        out: dict[str, Any] = {}
        for module, suffix in _LOG_MODULES.items():
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

    def _run_installer(self, env: _Environment, bucket: str, target: dict[str, Any]) -> None:
        assert self.installer is not None
        try:
            s3 = self._client("s3", env.region)
            with tempfile.TemporaryDirectory(prefix="mwaa-sandbox-") as tmp:
                for path_key, version_key, label in _ARTIFACTS:
                    if target.get(path_key):
                        obj = s3.get_object(
                            Bucket=bucket, Key=target[path_key], VersionId=target[version_key]
                        )
                        (Path(tmp) / label).write_bytes(obj["Body"].read())
                env.install_result = self.installer(Path(tmp))
        except Exception as exc:
            env.install_result = InstallOutcome(False, (f"sandbox installer failed: {exc}",))

    def _finish_update(self, env: _Environment) -> None:
        assert env.pending is not None
        now = time.time()
        fail = env.outcome.get("fail")
        target = {**env.data, **env.pending}
        lines = self._install_lines(env, target, pip_fail=bool(fail or env.outcome.get("pip_fail")))
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
        env.pending = None
        self._write_logs(env, target, lines, int(now))

    def _install_lines(
        self, env: _Environment, target: dict[str, Any], pip_fail: bool
    ) -> list[str]:
        result = env.install_result
        if result is not None:
            lines = [
                line if line.startswith("[sandbox]") else f"[INFO] - {line}"
                for line in result.lines
            ]
            if not result.ok:
                lines.append(f"[ERROR] - {PIP_FAILED_LINE}")
            return lines
        pins = self._requirement_lines(env, target)
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

    def _requirement_lines(self, env: _Environment, target: dict[str, Any]) -> list[str]:
        if not target.get("RequirementsS3Path"):
            return []
        try:
            obj = self._client("s3", env.region).get_object(
                Bucket=_bucket_of(target["SourceBucketArn"]),
                Key=target["RequirementsS3Path"],
                VersionId=target["RequirementsS3ObjectVersion"],
            )
            text = obj["Body"].read().decode("utf-8", "replace")
        except Exception as exc:
            self.problems.append(f"read requirements: {exc}")
            return []
        return [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]

    def _write_logs(
        self, env: _Environment, target: dict[str, Any], lines: list[str], epoch: int
    ) -> None:
        logs = self._client("logs", env.region)
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
                    self._put_stream(logs, group, stream, content)
                except Exception as exc:
                    self.problems.append(f"write logs {group}/{stream}: {exc}")

    @staticmethod
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

    # -- the sandbox's control API and S3 faults ------------------------------------------

    def control(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        """Serve /_sandbox/*: health, faults, calls, reset, forced status."""
        method = environ.get("REQUEST_METHOD", "GET")
        path = environ.get("PATH_INFO", "/")[len("/_sandbox") :].rstrip("/")
        raw = _read_body(environ)
        try:
            body = json.loads(raw) if raw.strip() else {}
        except ValueError:
            return _respond(start_response, 400, {"message": "body must be JSON"}, "BadRequest")
        with self._lock:
            if path == "/health":
                return _respond(start_response, 200, {"ok": True})
            if path == "/faults":
                if method == "DELETE":
                    self._set_faults(Faults())
                elif method in ("POST", "PUT"):
                    unknown = set(body) - set(asdict(Faults()))
                    if unknown:
                        return _respond(
                            start_response,
                            400,
                            {
                                "message": f"unknown faults: {', '.join(sorted(unknown))}",
                                "known": sorted(asdict(Faults())),
                            },
                            "BadRequest",
                        )
                    self._set_faults(Faults(**{**asdict(self.faults), **body}))
                return _respond(start_response, 200, asdict(self.faults))
            if path == "/calls":
                return _respond(
                    start_response,
                    200,
                    {
                        "mwaa": dict(self.calls),
                        "s3_object_puts": self._object_puts,
                        "problems": list(self.problems),
                    },
                )
            if path == "/reset" and method == "POST":
                self.reset()
                return _respond(start_response, 200, {"ok": True})
            match = re.fullmatch(r"/environments/([^/]+)", path)
            if match and method == "POST":
                name = unquote(match.group(1))
                found = [e for (r, n), e in self._envs.items() if n == name]
                if not found:
                    return _respond(
                        start_response,
                        404,
                        {"message": f"no environment {name}"},
                        "ResourceNotFoundException",
                    )
                status = body.get("Status")
                if status not in STATUSES:
                    return _respond(
                        start_response,
                        400,
                        {"message": f"Status must be one of {', '.join(STATUSES)}"},
                        "BadRequest",
                    )
                found[0].data["Status"] = status
                found[0].pending = None
                found[0].held = status not in _UPDATABLE
                return _respond(start_response, 200, {"Name": name, "Status": status})
        return _respond(start_response, 404, {"message": f"no control endpoint {path}"}, "NotFound")

    def _set_faults(self, faults: Faults) -> None:
        """Replace the faults; clearing hold_upload_parts lets held parts through."""
        self.faults = faults
        if faults.hold_upload_parts:
            self._release_parts.clear()
        else:
            self._release_parts.set()
            self.part_held.clear()

    def s3_fault(self, environ: dict[str, Any]) -> tuple[int, str, str] | None:
        """Count object writes; an injected S3 error (status, code, message) or None.

        mwaadeps' own bookkeeping (``.mwaadeps/`` records and lock) counts as a write but
        is never refused by ``fail_uploads_after``, which rehearses failing artifact uploads.
        """
        if INTERNAL_AGENT in environ.get("HTTP_USER_AGENT", ""):
            return None
        method = environ.get("REQUEST_METHOD", "GET")
        key_part = environ.get("PATH_INFO", "/").lstrip("/").partition("/")[2]
        query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        is_put = bool(key_part) and (
            (method == "PUT" and not set(query) - {"partNumber", "uploadId", "x-id"})
            or (method == "POST" and ("uploads" in query or "uploadId" in query))
        )
        bookkeeping = ".mwaadeps/" in unquote(key_part)
        if is_put and method == "PUT" and "partNumber" in query and self.faults.hold_upload_parts:
            self.part_held.set()
            self._release_parts.wait(timeout=120)
        with self._flock:
            if self.faults.throttle_s3 > 0:
                self.faults.throttle_s3 -= 1
                return 503, "SlowDown", "Please reduce your request rate."
            if not is_put:
                return None
            limit = self.faults.fail_uploads_after
            if not bookkeeping and limit is not None and self._artifact_puts >= limit:
                return 403, "AccessDenied", "Access Denied (injected by the sandbox)"
            if method == "PUT":
                self._object_puts += 1
                self._artifact_puts += 0 if bookkeeping else 1
        return None


def _check_name(name: str) -> None:
    if not 1 <= len(name) <= 80 or not _NAME_RE.fullmatch(name):
        raise _validation(
            f"1 validation error detected: Value '{name}' at 'name' failed to satisfy "
            "constraint: Member must satisfy regular expression pattern: [a-zA-Z][0-9a-zA-Z-_]*"
        )


def _bucket_of(arn: str) -> str:
    match = _BUCKET_ARN_RE.fullmatch(arn or "")
    if not match:
        raise _validation(f"SourceBucketArn {arn!r} is not an S3 bucket ARN.")
    return match.group(2)


def _read_body(environ: dict[str, Any]) -> bytes:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    stream = environ.get("wsgi.input")
    return stream.read(length) if stream is not None and length > 0 else b""


def _respond(
    start_response: Callable[..., Any],
    status: int,
    payload: dict[str, Any],
    error_type: str | None = None,
) -> Iterator[bytes]:
    body = json.dumps(payload).encode()
    reasons = {
        200: "OK",
        400: "Bad Request",
        403: "Forbidden",
        404: "Not Found",
        405: "Method Not Allowed",
        429: "Too Many Requests",
        500: "Internal Server Error",
        503: "Service Unavailable",
    }
    headers = [
        ("Content-Type", "application/json"),
        ("Content-Length", str(len(body))),
        ("x-amzn-RequestId", str(uuid.uuid4())),
    ]
    if error_type:
        headers.append(
            (
                "x-amzn-ErrorType",
                f"{error_type}:http://internal.amazon.com/coral/com.amazonaws.airflow/",
            )
        )
    start_response(f"{status} {reasons.get(status, 'Error')}", headers)
    yield body


def s3_error(
    start_response: Callable[..., Any], status: int, code: str, message: str
) -> Iterator[bytes]:
    """An S3-style XML error response."""
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{message}</Message>"
        f"<RequestId>{uuid.uuid4().hex[:16].upper()}</RequestId></Error>"
    ).encode()
    start_response(
        f"{status} Error",
        [
            ("Content-Type", "application/xml"),
            ("Content-Length", str(len(body))),
            ("Connection", "close"),
        ],
    )
    yield body
