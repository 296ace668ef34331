"""Preflight: the environment, its bucket and KMS key, checked before anything changes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from mwaadeps.deploy.aws import Aws, aws_call, connect, error_code, translate
from mwaadeps.deploy.models import UPDATABLE, Preflight
from mwaadeps.errors import PreflightError
from mwaadeps.progress import NullReporter, Reporter

if TYPE_CHECKING:
    from mwaadeps.config import EnvironmentConfig


# -- preflight ---------------------------------------------------------------------------------


_REFUSE: dict[str, tuple[str, str]] = {
    "UPDATING": (
        "an update is already in progress",
        "Wait for it to finish (mwaadeps status --env {key}), then deploy again.",
    ),
    "CREATING": (
        "it is still being created",
        "Wait until it is AVAILABLE (mwaadeps status --env {key}), then deploy.",
    ),
    "PENDING": ("it is pending creation", "Wait until it is AVAILABLE, then deploy."),
    "ROLLING_BACK": (
        "it is rolling back a failed update",
        "Wait until it is UPDATE_FAILED or AVAILABLE, then deploy again.",
    ),
    "MAINTENANCE": (
        "it is in its maintenance window",
        "Wait for the maintenance to end (mwaadeps status --env {key}), then deploy.",
    ),
    "CREATING_SNAPSHOT": ("MWAA is taking a snapshot of it", "Wait a few minutes and retry."),
    "DELETING": ("it is being deleted", "Deploy to another environment."),
    "DELETED": ("it has been deleted", "Deploy to another environment."),
    "CREATE_FAILED": (
        "it failed to create",
        "Fix or recreate the environment in the MWAA console first.",
    ),
    "UNAVAILABLE": (
        "it is UNAVAILABLE (not stable)",
        "Investigate with mwaadeps logs --env {key} and the MWAA console; deploy "
        "once it is AVAILABLE or UPDATE_FAILED.",
    ),
}


def get_environment(aws: Aws, name: str) -> dict[str, Any]:
    """GetEnvironment, with a clear error when the environment does not exist."""
    import botocore.exceptions as bx

    try:
        return dict(
            aws_call(aws, f"read MWAA environment {name}", aws.mwaa.get_environment, Name=name)[
                "Environment"
            ]
        )
    except bx.ClientError as exc:
        if error_code(exc) == "ResourceNotFoundException":
            raise PreflightError(
                f"MWAA environment {name} does not exist in {aws.region}.",
                hint="Check name and region in the [environments] table (and the profile's "
                "account).",
            ) from None
        with translate(f"read MWAA environment {name}", name, aws):
            raise


def preflight(
    config: EnvironmentConfig, reporter: Reporter | None = None, *, require_updatable: bool = True
) -> Preflight:
    """Check everything a deploy needs before changing anything; raise PreflightError."""
    rep = reporter or NullReporter()
    rep.step(f"Preflight: credentials and region for {config.key}")
    aws = connect(config)
    caller = aws.caller_arn()
    rep.step(f"Preflight: MWAA environment {config.name}")
    environment = get_environment(aws, config.name)
    bucket_arn = f"arn:aws:s3:::{config.bucket}"
    actual = environment.get("SourceBucketArn")
    if actual != bucket_arn:
        raise PreflightError(
            f"Environment {config.name} reads from {actual}, not the configured bucket "
            f"{config.bucket}.",
            hint=f'Set bucket = "{str(actual).rsplit(":", 1)[-1]}" in [environments.'
            f"{config.key}] (or fix the environment's source bucket).",
        )
    status = str(environment.get("Status"))
    if require_updatable and status not in UPDATABLE:
        why, hint = _REFUSE.get(
            status, (f"its status is {status}", "Wait until it is AVAILABLE, then deploy.")
        )
        raise PreflightError(
            f"Environment {config.name} cannot be updated now: {why} (status {status}).",
            hint=hint.format(key=config.key),
        )
    warnings = list(_check_bucket(aws, config, rep))
    kms_key = config.kms_key or environment.get("KmsKey")
    if kms_key:
        warnings += _check_key(aws, config, str(kms_key), rep, environment.get("KmsKey"))
    for warning in warnings:
        rep.warn(warning)
    return Preflight(
        aws, config, environment, caller, str(kms_key) if kms_key else None, tuple(warnings)
    )


def _check_bucket(aws: Aws, config: EnvironmentConfig, rep: Reporter) -> Iterator[str]:
    import botocore.exceptions as bx

    bucket = config.bucket
    rep.step(f"Preflight: bucket {bucket} (versioning, public access block)")
    try:
        versioning = (
            aws_call(aws, f"read bucket {bucket}", aws.s3.get_bucket_versioning, Bucket=bucket).get(
                "Status"
            )
            or "never enabled"
        )
    except bx.ClientError as exc:
        if error_code(exc) in ("AccessDenied", "403"):
            yield f"Cannot read the versioning of bucket {bucket} (access denied); not checked."
            versioning = "Enabled"
        elif error_code(exc) in ("NoSuchBucket", "404"):
            raise PreflightError(
                f"Bucket {bucket} does not exist.",
                hint=f"Fix bucket in [environments.{config.key}].",
            ) from None
        else:
            with translate(f"read the versioning of bucket {bucket}", bucket, aws):
                raise
    if versioning != "Enabled":
        raise PreflightError(
            f"Bucket {bucket} has versioning {versioning}; MWAA requires Enabled.",
            hint=f"aws s3api put-bucket-versioning --bucket {bucket} "
            "--versioning-configuration Status=Enabled",
        )
    try:
        block = aws_call(
            aws, f"read bucket {bucket}", aws.s3.get_public_access_block, Bucket=bucket
        )["PublicAccessBlockConfiguration"]
    except bx.ClientError as exc:
        code = error_code(exc)
        if code == "NoSuchPublicAccessBlockConfiguration":
            block = {}
        elif code in ("AccessDenied", "403"):
            yield f"Cannot read the public access block of bucket {bucket}; not checked."
            block = None
        else:
            with translate(f"read the public access block of bucket {bucket}", bucket, aws):
                raise
    if block is not None:
        missing = [
            k
            for k in (
                "BlockPublicAcls",
                "IgnorePublicAcls",
                "BlockPublicPolicy",
                "RestrictPublicBuckets",
            )
            if not block.get(k)
        ]  # type: ignore[misc]
        if missing:
            raise PreflightError(
                f"Bucket {bucket} does not block public access ({', '.join(missing)} off); "
                "MWAA requires it blocked.",
                hint=f"aws s3api put-public-access-block --bucket {bucket} "
                "--public-access-block-configuration BlockPublicAcls=true,"
                "IgnorePublicAcls=true,BlockPublicPolicy=true,RestrictPublicBuckets=true",
            )
    try:
        location = aws_call(
            aws, f"read bucket {bucket}", aws.s3.get_bucket_location, Bucket=bucket
        ).get("LocationConstraint")
    except bx.ClientError:
        return
    region = location or "us-east-1"
    if region == "EU":
        region = "eu-west-1"
    if region != aws.region:
        raise PreflightError(
            f"Bucket {bucket} is in {region} but environment {config.name} is in {aws.region}; "
            "MWAA needs both in the same Region.",
            hint="Use a bucket in the environment's Region.",
        )


def _key_id(key: str) -> str:
    """The key id of a key ARN or id (an alias stays itself)."""
    return key.rsplit(":key/", 1)[-1] if ":key/" in key else key


def _check_key(
    aws: Aws, config: EnvironmentConfig, key: str, rep: Reporter, env_key: str | None = None
) -> list[str]:
    """The key exists and is enabled; a configured kms-key is the environment's own key
    (aliases resolved with DescribeKey, ARNs and key ids compared by key id)."""
    import botocore.exceptions as bx

    rep.step(f"Preflight: KMS key {key}")
    try:
        meta = aws_call(aws, f"describe KMS key {key}", aws.kms.describe_key, KeyId=key)[
            "KeyMetadata"
        ]
    except bx.ClientError as exc:
        code = error_code(exc)
        if code in ("AccessDeniedException", "AccessDenied"):
            return [f"Cannot describe KMS key {key} (access denied); not checked."]
        if code in ("NotFoundException", "NotFound"):
            raise PreflightError(
                f"KMS key {key} (environment {config.key}) does not exist in {aws.region}.",
                hint=f"Fix kms-key in [environments.{config.key}].",
            ) from None
        with translate(f"describe KMS key {key}", key, aws):
            raise
    state = meta.get("KeyState")
    if state != "Enabled":
        raise PreflightError(
            f"KMS key {key} is {state}; uploads cannot be encrypted with it.",
            hint="Enable the key (aws kms enable-key) or configure another kms-key.",
        )
    if not config.kms_key or config.kms_key == env_key:
        return []
    if not env_key:
        return [
            f"{config.name} uses an AWS owned key, but kms-key {config.kms_key} encrypts the "
            "uploads: its execution role must be allowed to decrypt with that key."
        ]
    if "alias/" in env_key:  # MWAA takes no alias, but resolve one anyway
        try:
            described = aws_call(
                aws, f"describe KMS key {env_key}", aws.kms.describe_key, KeyId=env_key
            )
        except bx.ClientError:
            return [f"Cannot resolve the environment's KMS key {env_key}; not compared."]
        same = described["KeyMetadata"].get("Arn") == meta.get("Arn")
    elif env_key.startswith("arn:"):
        same = env_key == meta.get("Arn")
    else:
        same = _key_id(env_key) == meta.get("KeyId")
    if not same:
        raise PreflightError(
            f"kms-key {config.kms_key} of [environments.{config.key}] is key "
            f"{meta.get('Arn') or meta.get('KeyId')}, but {config.name} uses KMS key {env_key}: "
            "MWAA could not decrypt what mwaadeps uploads.",
            hint=f'Set kms-key = "{env_key}" in [environments.{config.key}] (or remove it to '
            "use the environment's key).",
        )
    return []
