"""The emulator's WSGI apps: the MWAA API (``MwaaEmulator.__call__``) and the sandbox's
control API (``MwaaEmulator.control``, /_sandbox/*)."""

from __future__ import annotations

import json
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import asdict
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from mwaadeps.sandbox.emulator import state
from mwaadeps.sandbox.emulator.effects import ARTIFACTS, Effects
from mwaadeps.sandbox.emulator.faults import FAULT_NAMES, FaultInjector, Faults
from mwaadeps.sandbox.emulator.model import ModelBackend
from mwaadeps.sandbox.emulator.routing import (
    ApiError,
    Request,
    bucket_of,
    check_name,
    parse_request,
    read_body,
    respond,
    route,
    validation,
)
from mwaadeps.sandbox.emulator.state import (
    DEFAULT_ACCOUNT,
    STATUSES,
    UPDATABLE,
    UPDATE_FIELDS,
    Environment,
    Installer,
)
from mwaadeps.sandbox.emulator.webserver import (
    AirflowBackend,
    AirflowProblem,
    Installed,
    Webserver,
    paused_at_creation,
)
from mwaadeps.targets import known_version

REST_METHODS = ("GET", "PUT", "POST", "PATCH", "DELETE")


class MwaaEmulator:
    """The MWAA REST API on a WSGI callable; ``control`` serves /_sandbox/*."""

    def __init__(
        self,
        aws_endpoint: str | None = None,
        *,
        update_polls: int = 2,
        installer: Installer | None = None,
        account: str = DEFAULT_ACCOUNT,
        backend: AirflowBackend | None = None,
    ) -> None:
        self.backend: AirflowBackend = backend or ModelBackend(
            drift=lambda: self.faults.installed_drift
        )
        self.update_polls = update_polls
        self.installer = installer
        self.account = account
        self.injector = FaultInjector()
        self.calls: Counter[str] = Counter()
        self.problems: list[str] = []
        self.effects = Effects(aws_endpoint, account, self.problems)
        self._envs: dict[tuple[str, str], Environment] = {}
        self._lock = threading.RLock()
        self.updated = threading.Event()  # set by each accepted UpdateEnvironment (tests)

    @property
    def aws_endpoint(self) -> str | None:
        """Where the emulator's own S3 and Logs clients go (the sandbox's URL)."""
        return self.effects.aws_endpoint

    @aws_endpoint.setter
    def aws_endpoint(self, value: str | None) -> None:
        self.effects.aws_endpoint = value

    @property
    def faults(self) -> Faults:
        """The faults in force."""
        return self.injector.faults

    @property
    def rest_held(self) -> threading.Event:
        """Set while an InvokeRestApi call is held by the hold_rest_api fault."""
        return self.injector.rest_held

    @property
    def part_held(self) -> threading.Event:
        """Set while an UploadPart is held by the ``hold_upload_parts`` fault."""
        return self.injector.part_held

    def s3_fault(self, environ: dict[str, Any]) -> tuple[int, str, str] | None:
        """The S3 fault for this request, if any (see FaultInjector.s3_fault)."""
        return self.injector.s3_fault(environ)

    def reset(self) -> None:
        """Forget every environment, fault and counter."""
        with self._lock:
            self._envs.clear()
            self.calls.clear()
            self.problems.clear()
            self.updated.clear()
            self.injector.reset()

    # -- the MWAA API ----------------------------------------------------------------------

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        """Serve one MWAA API request."""
        try:
            with self._lock:
                if self.faults.throttle > 0:
                    self.faults.throttle -= 1
                    self.calls["Throttled"] += 1
                    raise ApiError(429, "ThrottlingException", "Rate exceeded")
            payload = self._dispatch(parse_request(environ))
            return respond(start_response, 200, payload)
        except ApiError as exc:
            return respond(start_response, exc.status, exc.payload(), exc.code)
        except Exception as exc:  # an emulator bug must look like an AWS 500, not hang
            self.problems.append(f"{type(exc).__name__}: {exc}")
            return respond(start_response, 500, {"message": str(exc)}, "InternalServerException")

    def _dispatch(self, request: Request) -> dict[str, Any]:
        op, name = route(request.method, request.path)
        self.calls[op] += 1
        if name is None:
            return self.list_environments(request.region, request.query)
        check_name(name)
        if op == "CreateEnvironment":
            return self.create_environment(request.region, name, request.body)
        if op == "GetEnvironment":
            return {"Environment": self.get_environment(request.region, name)}
        if op == "UpdateEnvironment":
            return self.update_environment(request.region, name, request.body)
        if op == "InvokeRestApi":
            return self.invoke_rest_api(request.region, name, request.body)
        return self.delete_environment(request.region, name)

    def _env(self, region: str, name: str) -> Environment:
        env = self._envs.get((region, name))
        if env is None:
            raise ApiError(
                404, "ResourceNotFoundException", f"Environment {name} does not exist in {region}."
            )
        return env

    def list_environments(self, region: str, query: dict[str, str]) -> dict[str, Any]:
        """ListEnvironments, paginated by MaxResults/NextToken."""
        with self._lock:
            names = sorted(n for (r, n) in self._envs if r == region)
        try:
            limit = int(query.get("MaxResults", "25"))
            start = int(query.get("NextToken", "0"))
        except ValueError:
            raise validation("MaxResults and NextToken must be integers.") from None
        if not 1 <= limit <= 25:
            raise validation("MaxResults must be between 1 and 25.")
        out: dict[str, Any] = {"Environments": names[start : start + limit]}
        if start + limit < len(names):
            out["NextToken"] = str(start + limit)
        return out

    def create_environment(self, region: str, name: str, body: dict[str, Any]) -> dict[str, Any]:
        """CreateEnvironment: validate, check S3, create log groups; status CREATING."""
        for required in state.REQUIRED_FOR_CREATE:
            if not body.get(required):
                raise validation(f"1 validation error detected: {required} must not be null.")
        bucket = bucket_of(body["SourceBucketArn"])
        with self._lock:
            if (region, name) in self._envs:
                raise validation(f"Environment {name} already exists.")
        self.effects.check_bucket(region, bucket)
        paths = self.effects.check_artifacts(region, bucket, body, {})
        logging_cfg = self.effects.create_log_groups(
            region, name, body.get("LoggingConfiguration") or {}
        )
        data = state.new_data(region, name, body, self.account, logging_cfg, paths)
        with self._lock:
            self._envs[(region, name)] = Environment(region=region, data=data)
        return {"Arn": data["Arn"]}

    def get_environment(self, region: str, name: str) -> dict[str, Any]:
        """GetEnvironment; each call while CREATING/UPDATING moves the clock one poll."""
        with self._lock:
            env = self._env(region, name)
            if state.poll(env, self.update_polls, self.faults.stay_updating):
                self._finish_update(env)
            return json.loads(json.dumps(env.data))  # type: ignore[no-any-return]

    def update_environment(self, region: str, name: str, body: dict[str, Any]) -> dict[str, Any]:
        """UpdateEnvironment: check state and S3 objects, then go UPDATING."""
        with self._lock:
            env = self._env(region, name)
            status = env.data["Status"]
            if status not in UPDATABLE:
                raise validation(
                    f"Environment {name} is in {status} state; updates are allowed only in "
                    "AVAILABLE or UPDATE_FAILED state."
                )
            current = dict(env.data)
        strategy = body.get("WorkerReplacementStrategy")
        if strategy is not None and strategy not in ("FORCED", "GRACEFUL"):
            raise validation("WorkerReplacementStrategy must be FORCED or GRACEFUL.")
        bucket = bucket_of(body.get("SourceBucketArn") or current["SourceBucketArn"])
        paths = self.effects.check_artifacts(region, bucket, body, current)
        pending = {k: body[k] for k in UPDATE_FIELDS if k in body}
        pending.update(paths)
        if body.get("SourceBucketArn"):
            pending["SourceBucketArn"] = body["SourceBucketArn"]
        with self._lock:
            if env.data["Status"] not in UPDATABLE:
                raise validation(f"Environment {name} is in {env.data['Status']} state.")
            outcome: dict[str, Any] = {}
            faults = self.faults
            if faults.fail_next_update is not None:
                outcome["fail"] = faults.fail_next_update
                faults.fail_next_update = None
            if faults.pip_fail_next_update:
                outcome["pip_fail"] = True
                faults.pip_fail_next_update = False
            if faults.throttle_after_update:
                faults.throttle += faults.throttle_after_update
                faults.throttle_after_update = 0
            state.begin_update(env, pending, outcome, strategy)
            if self.installer is not None and not outcome:
                env.install = threading.Thread(
                    target=self.effects.run_installer,
                    args=(env, self.installer, {**current, **pending}),
                    daemon=True,
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

    def invoke_rest_api(self, region: str, name: str, body: dict[str, Any]) -> dict[str, Any]:
        """InvokeRestApi: one Airflow REST API call on the environment's webserver, after a
        reparse if the bundle or the DAG objects changed."""
        method, path = body.get("Method"), body.get("Path")
        if method not in REST_METHODS:
            raise validation(f"Method must be one of {', '.join(REST_METHODS)}.")
        if not isinstance(path, str) or not 1 <= len(path) <= 64:
            raise validation("Path must be a string of 1 to 64 characters.")
        query, request = body.get("QueryParameters") or {}, body.get("Body") or {}
        if not isinstance(query, dict) or not isinstance(request, dict):
            raise validation("QueryParameters and Body must be JSON objects.")
        self.injector.hold_rest_api(str(method), path)
        with self._lock:
            env = self._env(region, name)
            data = json.loads(json.dumps(env.data))
            self._rest_api_fault(data["AirflowVersion"])
            if data["Status"] not in UPDATABLE:
                problem = AirflowProblem(503, "Service Unavailable", "webserver unavailable", None)
                raise _rest_error(problem, data["AirflowVersion"])
            if env.webserver is None:
                env.webserver = Webserver(self.backend)
            webserver, image = env.webserver, env.image
            options = data.get("AirflowConfigurationOptions") or {}
            webserver.paused_at_creation = paused_at_creation(options)
        versions = tuple((data.get(k), data.get(v)) for k, v, _ in ARTIFACTS)
        bundle_key = (data["AirflowVersion"], image, versions)
        objects = self.effects.dag_objects(region, data)
        webserver.sync(
            bundle_key,
            objects,
            lambda folder: self._load_bundle(region, data, image, folder),
            lambda folder: self.effects.fetch_dags(region, data, [k for k, _ in objects], folder),
        )
        try:
            status, answer = webserver.handle(method, path, query, request)
        except AirflowProblem as exc:
            raise _rest_error(exc, data["AirflowVersion"]) from None
        return {"RestApiStatusCode": status, "RestApiResponse": answer}

    def _rest_api_fault(self, airflow_version: str) -> None:
        """The fail_rest_api fault: let ``after`` calls through, then refuse each with ``code``."""
        fault = self.faults.fail_rest_api
        if not fault:
            return
        if int(fault.get("after") or 0) > 0:
            fault["after"] = int(fault["after"]) - 1
            return
        code = str(fault.get("code") or "AccessDeniedException")
        if code == "AccessDeniedException":
            raise ApiError(403, code, "User is not authorized to perform: airflow:InvokeRestApi")
        if code == "ThrottlingException":
            raise ApiError(429, code, "Rate exceeded")
        status = 503 if code == "RestApiServerException" else 403
        title = "Service Unavailable" if status == 503 else "Forbidden"
        problem = AirflowProblem(status, title, f"{title} (injected)", None)
        raise _rest_error(problem, airflow_version)

    def _load_bundle(
        self, region: str, data: dict[str, Any], image: str | None, folder: Path
    ) -> Installed:
        """Download the environment's current bundle into ``folder``; what it runs."""
        self.effects.fetch_bundle(region, data, folder)
        version = str(data["AirflowVersion"])
        known = known_version(version)
        python = known.python_full if known is not None else None
        return Installed(version, python, folder, image)

    def _finish_update(self, env: Environment) -> None:
        pip_fail = bool(env.outcome.get("fail") or env.outcome.get("pip_fail"))
        target = {**env.data, **(env.pending or {})}
        lines = self.effects.install_lines(env, target, pip_fail=pip_fail)
        state.finish_update(env)
        self.effects.write_logs(env, target, lines, int(time.time()))

    # -- the sandbox's control API ---------------------------------------------------------

    def control(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        """Serve /_sandbox/*: health, faults, calls, reset, forced status."""
        method = environ.get("REQUEST_METHOD", "GET")
        path = environ.get("PATH_INFO", "/")[len("/_sandbox") :].rstrip("/")
        raw = read_body(environ)
        try:
            body = json.loads(raw) if raw.strip() else {}
        except ValueError:
            return respond(start_response, 400, {"message": "body must be JSON"}, "BadRequest")
        with self._lock:
            if path == "/health":
                return respond(start_response, 200, {"ok": True})
            if path == "/faults":
                if method == "DELETE":
                    self.injector.set(Faults())
                elif method in ("POST", "PUT"):
                    unknown = self.injector.merge(body)
                    if unknown:
                        message = f"unknown faults: {', '.join(unknown)}"
                        known = list(FAULT_NAMES)
                        return respond(
                            start_response,
                            400,
                            {"message": message, "known": known},
                            "BadRequest",
                        )
                return respond(start_response, 200, asdict(self.faults))
            if path == "/calls":
                return respond(
                    start_response,
                    200,
                    {
                        "mwaa": dict(self.calls),
                        "s3_object_puts": self.injector.object_puts,
                        "problems": list(self.problems),
                    },
                )
            if path == "/reset" and method == "POST":
                self.reset()
                return respond(start_response, 200, {"ok": True})
            match = re.fullmatch(r"/environments/([^/]+)", path)
            if match and method == "POST":
                return self._force_status(start_response, unquote(match.group(1)), body)
        return respond(start_response, 404, {"message": f"no control endpoint {path}"}, "NotFound")

    def _force_status(
        self, start_response: Callable[..., Any], name: str, body: dict[str, Any]
    ) -> Iterable[bytes]:
        found = [e for (r, n), e in self._envs.items() if n == name]
        if not found:
            message = {"message": f"no environment {name}"}
            return respond(start_response, 404, message, "ResourceNotFoundException")
        status = body.get("Status")
        if status not in STATUSES:
            return respond(
                start_response,
                400,
                {"message": f"Status must be one of {', '.join(STATUSES)}"},
                "BadRequest",
            )
        state.force_status(found[0], status)
        return respond(start_response, 200, {"Name": name, "Status": status})


def _rest_error(problem: AirflowProblem, airflow_version: str) -> ApiError:
    """Airflow's 4xx as RestApiClientException, 5xx as RestApiServerException (both HTTP
    400, with Airflow's status and problem+json as modeled members)."""
    code = "RestApiServerException" if problem.status >= 500 else "RestApiClientException"
    fields = {
        "RestApiStatusCode": problem.status,
        "RestApiResponse": problem.payload(airflow_version),
    }
    return ApiError(400, code, str(problem), fields)


__all__ = ["REST_METHODS", "MwaaEmulator"]
