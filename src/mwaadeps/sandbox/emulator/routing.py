"""The wire: parse a WSGI request, map (method, path) to an MWAA operation, and encode
answers and errors the way botocore's rest-json parser reads them."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote

_NAME_RE = re.compile(r"[a-zA-Z][0-9a-zA-Z\-_]*")
_BUCKET_ARN_RE = re.compile(r"arn:aws(-[a-z]+)?:s3:::([a-z0-9.\-]+)")
_CREDENTIAL_RE = re.compile(r"Credential=[^/,\s]+/\d{8}/([a-z0-9-]+)/([a-z0-9-]+)/aws4_request")
_ENVIRONMENT_OPS = {
    "PUT": "CreateEnvironment",
    "GET": "GetEnvironment",
    "PATCH": "UpdateEnvironment",
    "DELETE": "DeleteEnvironment",
}
_REASONS = {
    200: "OK",
    204: "No Content",
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


class ApiError(Exception):
    """An MWAA error response: HTTP status, x-amzn-ErrorType, message, and modeled members
    (``fields``) that botocore puts into ``err.response`` beside ``Error``."""

    def __init__(
        self, status: int, code: str, message: str, fields: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.fields = fields or {}

    def payload(self) -> dict[str, Any]:
        """The JSON error body."""
        return {"message": self.message, **self.fields}


def validation(message: str) -> ApiError:
    """A ValidationException (HTTP 400)."""
    return ApiError(400, "ValidationException", message)


@dataclass(frozen=True)
class Request:
    """One parsed MWAA API request."""

    method: str
    path: str
    region: str
    body: dict[str, Any]
    query: dict[str, str]


def signing_scope(authorization: str) -> tuple[str, str] | None:
    """(region, service) from a SigV4 Authorization header, or None."""
    match = _CREDENTIAL_RE.search(authorization or "")
    return (match.group(1), match.group(2)) if match else None


def read_body(environ: dict[str, Any]) -> bytes:
    """The request body (CONTENT_LENGTH bytes of wsgi.input)."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    stream = environ.get("wsgi.input")
    return stream.read(length) if stream is not None and length > 0 else b""


def parse_request(environ: dict[str, Any]) -> Request:
    """Method, path, region (from the SigV4 scope), JSON body and query of a request."""
    scope = signing_scope(environ.get("HTTP_AUTHORIZATION", ""))
    raw = read_body(environ)
    query = {k: v[-1] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
    try:
        body = json.loads(raw) if raw.strip() else {}
    except ValueError:
        raise ApiError(400, "SerializationException", "The request body is not JSON.") from None
    if not isinstance(body, dict):
        raise ApiError(400, "SerializationException", "The request body is not an object.")
    return Request(
        method=environ.get("REQUEST_METHOD", "GET"),
        path=environ.get("PATH_INFO", "/"),
        region=scope[0] if scope else "us-east-1",
        body=body,
        query=query,
    )


def route(method: str, path: str) -> tuple[str, str | None]:
    """The MWAA operation for (method, path) and the (unchecked) environment name in it."""
    if path.rstrip("/") == "/environments" and method == "GET":
        return "ListEnvironments", None
    match = re.fullmatch(r"/environments/([^/]+)", path)
    if match:
        op = _ENVIRONMENT_OPS.get(method)
        if op is None:
            raise ApiError(405, "MethodNotAllowedException", f"{method} is not allowed.")
        return op, unquote(match.group(1))
    match = re.fullmatch(r"/restapi/([^/]+)", path)
    if match and method == "POST":
        return "InvokeRestApi", unquote(match.group(1))
    raise ApiError(
        404, "UnknownOperationException", f"The sandbox does not implement {method} {path}."
    )


def check_name(name: str) -> None:
    """ValidationException unless ``name`` is a valid environment name."""
    if not 1 <= len(name) <= 80 or not _NAME_RE.fullmatch(name):
        raise validation(
            f"1 validation error detected: Value '{name}' at 'name' failed to satisfy "
            "constraint: Member must satisfy regular expression pattern: [a-zA-Z][0-9a-zA-Z-_]*"
        )


def bucket_of(arn: str) -> str:
    """The bucket name of an S3 bucket ARN (ValidationException otherwise)."""
    match = _BUCKET_ARN_RE.fullmatch(arn or "")
    if not match:
        raise validation(f"SourceBucketArn {arn!r} is not an S3 bucket ARN.")
    return match.group(2)


def respond(
    start_response: Callable[..., Any],
    status: int,
    payload: dict[str, Any],
    error_type: str | None = None,
) -> Iterator[bytes]:
    """A JSON answer; with ``error_type``, the x-amzn-ErrorType header botocore reads."""
    body = json.dumps(payload).encode()
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
    start_response(f"{status} {_REASONS.get(status, 'Error')}", headers)
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


__all__ = [
    "ApiError",
    "Request",
    "bucket_of",
    "check_name",
    "parse_request",
    "read_body",
    "respond",
    "route",
    "s3_error",
    "signing_scope",
    "validation",
]
