"""Preflight: the configured kms-key must be the environment's own key (aliases resolved,
ARNs and key ids compared), and errors name the AWS profile really in use."""

from __future__ import annotations

import pytest

from deploy.conftest import FAST, TOML, Project
from mwaadeps.deploy import apply as core
from mwaadeps.errors import PreflightError


def _configure_key(project: Project, kms_key: str) -> None:
    text = TOML.replace('kms-key = "alias/dsai-airflow"\n', f'kms-key = "{kms_key}"\n', 1)
    assert f'"{kms_key}"' in text
    (project.root / "mwaadeps.toml").write_text(text)


def test_another_key_than_the_environments_is_refused(deploy_project: Project) -> None:
    kms = deploy_project.client("kms")
    other = kms.create_key(Description="not the environment's key")["KeyMetadata"]
    kms.create_alias(AliasName="alias/some-other-key", TargetKeyId=other["KeyId"])
    _configure_key(deploy_project, "alias/some-other-key")
    with pytest.raises(PreflightError) as info:
        core.deploy(deploy_project.env(), deploy_project.dist, FAST)
    env_key = deploy_project.environment()["KmsKey"]
    assert "alias/some-other-key" in info.value.message
    assert other["Arn"] in info.value.message and env_key in info.value.message
    assert env_key in (info.value.hint or "")
    assert deploy_project.calls()["s3_object_puts"] == 0
    run = deploy_project.cli("deploy", "--env", "dev")
    assert run.returncode == 5
    assert "MWAA could not decrypt" in run.stderr


@pytest.mark.parametrize("form", ["arn", "key id", "alias"])
def test_the_environments_key_in_any_form_is_accepted(deploy_project: Project, form: str) -> None:
    env_key = str(deploy_project.environment()["KmsKey"])
    value = {"arn": env_key, "key id": env_key.rsplit("/", 1)[-1], "alias": "alias/dsai-airflow"}[
        form
    ]
    _configure_key(deploy_project, value)
    assert core.deploy(deploy_project.env(), deploy_project.dist, FAST).ok


def test_a_missing_profile_is_named(
    deploy_project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_PROFILE", "ghost-profile")
    run = deploy_project.cli("status", "--env", "dev")
    assert run.returncode == 2, run.stderr
    assert "'ghost-profile'" in run.stderr and "None" not in run.stderr
    assert "Traceback" not in run.stderr
