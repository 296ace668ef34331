"""Deployment records (.mwaadeps/deployments/) and the one-deployer-at-a-time lock."""

from __future__ import annotations

import contextlib
import json
import re
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mwaadeps import __version__
from mwaadeps.deploy.aws import Aws, aws_call, connect, error_code, translate
from mwaadeps.deploy.models import (
    OUTCOMES,
    RECORDS_DIR,
    DeploymentRecord,
    DeployOptions,
    Preflight,
    iso_time,
    jsonable,
)
from mwaadeps.deploy.plan import sse_args
from mwaadeps.errors import AwsError, LockedError, MwaadepsError
from mwaadeps.progress import NullReporter, Reporter

if TYPE_CHECKING:
    from mwaadeps.config import EnvironmentConfig


# -- records -----------------------------------------------------------------------------------


_RECORD_RE = re.compile(r"(?:^|/)(\d+)\.json$")


def _records_prefix(env: EnvironmentConfig) -> str:
    folder = env.requirements_key.rpartition("/")[0]
    return f"{folder}/{RECORDS_DIR}" if folder else RECORDS_DIR


def _record_problem(data: Any, record_id: int, config: EnvironmentConfig) -> str | None:
    """Why a parsed record cannot be used (None: it can)."""
    if not isinstance(data, dict):
        return "it is not a JSON object"
    if data.get("environment") != config.name:
        return f"it belongs to environment {data.get('environment')!r}, not {config.name}"
    if "id" in data and data["id"] != record_id:
        return f"its id {data['id']!r} does not match its name"
    arts = data.get("artifacts")
    if not isinstance(arts, dict) or not all(
        isinstance(v, dict) and isinstance(v.get("key"), str) for v in arts.values()
    ):
        return "its artifacts are not a table of {key, version}"
    if data.get("outcome") not in OUTCOMES:
        return f"its outcome {data.get('outcome')!r} is not one of {', '.join(OUTCOMES)}"
    return None


def _record_ids(aws: Aws, config: EnvironmentConfig, prefix: str) -> tuple[list[str], int]:
    """The current record keys, and the highest id ever used under the prefix (every version
    and delete marker counts, so an id is never given twice)."""
    import botocore.exceptions as bx

    where = f"s3://{config.bucket}/{prefix}"
    keys: list[str] = []
    with translate(f"list deployment records in {where}", config.bucket, aws):
        for page in aws.s3.get_paginator("list_objects_v2").paginate(
            Bucket=config.bucket, Prefix=prefix
        ):
            keys += [o["Key"] for o in page.get("Contents", [])]
    used = [int(m.group(1)) for k in keys if (m := _RECORD_RE.search(k))]
    try:
        for vpage in aws.s3.get_paginator("list_object_versions").paginate(
            Bucket=config.bucket, Prefix=prefix
        ):
            names = [v["Key"] for v in vpage.get("Versions", [])]
            names += [d["Key"] for d in vpage.get("DeleteMarkers", [])]
            used += [int(m.group(1)) for k in names if (m := _RECORD_RE.search(k))]
    except (bx.ClientError, bx.BotoCoreError):
        pass  # no s3:ListBucketVersions: the current keys still give the highest live id
    return keys, max(used, default=0)


def _scan_records(
    config: EnvironmentConfig, aws: Aws
) -> tuple[tuple[DeploymentRecord, ...], list[str], int]:
    """(usable records oldest first, a warning per skipped record, the highest id used)."""
    prefix = _records_prefix(config)
    keys, max_id = _record_ids(aws, config, prefix)
    records, skipped = [], []
    for key in sorted(keys):
        match = _RECORD_RE.search(key)
        if not match or "/" in key[len(prefix) :]:
            continue
        record_id = int(match.group(1))
        where = f"s3://{config.bucket}/{key}"
        with translate(f"read deployment record {where}", key, aws):
            body = aws.s3.get_object(Bucket=config.bucket, Key=key)["Body"].read()
        try:
            data = json.loads(body)
        except ValueError:
            problem: str | None = "it is not valid JSON"
        else:
            problem = _record_problem(data, record_id, config)
        if problem is not None:
            skipped.append(f"Skipped deployment record {where}: {problem}.")
            continue
        records.append(DeploymentRecord(record_id, key, data))
    return tuple(sorted(records, key=lambda r: r.id)), skipped, max_id


