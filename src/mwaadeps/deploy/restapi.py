"""Airflow's stable REST API through MWAA's InvokeRestApi (AWS credentials, no web token).

Every call is ``mwaa.invoke_rest_api(Name, Path, Method, QueryParameters, Body)`` on the
environment's own clients (deploy.aws.Aws). Airflow's 4xx/5xx answers arrive as
RestApiClientException / RestApiServerException carrying RestApiStatusCode and Airflow's
problem+json; they become RestApiError naming the environment, method, path, status and
Airflow's detail. Request and response bodies are never put into a message.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from mwaadeps.deploy.aws import Aws, error_code, translate
from mwaadeps.errors import AwsError, RestApiError
from mwaadeps.redact import redact_text

if TYPE_CHECKING:
    import botocore.exceptions

# InvokeRestApi's Path is 1..64 characters (the MWAA API reference).
MAX_PATH = 64
PAGE_SIZE = 100
_REST_ERRORS = ("RestApiClientException", "RestApiServerException")


def _segment(value: str) -> str:
    """One path segment (a DAG id, a run id, a variable key), percent-encoded."""
    return quote(value, safe="")


def status_hint(status: int, name: str, method: str, path: str) -> str | None:
    """What to do about an Airflow error status seen through InvokeRestApi."""
    if status in (401, 403):
        return (
            f"The Airflow role your AWS identity maps to on {name} may not {method} {path}. "
            "The IAM permission airflow:InvokeRestApi is granted on "
            f"arn:aws:airflow:<region>:<account>:role/{name}/<Airflow role> and that role "
            "(Admin, Op, User, Viewer or Public) decides what Airflow allows: reading DAGs needs "
            "Viewer, triggering and pausing need User or higher."
        )
    if status == 404:
        return (
            f"Airflow on {name} does not know {path}: check the DAG id (mwaadeps verify --env "
            "... lists the DAGs Airflow parsed), or wait until the DAG processor has parsed "
            "the file."
        )
    if status == 409:
        return "Airflow already has that object (a DAG run with the same run id); retry."
    if status == 503:
        return (
            f"The Airflow webserver of {name} is not up (the environment is not AVAILABLE, or "
            "it is still starting); check mwaadeps status and retry once it is AVAILABLE."
        )
    if status >= 500:
        return f"Airflow failed on {name}; read its WebServer logs in CloudWatch and retry."
    return None


def _problem(response: Any) -> tuple[str, str]:
    """(title, detail) of Airflow's problem+json answer; empty when it has none."""
    if not isinstance(response, Mapping):
        return "", ""
    title, detail = response.get("title"), response.get("detail")
    return (str(title) if title else "", str(detail) if detail else "")


def rest_error(
    exc: botocore.exceptions.ClientError,
    name: str,
    method: str,
    path: str,
    secrets: tuple[str, ...] = (),
) -> RestApiError:
    """A RestApiError for a RestApiClientException/RestApiServerException."""
    response = exc.response
    raw = response.get("RestApiStatusCode")  # modeled error fields sit at the top level
    status = raw if isinstance(raw, int) else int(str(raw)) if str(raw).isdigit() else 0
    title, detail = _problem(response.get("RestApiResponse"))
    if not detail:
        detail = str(response.get("Error", {}).get("Message") or title or "")
    detail = redact_text(detail, secrets)
    said = f"{status} {title}".strip() if title else str(status)
    message = f"Airflow on {name} answered {method} {path} with {said}"
    message += f": {detail}" if detail and detail != title else "."
    return RestApiError(
        message, status=status, detail=detail, hint=status_hint(status, name, method, path)
    )


def _denied_hint(name: str) -> str:
    return (
        "Your AWS identity needs the IAM permission airflow:InvokeRestApi on "
        f"arn:aws:airflow:<region>:<account>:role/{name}/<Airflow role> (e.g. .../User to "
        "trigger DAGs, .../Viewer to read them)."
    )


