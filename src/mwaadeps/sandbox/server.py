"""A local AWS for rehearsing deploys: moto (S3, KMS, STS, CloudWatch Logs) and the MWAA
emulator behind one HTTP port on 127.0.0.1.

Requests signed for the service ``airflow`` (SigV4 credential scope) go to the emulator,
``/_sandbox/*`` to its control API, everything else to moto's server.
"""

from __future__ import annotations

import json
import threading
import urllib.request
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mwaadeps.errors import MwaadepsError
from mwaadeps.progress import Reporter
from mwaadeps.sandbox.emulator import (
    INTERNAL_AGENT,
    AirflowBackend,
    Installer,
    MwaaEmulator,
    s3_error,
    signing_scope,
)

if TYPE_CHECKING:
    from mwaadeps.sandbox.seed import SeededEnvironment

DUMMY_KEY_ID = "sandbox"
DUMMY_SECRET = "sandbox"
DEFAULT_REGION = "us-east-1"


class SandboxError(MwaadepsError):
    """The sandbox cannot start or seed."""

    exit_code = 5
    code = "sandbox"


class _Front:
    """WSGI router: MWAA -> emulator, /_sandbox -> control, the rest -> moto."""

    def __init__(self, moto_app: Any, emulator: MwaaEmulator) -> None:
        self.moto_app = moto_app
        self.emulator = emulator
        # moto checks If-None-Match / If-Match and then writes; real S3 does both at once.
        # Conditional writes are serialised here so that of two racing writers one gets 412.
        self._conditional = threading.Lock()

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        if environ.get("PATH_INFO", "").startswith("/_sandbox/"):
            return self.emulator.control(environ, start_response)
        scope = signing_scope(environ.get("HTTP_AUTHORIZATION", ""))
        if scope and scope[1] == "airflow":
            return self.emulator(environ, start_response)
        if scope and scope[1] == "s3":
            fault = self.emulator.s3_fault(environ)
            if fault is not None:
                _drain(environ)
                return s3_error(start_response, *fault)
            if environ.get("REQUEST_METHOD") in ("PUT", "POST") and (
                "HTTP_IF_NONE_MATCH" in environ or "HTTP_IF_MATCH" in environ
            ):
                with self._conditional:
                    if self._key_exists_for_create_only(environ, scope[0]):
                        _drain(environ)
                        return s3_error(
                            start_response,
                            412,
                            "PreconditionFailed",
                            "At least one of the pre-conditions you specified did not hold",
                        )
                    return list(self.moto_app(environ, start_response))
        return self.moto_app(environ, start_response)  # type: ignore[no-any-return]

    def _key_exists_for_create_only(self, environ: dict[str, Any], region: str) -> bool:
        """A PutObject with If-None-Match: * on a key whose current version is an object
        (not absent, not a delete marker): S3 answers 412. Checked here, not left to moto,
        whose server mode got it wrong in some versions."""
        from urllib.parse import parse_qs, unquote

        query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        bucket, _, key = unquote(environ.get("PATH_INFO", "/")).lstrip("/").partition("/")
        if (
            environ.get("REQUEST_METHOD") != "PUT"
            or environ.get("HTTP_IF_NONE_MATCH", "").strip() != "*"
            or not (bucket and key)
            or set(query) - {"x-id"}
        ):
            return False
        try:
            self.emulator.effects.client("s3", region).head_object(Bucket=bucket, Key=key)
        except Exception:
            return False  # absent (or unreadable: moto decides)
        return True


def _drain(environ: dict[str, Any]) -> None:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length and environ.get("wsgi.input") is not None:
        environ["wsgi.input"].read(length)