def history(
    config: EnvironmentConfig, aws: Aws | None = None, reporter: Reporter | None = None
) -> tuple[DeploymentRecord, ...]:
    """The recorded deployments of an environment, oldest first; corrupt or foreign
    records are skipped with a warning."""
    rep = reporter or NullReporter()
    records, skipped, _ = _scan_records(config, aws or connect(config))
    for warning in skipped:
        rep.warn(warning)
    return records


def _put_record(pre: Preflight, key: str, data: Mapping[str, Any]) -> None:
    body = json.dumps(jsonable(data), indent=2, sort_keys=True).encode()
    with translate(f"record the deployment in s3://{pre.bucket}/{key}", key, pre.aws):
        pre.aws.s3.put_object(
            Bucket=pre.bucket,
            Key=key,
            Body=body,
            ContentType="application/json",
            **sse_args(pre.kms_key),
        )


def write_record(pre: Preflight, data: dict[str, Any]) -> tuple[int, str]:
    """A new record: the highest id ever used + 1, written only if that key is free."""
    import botocore.exceptions as bx

    for _ in range(10):
        _, max_id = _record_ids(pre.aws, pre.config, _records_prefix(pre.config))
        record_id = max_id + 1
        key = f"{_records_prefix(pre.config)}{record_id:05d}.json"
        try:
            _put_record_raw(pre, key, {**data, "id": record_id})
        except bx.ClientError as exc:
            if error_code(exc) in ("PreconditionFailed", "412", "ConditionalRequestConflict"):
                continue  # another deployer took this id a moment ago
            with translate(f"record the deployment in s3://{pre.bucket}/{key}", key, pre.aws):
                raise
        return record_id, key
    raise AwsError(
        f"Cannot find a free deployment record id under s3://{pre.bucket}/"
        f"{_records_prefix(pre.config)}.",
        hint="Another deployer keeps writing records; retry in a minute.",
    )


def _put_new_json(pre: Preflight, key: str, body: bytes, action: str) -> Any:
    """put_object of a JSON body that must not exist yet (If-None-Match: *); ClientErrors
    pass through (PreconditionFailed: someone wrote it first)."""
    return aws_call(
        pre.aws,
        action,
        pre.aws.s3.put_object,
        Bucket=pre.bucket,
        Key=key,
        Body=body,
        ContentType="application/json",
        IfNoneMatch="*",
        **sse_args(pre.kms_key),
    )


def _put_record_raw(pre: Preflight, key: str, data: Mapping[str, Any]) -> None:
    """put_object If-None-Match: *, letting ClientErrors through."""
    body = json.dumps(jsonable(data), indent=2, sort_keys=True).encode()
    _put_new_json(pre, key, body, f"record the deployment in s3://{pre.bucket}/{key}")


def update_record(pre: Preflight, record: DeploymentRecord, changes: Mapping[str, Any]) -> None:
    """Overwrite a record (same id) with its resolved outcome."""
    _put_record(pre, record.key, {**record.data, **changes, "id": record.id})


# -- one deployer at a time ------------------------------------------------------------------


@dataclass(frozen=True)
class DeployLock:
    """The lock object this process wrote (released by deleting exactly that version)."""

    key: str
    version: str | None
    owner: str
    expires: str


def _lock_key(config: EnvironmentConfig) -> str:
    return _records_prefix(config).removesuffix("deployments/") + "lock.json"


