"""The environment's requirements/startup install logs (CloudWatch Logs) of an update."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from mwaadeps.deploy.aws import Aws, aws_call, error_code, translate
from mwaadeps.deploy.models import LOG_PREFIXES, InstallLogs, LogStream, to_epoch
from mwaadeps.progress import NullReporter, Reporter


def install_logs(
    aws: Aws,
    environment: Mapping[str, Any],
    since: float | None = None,
    reporter: Reporter | None = None,
) -> InstallLogs:
    """The requirements_install_* / startup_script_execution_* streams since ``since``."""
    import botocore.exceptions as bx

    rep = reporter or NullReporter()
    name = str(environment.get("Name"))
    if since is None:
        since = to_epoch((environment.get("LastUpdate") or {}).get("CreatedAt"))
    groups = []
    for module in (environment.get("LoggingConfiguration") or {}).values():
        arn = (module or {}).get("CloudWatchLogGroupArn")
        if arn and ":log-group:" in arn:
            groups.append(arn.split(":log-group:", 1)[1].removesuffix(":*"))
    if not groups:
        rep.warn(f"{name} has no CloudWatch log groups enabled; install logs cannot be read.")
    streams: list[LogStream] = []
    for group in sorted(set(groups)):
        for prefix in LOG_PREFIXES:
            try:
                found = aws_call(
                    aws,
                    f"list log streams of {group}",
                    _streams,
                    client=aws.logs,
                    group=group,
                    prefix=prefix,
                )
            except bx.ClientError as exc:
                if error_code(exc) == "ResourceNotFoundException":
                    break
                if error_code(exc) in ("AccessDeniedException", "AccessDenied"):
                    rep.warn(f"Cannot read log group {group} (access denied).")
                    break
                with translate(f"list log streams of {group}", group, aws):
                    raise
            picked = _pick_streams(found, since)
            for stream in picked:
                with translate(f"read log stream {group}/{stream}", group, aws):
                    lines = _events(aws, group, stream)
                streams.append(LogStream(group, stream, tuple(lines)))
    return InstallLogs(name, since, tuple(streams))


def _streams(client: Any, group: str, prefix: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"logGroupName": group, "logStreamNamePrefix": prefix}
    while True:
        page = client.describe_log_streams(**kwargs)
        found += list(page.get("logStreams", []))
        token = page.get("nextToken")
        if not token or len(found) > 5000:
            return found
        kwargs["nextToken"] = token


def _stream_epoch(name: str) -> int | None:
    match = re.search(r"_(\d{9,11})\.log$", name)
    return int(match.group(1)) if match else None


def _stream_start(stream: Mapping[str, Any]) -> float | None:
    """When a stream's first event was written (else when it was created), epoch seconds."""
    millis = stream.get("firstEventTimestamp") or stream.get("creationTime")
    return millis / 1000.0 if isinstance(millis, int | float) else None


def _pick_streams(streams: list[dict[str, Any]], since: float | None) -> list[str]:
    """The streams of the update that started at ``since``: strictly none from before.

    The epoch in the name (seconds) must not be before the update's second, and the
    stream's first event (milliseconds) not before the update itself; without ``since``,
    the latest batch (within 10 minutes of the newest stream).
    """
    import math

    dated = []
    for stream in streams:
        name = str(stream.get("logStreamName", ""))
        epoch, first = _stream_epoch(name), _stream_start(stream)
        if epoch is None and first is None:
            continue
        dated.append((epoch, first, name))
    if since is not None:
        floor = math.floor(since)
        return sorted(
            n for e, f, n in dated if (e is None or e >= floor) and (f is None or f >= since)
        )
    if not dated:
        return []
    latest = max(e if e is not None else (f or 0) for e, f, _ in dated)
    return sorted(n for e, f, n in dated if (e if e is not None else (f or 0)) >= latest - 600)


def _events(aws: Aws, group: str, stream: str) -> list[str]:
    lines: list[str] = []
    kwargs: dict[str, Any] = {"logGroupName": group, "logStreamName": stream, "startFromHead": True}
    previous = None
    while True:
        page = aws.logs.get_log_events(**kwargs)
        lines += [str(e.get("message", "")).rstrip("\n") for e in page.get("events", [])]
        token = page.get("nextForwardToken")
        if not token or token == previous or not page.get("events"):
            return lines
        previous, kwargs["nextToken"] = token, token
