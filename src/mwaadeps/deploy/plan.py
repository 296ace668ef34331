"""What is deployed now vs dist/ (by sha256), the plan, and the uploads and update it needs."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import re
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from mwaadeps import __version__
from mwaadeps.build.dist import local_artifacts
from mwaadeps.deploy.aws import Aws, aws_call, error_code, translate
from mwaadeps.deploy.models import (
    ARTIFACTS,
    TERMINAL,
    ArtifactPlan,
    DeployedArtifact,
    DeployOptions,
    Preflight,
)
from mwaadeps.deploy.preflight import get_environment
from mwaadeps.digest import sha256_file
from mwaadeps.errors import AwsError
from mwaadeps.progress import NullReporter, Reporter

# -- reading what is deployed --------------------------------------------------------------


def _b64(hex_digest: str) -> str:
    return base64.b64encode(bytes.fromhex(hex_digest)).decode()


def _from_b64(value: str) -> str | None:
    if "-" in value:  # a composite (multipart) checksum is not the file's sha256
        return None
    try:
        return base64.b64decode(value).hex()
    except ValueError:
        return None


def object_sha256(
    aws: Aws, bucket: str, key: str, version: str | None
) -> tuple[str | None, int | None]:
    """sha256 (metadata, S3 checksum, or by reading it) and size of one object version."""
    import botocore.exceptions as bx

    kwargs: dict[str, Any] = {"Bucket": bucket, "Key": key, "ChecksumMode": "ENABLED"}
    if version:
        kwargs["VersionId"] = version
    try:
        head = aws_call(aws, f"read s3://{bucket}/{key}", aws.s3.head_object, **kwargs)
    except bx.ClientError as exc:
        if error_code(exc) in ("404", "NoSuchKey", "NoSuchVersion", "403", "AccessDenied"):
            return None, None
        with translate(f"read s3://{bucket}/{key}", key, aws):
            raise
    size = int(head.get("ContentLength") or 0)
    meta = head.get("Metadata") or {}
    if re.fullmatch(r"[0-9a-f]{64}", meta.get("sha256", "")):
        return meta["sha256"], size
    checksum = head.get("ChecksumSHA256")
    if checksum and (hexed := _from_b64(checksum)):
        return hexed, size
    kwargs.pop("ChecksumMode")
    with translate(f"read s3://{bucket}/{key}", key, aws):
        body = aws.s3.get_object(**kwargs)["Body"]
        digest = hashlib.sha256()
        for chunk in iter(lambda: body.read(1024 * 1024), b""):
            digest.update(chunk)
    return digest.hexdigest(), size


def deployed_artifacts(
    aws: Aws, bucket: str, environment: Mapping[str, Any]
) -> dict[str, DeployedArtifact]:
    """What the environment points at now, per artifact (with sha256 from S3)."""
    out = {}
    for spec in ARTIFACTS:
        key = environment.get(spec.path_field)
        version = environment.get(spec.version_field)
        sha, size = object_sha256(aws, bucket, key, version) if key else (None, None)
        out[spec.name] = DeployedArtifact(spec.name, key, version, sha, size)
    return out


# -- plan, upload, update, wait --------------------------------------------------------------


def plan_deploy(
    pre: Preflight, dist: Path, reporter: Reporter | None = None
) -> tuple[ArtifactPlan, ...]:
    """Compare dist/ with what runs now, by sha256."""
    rep = reporter or NullReporter()
    rep.step(f"Planning: comparing {dist} with what {pre.name} runs")
    local = local_artifacts(dist)
    current = deployed_artifacts(pre.aws, pre.bucket, pre.environment)
    plan = []
    for spec in ARTIFACTS:
        now = current[spec.name]
        path = local.get(spec.name)
        if path is None:
            if now.key:
                rep.warn(
                    f"{spec.name} is not in {dist}; {pre.name} keeps {now.key} "
                    f"(version {now.version}). MWAA cannot unset it: deploy an empty file "
                    "to disable it."
                )
                plan.append(
                    ArtifactPlan(
                        spec.name,
                        now.key,
                        "unchanged",
                        now.sha256,
                        now.size,
                        now.key,
                        now.version,
                        now.sha256,
                        now.version,
                    )
                )
            continue
        sha = sha256_file(path)
        key = spec.key(pre.config)
        same = now.sha256 == sha and now.key == key and now.version is not None
        plan.append(
            ArtifactPlan(
                spec.name,
                key,
                "unchanged" if same else "upload",
                sha,
                path.stat().st_size,
                now.key,
                now.version,
                now.sha256,
                now.version if same else None,
            )
        )
    return tuple(plan)


def sse_args(kms_key: str | None) -> dict[str, Any]:
    return {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": kms_key} if kms_key else {}


def upload_file(
    aws: Aws,
    bucket: str,
    key: str,
    path: Path,
    sha: str,
    kms_key: str | None,
    options: DeployOptions,
    reporter: Reporter | None = None,
) -> str:
    """Upload with SSE-KMS, the SHA256 checksum and sha256 metadata; the new VersionId."""
    rep = reporter or NullReporter()
    size = path.stat().st_size
    extra: dict[str, Any] = {
        "Metadata": {"sha256": sha, "mwaadeps-version": __version__},
        **sse_args(kms_key),
    }
    where = f"s3://{bucket}/{key}"
    with translate(f"upload {path.name} to {where}", where, aws):
        if size <= options.multipart_threshold:
            response = aws.s3.put_object(
                Bucket=bucket,
                Key=key,
                Body=path.read_bytes(),
                ChecksumAlgorithm="SHA256",
                ChecksumSHA256=_b64(sha),
                **extra,
            )
            stored = response.get("ChecksumSHA256")
            if stored and stored != _b64(sha):
                raise AwsError(
                    f"S3 stored {where} with another SHA256 than the file's.",
                    hint="Retry the deploy; if it persists, check the network.",
                )
        else:
            response = _multipart(aws, bucket, key, path, extra, options.part_size, rep)
    version = response.get("VersionId")
    if not version or version == "null":
        raise AwsError(
            f"S3 returned no version for {where}; bucket versioning is not enabled.",
            hint="Enable versioning on the bucket; MWAA needs object versions.",
        )
    return str(version)


def _multipart(
    aws: Aws,
    bucket: str,
    key: str,
    path: Path,
    extra: dict[str, Any],
    part_size: int,
    rep: Reporter,
) -> Any:
    upload = aws.s3.create_multipart_upload(
        Bucket=bucket, Key=key, ChecksumAlgorithm="SHA256", **extra
    )
    upload_id = upload["UploadId"]
    total = -(-path.stat().st_size // part_size)
    parts = []
    try:
        with path.open("rb") as fh:
            for number in range(1, total + 1):
                chunk = fh.read(part_size)
                checksum = base64.b64encode(hashlib.sha256(chunk).digest()).decode()
                part = aws.s3.upload_part(
                    Bucket=bucket,
                    Key=key,
                    UploadId=upload_id,
                    PartNumber=number,
                    Body=chunk,
                    ChecksumSHA256=checksum,
                )
                parts.append(
                    {
                        "ETag": part["ETag"],
                        "PartNumber": number,
                        "ChecksumSHA256": part.get("ChecksumSHA256") or checksum,
                    }
                )
                rep.advance(f"Uploading {path.name}", number, total)
        done = {"Parts": parts}
        return aws.s3.complete_multipart_upload(
            Bucket=bucket,
            Key=key,
            UploadId=upload_id,
            MultipartUpload=done,  # type: ignore[arg-type]
        )
    except BaseException:
        with contextlib.suppress(Exception):
            aws.s3.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
        raise


def update_kwargs(
    name: str,
    plan: tuple[ArtifactPlan, ...],
    versions: Mapping[str, str | None],
    worker_replacement: str | None,
) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"Name": name}
    for spec in ARTIFACTS:
        item = next((p for p in plan if p.artifact == spec.name), None)
        if item is None:
            continue
        kwargs[spec.path_field] = item.key
        kwargs[spec.version_field] = versions[spec.name]
    if worker_replacement:
        kwargs["WorkerReplacementStrategy"] = worker_replacement.upper()
    return kwargs


def wait_for_update(
    aws: Aws,
    name: str,
    reporter: Reporter | None = None,
    *,
    poll_interval: float = 15.0,
    timeout: float = 3600.0,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """Poll GetEnvironment until AVAILABLE / UPDATE_FAILED / UNAVAILABLE (or the timeout)."""
    rep = reporter or NullReporter()
    started = time.monotonic()
    while True:
        environment = get_environment(aws, name)
        status = str(environment.get("Status"))
        elapsed = time.monotonic() - started
        rep.step(f"{name}: {status} ({int(elapsed // 60)}m{int(elapsed % 60):02d}s)")
        if status in TERMINAL or elapsed >= timeout:
            return environment
        sleep(poll_interval)