class Sandbox:
    """moto + the MWAA emulator on one port. ``start()``, use ``url``, ``stop()``.

    moto keeps its state per process: sandboxes of one process share S3, KMS and Logs
    (``reset()`` empties them).
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        update_polls: int = 2,
        installer: Installer | None = None,
        log: Callable[[str], None] | None = None,
        backend: AirflowBackend | None = None,
    ) -> None:
        self.host = host
        self.log = log
        self.port = port
        self.emulator = MwaaEmulator(
            update_polls=update_polls, installer=installer, backend=backend
        )
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._clients: dict[tuple[str, str, str], Any] = {}

    @property
    def url(self) -> str:
        """The endpoint URL for every AWS service."""
        if self._server is None:
            raise SandboxError("The sandbox is not running.", hint="Call start() first.")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> None:
        """Serve in a background thread; returns once the port is bound."""
        try:
            from moto.moto_server.werkzeug_app import (
                DomainDispatcherApplication,
                MotoRequestHandler,
                create_backend_app,
            )
            from werkzeug.serving import make_server
        except ImportError:
            raise SandboxError(
                "The sandbox needs moto's server mode, which is not installed.",
                hint="Install the sandbox extra: pip install 'mwaadeps[sandbox]', or with pipx: "
                "pipx inject mwaadeps 'moto[server]'.",
            ) from None
        log = self.log

        class Handler(MotoRequestHandler):  # type: ignore[misc]
            def log_request(self, code: Any = "-", size: Any = "-") -> None:
                if log is not None:
                    log(f"{self.command} {self.path} {getattr(code, 'value', code)}")

        app = _Front(DomainDispatcherApplication(create_backend_app), self.emulator)
        try:
            self._server = make_server(
                self.host, self.port, app, threaded=True, request_handler=Handler
            )
        except OSError as exc:
            raise SandboxError(
                f"Cannot listen on {self.host}:{self.port}: {exc.strerror or exc}.",
                hint="Pick another --port (0 picks a free one).",
            ) from None
        self.emulator.aws_endpoint = self.url
        self._thread = threading.Thread(
            target=self._server.serve_forever, daemon=True, name="mwaadeps-sandbox"
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop serving."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._server, self._thread = None, None
        close = getattr(self.emulator.installer, "close", None)
        if callable(close):
            close()  # the Docker installer's committed images

    def __enter__(self) -> Sandbox:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def env_vars(self, region: str = DEFAULT_REGION) -> dict[str, str]:
        """The environment variables that point boto3 (and mwaadeps) at the sandbox."""
        return {
            "AWS_ENDPOINT_URL": self.url,
            "AWS_ACCESS_KEY_ID": DUMMY_KEY_ID,
            "AWS_SECRET_ACCESS_KEY": DUMMY_SECRET,
            "AWS_DEFAULT_REGION": region,
        }

    def reset(self) -> None:
        """Empty moto's backends and the emulator."""
        self.emulator.reset()
        request = urllib.request.Request(f"{self.url}/moto-api/reset", method="POST", data=b"")
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()

    def faults(self, **faults: Any) -> dict[str, Any]:
        """Inject faults (see sandbox.emulator.faults.Faults) over the control API."""
        return self._control("POST", "/_sandbox/faults", faults)

    def calls(self) -> dict[str, Any]:
        """Counts of MWAA operations and S3 object writes seen so far."""
        return self._control("GET", "/_sandbox/calls")

    def set_status(self, name: str, status: str) -> dict[str, Any]:
        """Force an environment's status (e.g. UPDATING) for a rehearsal."""
        return self._control("POST", f"/_sandbox/environments/{name}", {"Status": status})

    def _control(
        self, method: str, path: str, body: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            f"{self.url}{path}",
            method=method,
            data=data,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())  # type: ignore[no-any-return]

    def client(self, service: str, region: str = DEFAULT_REGION) -> Any:
        """A boto3 client on the sandbox with dummy credentials."""
        key = (service, region, self.url)
        if key not in self._clients:
            self._clients[key] = self._new_client(service, region)
        return self._clients[key]

    def _new_client(self, service: str, region: str) -> Any:
        from mwaadeps.deploy.aws import new_client

        return new_client(
            service,
            region,
            self.url,
            credentials=(DUMMY_KEY_ID, DUMMY_SECRET),
            inject_host_prefix=False,
            user_agent_extra=INTERNAL_AGENT,
            retries={"mode": "standard", "max_attempts": 3},
        )

    def seed(self, example: Path, reporter: Reporter | None = None) -> list[SeededEnvironment]:
        """Create every environment of ``example``/mwaadeps.toml (see sandbox.seed)."""
        from mwaadeps.sandbox.seed import seed

        return seed(self, example, reporter)

    def serve_forever(self, stop: threading.Event | None = None) -> None:
        """Block until ``stop`` is set or Ctrl-C."""
        event = stop or threading.Event()
        try:
            while not event.wait(0.5):
                pass
        finally:
            self.stop()


def docker_installer(
    airflow_version: str | None, image: str | None = None
) -> tuple[Installer | None, str]:
    """An installer running bundles in the runner container (localtest.run_bundle) and
    committing each successful install as an image (InstallOutcome.image), and why not when
    it cannot: no engine, no image. See sandbox/docker_backend.py."""
    from mwaadeps.sandbox.docker_backend import make_installer

    return make_installer(airflow_version, image)
