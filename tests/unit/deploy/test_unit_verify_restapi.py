"""AirflowApi over botocore's real InvokeRestApi serialisation and parsing.

No request leaves the process: a before-send hook reads the JSON request botocore built and
answers with the bytes MWAA sends (success, RestApiClientException, RestApiServerException,
AccessDeniedException), so paging, error mapping and hints are tested on the wire shape.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse

from mwaadeps.config import EnvironmentConfig
from mwaadeps.deploy.aws import Aws
from mwaadeps.deploy.restapi import MAX_PATH, AirflowApi
from mwaadeps.errors import AwsError, RestApiError

Answer = tuple[int, dict[str, str], dict[str, Any]]


class _Raw:
    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **_: Any) -> Any:
        yield self.body


def _api(monkeypatch: pytest.MonkeyPatch, answer: Callable[[dict[str, Any]], Answer],
         sent: list[dict[str, Any]], page_size: int = 100) -> AirflowApi:
    for var in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_MWAA", "AWS_PROFILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    session = boto3.Session(aws_access_key_id="AKIAUNITTEST", aws_secret_access_key="s3cr3tvalue")
    env = EnvironmentConfig(key="dev", name="dsai-dev", bucket="b",
                            endpoint_url="http://127.0.0.1:9")
    aws = Aws(env=env, session=session, region="eu-west-1")

    def before_send(request: Any, **_: Any) -> AWSResponse:
        body = json.loads(request.body or b"{}")
        body["_url"] = request.url
        sent.append(body)
        status, headers, payload = answer(body)
        return AWSResponse(request.url, status, headers, _Raw(json.dumps(payload).encode()))

    aws.mwaa.meta.events.register("before-send.mwaa.InvokeRestApi", before_send)
    return AirflowApi(aws, "dsai-dev", page_size=page_size)


def _ok(response: Any, status: int = 200) -> Answer:
    return 200, {}, {"RestApiStatusCode": status, "RestApiResponse": response}


def _problem(kind: str, status: int, title: str, detail: str) -> Answer:
    body = {"RestApiStatusCode": status,
            "RestApiResponse": {"detail": detail, "status": status, "title": title,
                                "type": "about:blank"}}
    return 400, {"x-amzn-ErrorType": kind}, body


def test_dags_reads_every_page(monkeypatch: pytest.MonkeyPatch) -> None:
    all_dags = [{"dag_id": f"d{i}", "fileloc": f"/usr/local/airflow/dags/d{i}.py"}
                for i in range(5)]

    def answer(body: dict[str, Any]) -> Answer:
        q = body["QueryParameters"]
        page = all_dags[q["offset"]: q["offset"] + q["limit"]]
        return _ok({"dags": page, "total_entries": len(all_dags)})

    sent: list[dict[str, Any]] = []
    dags = _api(monkeypatch, answer, sent, page_size=2).dags()
    assert [d["dag_id"] for d in dags] == ["d0", "d1", "d2", "d3", "d4"]
    assert [s["QueryParameters"] for s in sent] == [
        {"limit": 2, "offset": 0}, {"limit": 2, "offset": 2}, {"limit": 2, "offset": 4}]
    assert {(s["Method"], s["Path"]) for s in sent} == {("GET", "/dags")}
    assert sent[0]["_url"] == "http://127.0.0.1:9/restapi/dsai-dev"


def test_an_empty_page_ends_the_listing(monkeypatch: pytest.MonkeyPatch) -> None:
    sent: list[dict[str, Any]] = []
    api = _api(monkeypatch, lambda b: _ok({"import_errors": [], "total_entries": 9}), sent)
    assert api.import_errors() == []
    assert len(sent) == 1


def test_trigger_sends_the_run_id_and_conf(monkeypatch: pytest.MonkeyPatch) -> None:
    sent: list[dict[str, Any]] = []
    api = _api(monkeypatch, lambda b: _ok({"dag_run_id": b["Body"]["dag_run_id"],
                                           "state": "queued"}), sent)
    run = api.trigger("smoke", {"x": 1}, "mwaadeps-verify-1")
    assert run == {"dag_run_id": "mwaadeps-verify-1", "state": "queued"}
    assert sent[0]["Method"] == "POST" and sent[0]["Path"] == "/dags/smoke/dagRuns"
    assert sent[0]["Body"] == {"conf": {"x": 1}, "dag_run_id": "mwaadeps-verify-1"}


def test_set_paused_patches_the_dag(monkeypatch: pytest.MonkeyPatch) -> None:
    sent: list[dict[str, Any]] = []
    api = _api(monkeypatch, lambda b: _ok({"dag_id": "smoke", "is_paused": b["Body"]["is_paused"]}),
               sent)
    assert api.set_paused("smoke", False)["is_paused"] is False
    assert (sent[0]["Method"], sent[0]["Path"], sent[0]["Body"]) == (
        "PATCH", "/dags/smoke", {"is_paused": False})


def test_an_airflow_404_names_environment_method_path_and_detail(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    api = _api(monkeypatch, lambda b: _problem("RestApiClientException", 404, "DAG not found",
                                               "The DAG with dag_id: `nope` was not found"), [])
    with pytest.raises(RestApiError) as info:
        api.dag("nope")
    err = info.value
    assert err.status == 404
    assert err.detail == "The DAG with dag_id: `nope` was not found"
    assert "dsai-dev" in err.message and "GET /dags/nope" in err.message
    assert "404 DAG not found" in err.message
    assert err.hint and "DAG id" in err.hint


def test_a_503_server_exception_says_the_webserver_is_not_up(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    api = _api(monkeypatch, lambda b: _problem("RestApiServerException", 503, "Service Unavailable",
                                               "webserver unavailable"), [])
    with pytest.raises(RestApiError) as info:
        api.dags()
    assert info.value.status == 503
    assert info.value.hint and "webserver" in info.value.hint and "AVAILABLE" in info.value.hint


def test_an_airflow_403_names_the_airflow_role(monkeypatch: pytest.MonkeyPatch) -> None:
    api = _api(monkeypatch, lambda b: _problem("RestApiClientException", 403, "Forbidden",
                                               "Access is denied"), [])
    with pytest.raises(RestApiError) as info:
        api.set_paused("smoke", True)
    assert info.value.status == 403
    assert info.value.hint and "airflow:InvokeRestApi" in info.value.hint
    assert "role/dsai-dev/" in info.value.hint


def test_iam_access_denied_says_which_permission(monkeypatch: pytest.MonkeyPatch) -> None:
    def answer(_: dict[str, Any]) -> Answer:
        return 403, {"x-amzn-ErrorType": "AccessDeniedException"}, {"Message": "not allowed"}

    api = _api(monkeypatch, answer, [])
    with pytest.raises(AwsError) as info:
        api.dags()
    assert not isinstance(info.value, RestApiError)
    assert "AccessDeniedException" in info.value.message
    assert info.value.hint and "airflow:InvokeRestApi" in info.value.hint


def test_variable_is_none_when_airflow_has_none(monkeypatch: pytest.MonkeyPatch) -> None:
    def answer(body: dict[str, Any]) -> Answer:
        if body["Path"] == "/variables/there":
            return _ok({"key": "there", "value": "42", "description": None})
        return _problem("RestApiClientException", 404, "Variable not found", "no such key")

    api = _api(monkeypatch, answer, [])
    assert api.variable("there") == "42"
    assert api.variable("absent") is None
    api.delete_variable("absent")  # a missing variable is not an error


def test_a_path_longer_than_invoke_rest_api_takes_is_refused_before_sending(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sent: list[dict[str, Any]] = []
    api = _api(monkeypatch, lambda b: _ok({}), sent)
    with pytest.raises(AwsError) as info:
        api.dag_run("d" * MAX_PATH, "run")
    assert "64" in info.value.message
    assert sent == []


def test_no_secret_reaches_an_error_message(monkeypatch: pytest.MonkeyPatch) -> None:
    api = _api(monkeypatch, lambda b: _problem("RestApiServerException", 500, "Internal",
                                               "boom s3cr3tvalue"), [])
    with pytest.raises(RestApiError) as info:
        api.dags()
    assert "s3cr3tvalue" not in info.value.message
    assert "s3cr3tvalue" not in info.value.detail
