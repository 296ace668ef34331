"""Which host each MWAA call goes to: AWS's api./env. hosts, or a configured endpoint as given.

No request leaves the process: a before-send hook records the URL and answers itself.
"""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse

from mwaadeps.config import EnvironmentConfig
from mwaadeps.deploy.aws import Aws


class _Raw:
    def stream(self, **_: Any) -> Any:
        yield b"{}"


def _urls(aws: Aws) -> list[str]:
    seen: list[str] = []

    def answer(request: Any, **_: Any) -> AWSResponse:
        seen.append(request.url)
        return AWSResponse(request.url, 200, {}, _Raw())

    client = aws.mwaa
    client.meta.events.register("before-send.mwaa.*", answer)
    client.get_environment(Name="dev")
    client.invoke_rest_api(Name="dev", Path="/dags", Method="GET")
    return seen


def _aws(monkeypatch: pytest.MonkeyPatch, endpoint: str | None, env_url: str | None) -> Aws:
    for var in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_MWAA", "AWS_PROFILE", "AWS_CONFIG_FILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    if env_url:
        monkeypatch.setenv("AWS_ENDPOINT_URL", env_url)
    session = boto3.Session(aws_access_key_id="a", aws_secret_access_key="b")
    env = EnvironmentConfig(key="dev", name="dev", bucket="b", endpoint_url=endpoint)
    return Aws(env=env, session=session, region="eu-west-1")


def test_aws_endpoints_get_the_operation_host_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    urls = _urls(_aws(monkeypatch, None, None))
    assert urls[0].startswith("https://api.airflow.eu-west-1.amazonaws.com/environments/dev")
    assert urls[1].startswith("https://env.airflow.eu-west-1.amazonaws.com/restapi/dev")


@pytest.mark.parametrize("where", ["config", "environment"])
def test_a_configured_endpoint_is_used_as_given(
    monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    url = "http://127.0.0.1:4566"
    aws = _aws(
        monkeypatch, url if where == "config" else None, url if where == "environment" else None
    )
    urls = _urls(aws)
    assert urls[0] == f"{url}/environments/dev"
    assert urls[1] == f"{url}/restapi/dev"
