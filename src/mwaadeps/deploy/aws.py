"""boto3 sessions and clients for one configured environment, and AWS errors made readable.

Credentials come from boto3's standard chain (profiles, SSO, environment, instance roles);
endpoints from boto3's own settings (``AWS_ENDPOINT_URL``, ``AWS_ENDPOINT_URL_<SERVICE>``,
profiles) unless the environment's ``endpoint-url`` overrides them.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from mwaadeps.errors import AwsError, ConfigError, MwaadepsError, PreflightError
from mwaadeps.redact import redact_text

if TYPE_CHECKING:
    import boto3
    from mypy_boto3_kms import KMSClient
    from mypy_boto3_logs import CloudWatchLogsClient
    from mypy_boto3_mwaa import MWAAClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sts import STSClient

    from mwaadeps.config import EnvironmentConfig

DEFAULT_MAX_ATTEMPTS = 5

_CRED_HINT = (
    "Configure AWS credentials the usual way: AWS_PROFILE (aws sso login for SSO profiles), "
    "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or a role on the CI runner."
)


def new_client(
    service: str,
    region: str,
    endpoint_url: str | None,
    *,
    session: boto3.Session | None = None,
    credentials: tuple[str, str] | None = None,
    **config: Any,
) -> Any:
    """A boto3 client (of ``session``, else boto3's default one): the one place mwaadeps and
    its sandbox create clients. ``config`` goes to botocore's Config."""
    import boto3
    from botocore.config import Config

    kwargs: dict[str, Any] = {"region_name": region, "config": Config(**config)}
    if endpoint_url:
        kwargs["endpoint_url"] = endpoint_url
    if credentials is not None:
        kwargs["aws_access_key_id"], kwargs["aws_secret_access_key"] = credentials
    return (session or boto3).client(service, **kwargs)  # type: ignore[call-overload]


def _is_aws_host(url: str) -> bool:
    """Whether ``url`` is one of AWS's own service endpoints (not a sandbox or proxy)."""
    host = (urlsplit(url).hostname or "").lower()
    return host.endswith((".amazonaws.com", ".amazonaws.com.cn", ".api.aws"))


@dataclass
class Aws:
    """The clients for one environment; created lazily, one session per environment."""

    env: EnvironmentConfig
    session: boto3.Session
    region: str
    _clients: dict[str, Any] = field(default_factory=dict, repr=False)

    def _client(self, service: str) -> Any:
        if service not in self._clients:
            attempts = int(os.environ.get("AWS_MAX_ATTEMPTS") or DEFAULT_MAX_ATTEMPTS)
            with translate(f"create the {service} client", self.env.name):
                client = self._new(service, attempts, inject_host_prefix=True)
                if not _is_aws_host(client.meta.endpoint_url):
                    # MWAA's operations go to the api./env. hosts of AWS's regional
                    # endpoint; any other endpoint (the sandbox, a proxy) is used as given,
                    # wherever it was configured (endpoint-url, AWS_ENDPOINT_URL*, profile).
                    client = self._new(service, attempts, inject_host_prefix=False)
                self._clients[service] = client
        return self._clients[service]

    def _new(self, service: str, attempts: int, *, inject_host_prefix: bool) -> Any:
        return new_client(
            service,
            self.region,
            self.env.endpoint_url,
            session=self.session,
            retries={"mode": "standard", "total_max_attempts": attempts},
            connect_timeout=10,
            read_timeout=60,
            inject_host_prefix=inject_host_prefix,
        )

    @property
    def mwaa(self) -> MWAAClient:
        return self._client("mwaa")  # type: ignore[no-any-return]

    @property
    def s3(self) -> S3Client:
        return self._client("s3")  # type: ignore[no-any-return]

    @property
    def kms(self) -> KMSClient:
        return self._client("kms")  # type: ignore[no-any-return]

    @property
    def logs(self) -> CloudWatchLogsClient:
        return self._client("logs")  # type: ignore[no-any-return]

    @property
    def sts(self) -> STSClient:
        return self._client("sts")  # type: ignore[no-any-return]

    def secrets(self) -> tuple[str, ...]:
        """The resolved credential values, to mask in any message."""
        try:
            creds = self.session.get_credentials()
        except Exception:
            return ()
        if creds is None:
            return ()
        frozen = creds.get_frozen_credentials()
        return tuple(v for v in (frozen.access_key, frozen.secret_key, frozen.token) if v)

    def caller_arn(self) -> str:
        """Who we are (STS GetCallerIdentity); proves the credentials work."""
        with translate("check the AWS credentials (sts:GetCallerIdentity)", self.env.name, self):
            return self.sts.get_caller_identity()["Arn"]


def connect(env: EnvironmentConfig) -> Aws:
    """A session for ``env``: its profile and region, or boto3's defaults; fails clearly."""
    import boto3
    import botocore.exceptions as bx

    try:
        session = boto3.Session(profile_name=env.profile, region_name=env.region)
    except bx.ProfileNotFound as exc:
        raise _no_profile(env, exc) from None
    try:
        region = session.region_name
    except bx.ProfileNotFound as exc:
        raise _no_profile(env, exc) from None
    if not region:
        raise PreflightError(
            f"No AWS region for environment {env.key!r} ({env.name}).",
            hint="Set region in [environments." + env.key + "] or AWS_REGION/AWS_DEFAULT_REGION.",
        )
    try:
        creds = session.get_credentials()
    except bx.ProfileNotFound as exc:
        raise _no_profile(env, exc) from None
    except bx.BotoCoreError as exc:
        raise PreflightError(
            f"AWS credentials for environment {env.key!r}{_profile_note(session)} cannot be "
            f"loaded: {redact_text(str(exc))}",
            hint=_CRED_HINT,
        ) from None
    if creds is None:
        raise PreflightError(
            f"No AWS credentials found for environment {env.key!r} ({env.name})"
            f"{_profile_note(session)}.",
            hint=_CRED_HINT,
        )
    return Aws(env=env, session=session, region=region)


def _no_profile(env: EnvironmentConfig, exc: Exception) -> ConfigError:
    """The profile that is really missing: the environment's, or AWS_PROFILE's."""
    name = getattr(exc, "kwargs", {}).get("profile") or env.profile
    origin = f"profile of environment {env.key!r}" if env.profile else "from AWS_PROFILE"
    return ConfigError(
        f"AWS profile {name!r} ({origin}) is not configured.",
        hint="Check ~/.aws/config (aws configure list-profiles), or remove the profile to use "
        "the default credential chain.",
    )


def _profile_note(session: Any) -> str:
    try:
        name = session.profile_name
    except Exception:
        return ""
    return f" (profile {name!r})" if name and name != "default" else ""


def error_code(exc: BaseException) -> str | None:
    """The AWS error code of a botocore ClientError, else None."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        code = response.get("Error", {}).get("Code")
        return str(code) if code is not None else None
    return None


def describe(
    exc: BaseException, action: str, resource: str, secrets: tuple[str, ...] = ()
) -> MwaadepsError:
    """A MwaadepsError for a botocore exception raised while doing ``action`` on ``resource``."""
    import botocore.exceptions as bx

    if isinstance(exc, MwaadepsError):
        return exc
    text = redact_text(str(exc), secrets)
    if isinstance(exc, bx.NoCredentialsError | bx.PartialCredentialsError):
        return PreflightError(f"No AWS credentials to {action} ({resource}).", hint=_CRED_HINT)
    if isinstance(exc, bx.NoRegionError):
        return PreflightError(
            f"No AWS region to {action} ({resource}).",
            hint="Set region in the environment's table or AWS_REGION.",
        )
    if isinstance(
        exc,
        bx.EndpointConnectionError
        | bx.ConnectionClosedError
        | bx.ConnectTimeoutError
        | bx.ReadTimeoutError,
    ):
        url = getattr(exc, "kwargs", {}).get("endpoint_url", "")
        return AwsError(
            f"Cannot reach the AWS endpoint {url} to {action} ({resource}).",
            hint="Check the network and AWS_ENDPOINT_URL / endpoint-url "
            "(is `mwaadeps sandbox` running, if you use it?).",
        )
    if isinstance(exc, bx.ClientError):
        code = error_code(exc) or "Unknown"
        message = redact_text(str(exc.response.get("Error", {}).get("Message") or ""), secrets)
        hint = _hint_for(code, action)
        return AwsError(
            f"AWS refused to {action} ({resource}): {code}: {message}".rstrip(": "), hint=hint
        )
    if isinstance(exc, bx.TokenRetrievalError | bx.SSOError | bx.CredentialRetrievalError):
        return PreflightError(f"AWS credentials cannot be refreshed: {text}", hint=_CRED_HINT)
    if isinstance(exc, bx.BotoCoreError):
        return AwsError(f"Failed to {action} ({resource}): {text}")
    return AwsError(f"Failed to {action} ({resource}): {type(exc).__name__}: {text}")


def _hint_for(code: str, action: str) -> str | None:
    if code in ("ExpiredToken", "ExpiredTokenException", "RequestExpired"):
        return "The credentials have expired; refresh them (e.g. aws sso login) and retry."
    if code in (
        "InvalidClientTokenId",
        "UnrecognizedClientException",
        "SignatureDoesNotMatch",
        "InvalidAccessKeyId",
    ):
        return "The credentials are not valid for this account/endpoint; check the profile."
    if code in ("AccessDenied", "AccessDeniedException", "Forbidden", "403"):
        return (
            f"The identity in use lacks the permission to {action}; ask for it or use "
            "another profile."
        )
    if code in ("Throttling", "ThrottlingException", "TooManyRequestsException", "SlowDown"):
        return "AWS kept throttling after retries; wait a minute and retry."
    return None


@contextmanager
def translate(action: str, resource: str, aws: Aws | None = None) -> Iterator[None]:
    """Turn any botocore exception inside the block into a MwaadepsError."""
    try:
        yield
    except MwaadepsError:
        raise
    except Exception as exc:
        import botocore.exceptions as bx

        if not isinstance(exc, bx.BotoCoreError | bx.ClientError):
            raise
        secrets = aws.secrets() if aws is not None else ()
        raise describe(exc, action, resource, secrets) from None


def aws_call(aws: Aws, action: str, fn: Callable[..., Any], **kwargs: Any) -> Any:
    """fn(**kwargs); ClientErrors pass through for the caller, other botocore errors
    (connection, credentials) become MwaadepsErrors."""
    import botocore.exceptions as bx

    try:
        return fn(**kwargs)
    except bx.ClientError:
        raise
    except bx.BotoCoreError as exc:
        raise describe(exc, action, aws.env.name, aws.secrets()) from None
