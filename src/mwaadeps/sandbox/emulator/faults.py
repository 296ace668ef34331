"""Injected misbehaviour: the Faults record and the S3 fault hook the sandbox's router calls."""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import parse_qs, unquote

INTERNAL_AGENT = "mwaadeps-sandbox-emulator"
"""The user agent of the emulator's own AWS clients: never counted, never faulted."""


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
    # the model webserver's installed set differs: {"name": "version"} or {"name": None} (absent)
    installed_drift: dict[str, str | None] | None = None
    # InvokeRestApi refused after {"after": n} calls go through: {"code": "AccessDeniedException"
    # | "ThrottlingException" | "RestApiServerException" (503) | "RestApiClientException" (403)}
    fail_rest_api: dict[str, Any] | None = None
    # InvokeRestApi calls whose "METHOD /path" starts with this wait until it is cleared
    hold_rest_api: str | None = None


FAULT_NAMES = tuple(sorted(asdict(Faults())))


class FaultInjector:
    """The current faults, S3 write counters, and the hold on multipart upload parts."""

    def __init__(self) -> None:
        self.faults = Faults()
        self.object_puts = 0
        self.artifact_puts = 0
        self.part_held = threading.Event()  # set when an UploadPart is being held
        self._release_parts = threading.Event()
        self.rest_held = threading.Event()  # set when an InvokeRestApi call is being held
        self._release_rest = threading.Event()
        self._lock = threading.Lock()
        self.set(Faults())

    def reset(self) -> None:
        """No faults, zero counters."""
        with self._lock:
            self.object_puts = 0
            self.artifact_puts = 0
        self.set(Faults())

    def set(self, faults: Faults) -> None:
        """Replace the faults; clearing hold_upload_parts lets held parts through."""
        self.faults = faults
        if faults.hold_upload_parts:
            self._release_parts.clear()
        else:
            self._release_parts.set()
            self.part_held.clear()
        if faults.hold_rest_api:
            self._release_rest.clear()
        else:
            self._release_rest.set()
            self.rest_held.clear()

    def hold_rest_api(self, method: str, path: str) -> None:
        """Wait while the hold_rest_api fault matches this call (released by clearing it)."""
        wanted = self.faults.hold_rest_api
        if wanted and f"{method} {path}".startswith(wanted):
            self.rest_held.set()
            self._release_rest.wait(timeout=120)

    def merge(self, body: dict[str, Any]) -> list[str]:
        """Apply the given fields over the current faults; the unknown field names (then
        nothing changes)."""
        unknown = sorted(set(body) - set(FAULT_NAMES))
        if not unknown:
            self.set(Faults(**{**asdict(self.faults), **body}))
        return unknown

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
        with self._lock:
            if self.faults.throttle_s3 > 0:
                self.faults.throttle_s3 -= 1
                return 503, "SlowDown", "Please reduce your request rate."
            if not is_put:
                return None
            limit = self.faults.fail_uploads_after
            if not bookkeeping and limit is not None and self.artifact_puts >= limit:
                return 403, "AccessDenied", "Access Denied (injected by the sandbox)"
            if method == "PUT":
                self.object_puts += 1
                self.artifact_puts += 0 if bookkeeping else 1
        return None


__all__ = ["FAULT_NAMES", "INTERNAL_AGENT", "FaultInjector", "Faults"]
