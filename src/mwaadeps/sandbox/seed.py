"""Seed a sandbox from a project's mwaadeps.toml: per environment a KMS key, a versioned,
encrypted bucket with the project's DAG files under ``dags/``, and an AVAILABLE
environment (like a real one, whose DAGs the team's DAG pipeline deployed)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from mwaadeps.errors import ConfigError
from mwaadeps.progress import NullReporter, Reporter
from mwaadeps.sandbox.emulator import DEFAULT_ACCOUNT
from mwaadeps.sandbox.server import DEFAULT_REGION, SandboxError

if TYPE_CHECKING:
    from mwaadeps.sandbox.server import Sandbox

DAG_PREFIX = "dags"
"""The seeded environments' DagS3Path."""
_LOG_MODULES = ("DagProcessingLogs", "SchedulerLogs", "TaskLogs", "WebserverLogs", "WorkerLogs")
_SKIPPED_PARTS = {"__pycache__", ".git", ".airflowignore.swp"}


@dataclass(frozen=True)
class SeededEnvironment:
    """What ``seed`` created for one [environments.<key>] table."""

    key: str
    name: str
    region: str
    bucket: str
    kms_key_arn: str
    kms_alias: str | None
    status: str


def seed(box: Sandbox, example: Path, reporter: Reporter | None = None) -> list[SeededEnvironment]:
    """Create every environment of ``example``/mwaadeps.toml: key, bucket, DAGs, environment."""
    from mwaadeps.config import load_settings

    rep = reporter or NullReporter()
    folder = example if example.is_dir() else example.parent
    config = example if example.is_file() else None
    settings = load_settings({}, env={}, cwd=folder, config_path=config)
    if not settings.environments:
        raise ConfigError(
            f"{settings.config_file or folder / 'mwaadeps.toml'} has no [environments.*].",
            hint="Add an [environments.dev] table with name, region and bucket.",
        )
    dags = dag_files(settings.dags)
    keys: dict[tuple[str, str], tuple[str, str | None]] = {}
    out = []
    for cfg in settings.environments.values():
        region = cfg.region or DEFAULT_REGION
        rep.step(f"Seeding {cfg.name} in {region}")
        wanted = cfg.kms_key or f"alias/mwaadeps-sandbox-{cfg.bucket}"
        if (region, wanted) not in keys:
            keys[(region, wanted)] = _create_key(box, region, wanted, cfg.bucket)
        key_arn, alias = keys[(region, wanted)]
        _create_bucket(box, region, cfg.bucket, key_arn, dags)
        status = _create_environment(
            box, region, cfg.name, cfg.bucket, key_arn, settings.airflow_version or "2.10.3"
        )
        out.append(SeededEnvironment(cfg.key, cfg.name, region, cfg.bucket, key_arn, alias, status))
    return out


def dag_files(folder: Path | None) -> dict[str, bytes]:
    """The files of a dags folder by their "/"-separated path in it (no caches)."""
    if folder is None or not folder.is_dir():
        return {}
    out = {}
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if path.is_file() and not _SKIPPED_PARTS & set(rel.parts) and path.suffix != ".pyc":
            out[rel.as_posix()] = path.read_bytes()
    return out


def _create_key(box: Sandbox, region: str, wanted: str, bucket: str) -> tuple[str, str | None]:
    kms = box.client("kms", region)
    key = kms.create_key(Description=f"mwaadeps sandbox key for {bucket}")["KeyMetadata"]
    if "alias/" in wanted:
        alias = "alias/" + wanted.split("alias/", 1)[1]
        kms.create_alias(AliasName=alias, TargetKeyId=key["KeyId"])
        return key["Arn"], alias
    wanted_id = wanted.rsplit("/", 1)[-1]
    return _rename_moto_key(region, key["KeyId"], wanted_id) or key["Arn"], None


def _create_bucket(
    box: Sandbox, region: str, bucket: str, key_arn: str, dags: dict[str, bytes]
) -> None:
    s3 = box.client("s3", region)
    try:
        s3.head_bucket(Bucket=bucket)
        return
    except Exception:
        pass
    if region == "us-east-1":
        s3.create_bucket(Bucket=bucket)
    else:
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region})
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_public_access_block(
        Bucket=bucket,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )
    s3.put_bucket_encryption(
        Bucket=bucket,
        ServerSideEncryptionConfiguration={
            "Rules": [
                {
                    "ApplyServerSideEncryptionByDefault": {
                        "SSEAlgorithm": "aws:kms",
                        "KMSMasterKeyID": key_arn,
                    }
                }
            ]
        },
    )
    s3.put_object(Bucket=bucket, Key=f"{DAG_PREFIX}/.keep", Body=b"")
    for rel, data in dags.items():
        s3.put_object(Bucket=bucket, Key=f"{DAG_PREFIX}/{rel}", Body=data)


def _create_environment(
    box: Sandbox, region: str, name: str, bucket: str, key_arn: str, airflow: str
) -> str:
    mwaa = box.client("mwaa", region)
    logging_cfg = {m: {"Enabled": True, "LogLevel": "INFO"} for m in _LOG_MODULES}
    try:
        mwaa.create_environment(
            Name=name,
            ExecutionRoleArn=f"arn:aws:iam::{DEFAULT_ACCOUNT}:role/{name}-execution-role",
            SourceBucketArn=f"arn:aws:s3:::{bucket}",
            DagS3Path=DAG_PREFIX,
            NetworkConfiguration={
                "SubnetIds": ["subnet-0a1b2c3d", "subnet-0e1f2a3b"],
                "SecurityGroupIds": ["sg-0a1b2c3d"],
            },
            AirflowVersion=airflow,
            KmsKey=key_arn,
            EnvironmentClass="mw1.small",
            MaxWorkers=2,
            MinWorkers=1,
            Schedulers=2,
            WebserverAccessMode="PRIVATE_ONLY",
            LoggingConfiguration=logging_cfg,  # type: ignore[arg-type]
        )
    except Exception as exc:
        if "already exists" not in str(exc):
            raise SandboxError(f"Cannot create the sandbox environment {name}: {exc}") from None
    for _ in range(box.emulator.update_polls + 5):
        status = str(mwaa.get_environment(Name=name)["Environment"]["Status"])
        if status != "CREATING":
            return status
    return status


def _rename_moto_key(region: str, created: str, wanted: str) -> str | None:
    """Give moto's new key the configured id (moto picks random ids); None if impossible."""
    try:
        from moto.kms.models import kms_backends

        backend = kms_backends[DEFAULT_ACCOUNT][region]
        key = backend.keys.pop(created)
        key.id = wanted
        key.arn = f"arn:aws:kms:{region}:{DEFAULT_ACCOUNT}:key/{wanted}"
        backend.keys[wanted] = key
        return str(key.arn)
    except Exception:
        return None


__all__ = ["DAG_PREFIX", "SeededEnvironment", "dag_files", "seed"]