@dataclass(frozen=True)
class AirflowApi:
    """Airflow's REST API of one MWAA environment, through InvokeRestApi."""

    aws: Aws
    name: str
    page_size: int = PAGE_SIZE

    def call(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, Any] | None = None,
        body: Mapping[str, Any] | None = None,
    ) -> tuple[int, Any]:
        """(RestApiStatusCode, RestApiResponse) of one call; an Airflow error status raises
        RestApiError, any other AWS error an AwsError (deploy.aws.translate)."""
        import botocore.exceptions as bx

        if not 1 <= len(path) <= MAX_PATH:
            raise AwsError(
                f"Cannot call {method} {path} on {self.name}: InvokeRestApi takes paths of "
                f"1 to {MAX_PATH} characters, this one has {len(path)}.",
                hint="Use a shorter DAG id or run id.",
            )
        kwargs: dict[str, Any] = {"Name": self.name, "Path": path, "Method": method}
        if query:
            kwargs["QueryParameters"] = dict(query)
        if body is not None:
            kwargs["Body"] = dict(body)
        action = f"call Airflow's REST API ({method} {path}) through InvokeRestApi"
        try:
            answer = self.aws.mwaa.invoke_rest_api(**kwargs)
        except bx.ClientError as exc:
            code = error_code(exc)
            if code in _REST_ERRORS:
                raise rest_error(exc, self.name, method, path, self.aws.secrets()) from None
            try:
                with translate(action, self.name, self.aws):
                    raise
            except AwsError as err:
                message = str(exc.response.get("Error", {}).get("Message") or "")
                if code in ("AccessDeniedException", "AccessDenied"):
                    err.hint = _denied_hint(self.name)
                elif "Update your environment" in message:
                    err.hint = (
                        f"{self.name} predates InvokeRestApi: update the environment once "
                        "(any UpdateEnvironment, e.g. mwaadeps deploy --force), then retry."
                    )
                raise err from None
        except bx.BotoCoreError:
            with translate(action, self.name, self.aws):
                raise
        status = answer.get("RestApiStatusCode")
        return (int(status) if status is not None else 200), answer.get("RestApiResponse")

    def _get(self, path: str, query: Mapping[str, Any] | None = None) -> dict[str, Any]:
        _, response = self.call("GET", path, query=query)
        return response if isinstance(response, dict) else {}

    def _pages(self, path: str, field: str) -> list[dict[str, Any]]:
        """Every item of a paginated collection (limit/offset until total_entries)."""
        items: list[dict[str, Any]] = []
        while True:
            page = self._get(path, {"limit": self.page_size, "offset": len(items)})
            batch = [i for i in page.get(field) or [] if isinstance(i, dict)]
            items += batch
            total = page.get("total_entries")
            if not batch or not isinstance(total, int) or len(items) >= total:
                return items

    def version(self) -> str | None:
        """The Airflow version the webserver reports."""
        value = self._get("/version").get("version")
        return str(value) if value else None

    def dags(self) -> list[dict[str, Any]]:
        """Every DAG Airflow knows (all pages of GET /dags)."""
        return self._pages("/dags", "dags")

    def dag(self, dag_id: str) -> dict[str, Any]:
        """One DAG (RestApiError 404 when Airflow does not know it)."""
        return self._get(f"/dags/{_segment(dag_id)}")

    def import_errors(self) -> list[dict[str, Any]]:
        """Every import error of the DAG processor (all pages of GET /importErrors)."""
        return self._pages("/importErrors", "import_errors")

    def trigger(
        self, dag_id: str, conf: Mapping[str, Any] | None = None, run_id: str | None = None
    ) -> dict[str, Any]:
        """POST a DAG run; Airflow's DagRun (state "queued")."""
        body: dict[str, Any] = {"conf": dict(conf or {})}
        if run_id is not None:
            body["dag_run_id"] = run_id
        _, response = self.call("POST", f"/dags/{_segment(dag_id)}/dagRuns", body=body)
        return response if isinstance(response, dict) else {}

    def dag_run(self, dag_id: str, run_id: str) -> dict[str, Any]:
        """One DAG run as Airflow sees it now."""
        return self._get(f"/dags/{_segment(dag_id)}/dagRuns/{_segment(run_id)}")

    def set_paused(self, dag_id: str, paused: bool) -> dict[str, Any]:
        """Pause or unpause a DAG; the DAG as it is after."""
        _, response = self.call("PATCH", f"/dags/{_segment(dag_id)}", body={"is_paused": paused})
        return response if isinstance(response, dict) else {}

    def variable(self, key: str) -> str | None:
        """An Airflow Variable's value, None when it is not set."""
        try:
            value = self._get(f"/variables/{_segment(key)}").get("value")
        except RestApiError as exc:
            if exc.status == 404:
                return None
            raise
        return None if value is None else str(value)

    def delete_variable(self, key: str) -> None:
        """Delete an Airflow Variable (nothing when it is not set)."""
        try:
            self.call("DELETE", f"/variables/{_segment(key)}")
        except RestApiError as exc:
            if exc.status != 404:
                raise

    def delete_dag(self, dag_id: str) -> None:
        """Delete a DAG's metadata (it comes back if its file is still in the bucket)."""
        self.call("DELETE", f"/dags/{_segment(dag_id)}")