def _read_lock(pre: Preflight, key: str) -> tuple[dict[str, Any] | None, str | None]:
    """(the lock's JSON or None when unreadable, its VersionId); (None, None) when absent."""
    import botocore.exceptions as bx

    try:
        got = aws_call(
            pre.aws,
            f"read s3://{pre.bucket}/{key}",
            pre.aws.s3.get_object,
            Bucket=pre.bucket,
            Key=key,
        )
    except bx.ClientError as exc:
        if error_code(exc) in ("NoSuchKey", "404"):
            return None, None
        with translate(f"read the deploy lock s3://{pre.bucket}/{key}", key, pre.aws):
            raise
    version = got.get("VersionId")
    try:
        data = json.loads(got["Body"].read())
    except ValueError:
        return {}, version
    return (data if isinstance(data, dict) else {}), version


def acquire_lock(
    pre: Preflight,
    action: str,
    ttl: float,
    *,
    break_lock: bool = False,
    reporter: Reporter | None = None,
) -> DeployLock:
    """Write the lock object with If-None-Match: * (owner, time, expiry); refuse when another
    deployer holds it, unless it expired or ``break_lock``."""
    import os
    import socket

    import botocore.exceptions as bx

    rep = reporter or NullReporter()
    key = _lock_key(pre.config)
    where = f"s3://{pre.bucket}/{key}"
    rep.step(f"Locking {pre.name} ({where})")
    now = time.time()
    owner = f"{pre.caller} on {socket.gethostname()} (pid {os.getpid()}, {action})"
    data = {
        "owner": owner,
        "environment": pre.name,
        "action": action,
        "created": iso_time(now),
        "expires": iso_time(now + ttl),
        "expires_epoch": now + ttl,
        "tool": f"mwaadeps {__version__}",
    }
    body = json.dumps(data, indent=2, sort_keys=True).encode()
    for _ in range(5):
        try:
            put = _put_new_json(pre, key, body, f"write the deploy lock {where}")
        except bx.ClientError as exc:
            if error_code(exc) not in ("PreconditionFailed", "412", "ConditionalRequestConflict"):
                with translate(f"write the deploy lock {where}", key, pre.aws):
                    raise
        else:
            return DeployLock(key, put.get("VersionId"), owner, str(data["expires"]))
        held, version = _read_lock(pre, key)
        if held is None:
            continue  # released in between: try again
        expires = held.get("expires_epoch")
        expired = not isinstance(expires, int | float) or expires <= time.time()
        who = held.get("owner") or "an unknown deployer (unreadable lock)"
        if not (expired or break_lock):
            raise LockedError(
                f"{pre.name} is locked by {who} since {held.get('created')} ({where}); "
                f"the lock expires at {held.get('expires')}.",
                hint="Wait for that deploy to finish; if it is dead, pass --break-lock "
                "(or wait until the lock expires).",
            )
        rep.warn(
            f"Taking over the deploy lock of {pre.name} from {who} "
            f"({'--break-lock' if not expired else 'expired at ' + str(held.get('expires'))})."
        )
        _delete_version(pre, key, version)
    raise LockedError(
        f"Cannot take the deploy lock {where}: other deployers keep taking it.",
        hint="Retry in a minute.",
    )


def _delete_version(pre: Preflight, key: str, version: str | None) -> None:
    kwargs: dict[str, Any] = {"Bucket": pre.bucket, "Key": key}
    if version:
        kwargs["VersionId"] = version
    with translate(f"remove the deploy lock s3://{pre.bucket}/{key}", key, pre.aws):
        pre.aws.s3.delete_object(**kwargs)


def release_lock(pre: Preflight, lock: DeployLock, reporter: Reporter | None = None) -> None:
    """Delete the version of the lock this process wrote (never someone else's)."""
    try:
        _delete_version(pre, lock.key, lock.version)
    except MwaadepsError as exc:
        (reporter or NullReporter()).warn(
            f"Could not release the deploy lock s3://{pre.bucket}/{lock.key}: {exc.message} "
            f"(it expires at {lock.expires})."
        )


@contextlib.contextmanager
def holding_lock(
    pre: Preflight, action: str, options: DeployOptions, rep: Reporter
) -> Iterator[DeployLock]:
    ttl = (options.timeout if options.wait else 0.0) + 900.0
    lock = acquire_lock(pre, action, ttl, break_lock=options.break_lock, reporter=rep)
    try:
        yield lock
    finally:
        release_lock(pre, lock, rep)
