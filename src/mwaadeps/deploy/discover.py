"""`mwaadeps discover`: what a live environment really has installed, vs the prediction.

The shipped discovery DAG (data/mwaadeps_discover.py) is uploaded beside the user's DAGs,
unpaused and triggered through InvokeRestApi; its task stores the worker's distributions in
an Airflow Variable, which is read and parsed. Whatever happens, the Variable, the DAG and
the S3 object version mwaadeps created are removed again (the bucket is as before).

The live set is then compared with mwaadeps' prediction of MWAA's base install
(build.base.base_versions) and with what the running bundle pins. What the bundle installed
is taken out of the live set first: the rest is the image's own base install, which
``--write`` stores as the environment's override file for lock/build/check ``--env``.
"""

from __future__ import annotations

import dataclasses
import json
import tempfile
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from packaging.utils import canonicalize_name

from mwaadeps.deploy.aws import error_code, translate
from mwaadeps.deploy.models import UPDATABLE, DeployOptions, Preflight
from mwaadeps.errors import ConfigError, DiscoverFailed, DiscoverTimeout, MwaadepsError
from mwaadeps.progress import NullReporter, Reporter
from mwaadeps.targets import PROVIDED_BY_IMAGE

if TYPE_CHECKING:
    from mwaadeps.config import EnvironmentConfig, Settings
    from mwaadeps.deploy.models import DeploymentRecord
    from mwaadeps.deploy.restapi import AirflowApi

DAG_ID = "mwaadeps_discover"
DAG_FILE = "mwaadeps_discover.py"
MARKER = "# mwaadeps: discovery-dag v1"
FORMAT = 1
CHANGED, MISSING, EXTRA = "changed", "missing", "extra"
_LEFT_HINT = (
    "Remove what the lines above name by hand (the object version in S3, the Variable and "
    "the DAG in the Airflow UI)."
)


@dataclass(frozen=True)
class DiscoverOptions:
    """Knobs of a discovery; the clock and sleep are injectable for tests."""

    poll_interval: float = 10.0
    timeout: float = 900.0  # for the DAG to load and its run to end, together
    token: str | None = None  # names the Variable and the run (default: random)
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic


@dataclass(frozen=True)
class LiveInstall:
    """What the discovery task reported (its Variable's JSON)."""

    airflow_version: str
    python_version: str
    packages: Mapping[str, str]


@dataclass(frozen=True)
class PackageDiff:
    """One package that is not what was expected."""

    name: str
    kind: str  # changed / missing / extra
    expected: str | None
    live: str | None

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "predicted": self.expected,
            "live": self.live,
        }


@dataclass(frozen=True)
class Comparison:
    """The live set against one expectation (the prediction, or the bundle's pins)."""

    source: str
    compared: int
    differences: tuple[PackageDiff, ...]

    def of_kind(self, kind: str) -> tuple[PackageDiff, ...]:
        return tuple(d for d in self.differences if d.kind == kind)

    def as_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "compared": self.compared,
            "differences": [d.as_json() for d in self.differences],
        }


@dataclass(frozen=True)
class DiscoverReport:
    """The result of `mwaadeps discover`."""

    key: str
    environment: str
    airflow_version: str
    python_version: str
    packages: Mapping[str, str]  # everything the worker has
    base: Mapping[str, str]  # the image's own base install (the bundle's packages taken out)
    prediction: Comparison | None
    bundle: Comparison | None
    override: Comparison | None = None  # the environment's committed override file, if any
    variable: str = ""  # the Airflow Variable the run wrote (deleted since)
    notes: tuple[str, ...] = ()
    cleanup: tuple[str, ...] = ()  # cleanup steps that failed (nothing when all went)
    written: tuple[Path, ...] = field(default=())

    @property
    def differs(self) -> bool:
        return any(c.differences for c in (self.prediction, self.bundle, self.override) if c)

    def as_json(self) -> dict[str, Any]:
        return {
            "ok": True,
            "key": self.key,
            "environment": self.environment,
            "airflow_version": self.airflow_version,
            "python_version": self.python_version,
            "packages": dict(self.packages),
            "base": dict(self.base),
            "prediction": self.prediction.as_json() if self.prediction else None,
            "bundle": self.bundle.as_json() if self.bundle else None,
            "override": self.override.as_json() if self.override else None,
            "variable": self.variable,
            "notes": list(self.notes),
            "cleanup": list(self.cleanup),
            "written": [str(p) for p in self.written],
        }


# -- the pure part: parse and compare --------------------------------------------------------


_INSTALLER_TOOLS = ("pip", "setuptools", "wheel")


def parse_snapshot(value: str, where: str) -> LiveInstall:
    """The discovery task's JSON (format 1); anything else is a DiscoverFailed."""
    try:
        data = json.loads(value)
    except ValueError:
        data = None
    packages = data.get("packages") if isinstance(data, dict) else None
    if (
        not isinstance(data, dict)
        or data.get("format") != FORMAT
        or not isinstance(packages, dict)
        or not all(isinstance(k, str) and isinstance(v, str) for k, v in packages.items())
    ):
        raise DiscoverFailed(
            f"{where} does not hold the discovery DAG's JSON (format {FORMAT}).",
            hint="Another DAG may have written the Variable; run discover again.",
        )
    found: dict[str, str] = {canonicalize_name(k): str(v) for k, v in sorted(packages.items())}
    if "apache-airflow" not in found:  # it ran in Airflow: a snapshot without it is not one
        raise DiscoverFailed(
            f"{where} lists {len(found)} package(s) and not apache-airflow: not what the "
            "discovery DAG sees on an Airflow worker; nothing is compared or written.",
            hint="Another DAG may have written the Variable, or the worker's Python is not "
            "Airflow's; run discover again and read the task log if it persists.",
        )
    return LiveInstall(str(data.get("airflow") or ""), str(data.get("python") or ""), found)


def compare(
    expected: Mapping[str, str],
    live: Mapping[str, str],
    *,
    extras: bool = True,
    known: frozenset[str] = frozenset(),
) -> tuple[PackageDiff, ...]:
    """Packages whose live version differs, that are expected but absent, and (with
    ``extras``) live but not expected, except the ``known`` ones; sorted by name."""
    out = []
    candidates = set(live) - known if extras else set()
    for name in sorted(set(expected) | candidates):
        want, have = expected.get(name), live.get(name)
        if want is not None and have is None:
            out.append(PackageDiff(name, MISSING, want, None))
        elif want is None and have is not None:
            out.append(PackageDiff(name, EXTRA, None, have))
        elif want != have:
            out.append(PackageDiff(name, CHANGED, want, have))
    return tuple(out)


def image_base(
    live: Mapping[str, str], bundle_pins: Mapping[str, str], predicted: Mapping[str, str]
) -> dict[str, str]:
    """The image's own base install: the live set without what the bundle installed.

    A package the bundle pins is the bundle's version live, not the image's: it is left out,
    or, when the prediction has it too, kept at the predicted version (the image's own
    version cannot be seen under the bundle's).
    """
    out = {}
    for name, version in live.items():
        if name not in bundle_pins:
            out[name] = version
        elif name in predicted:
            out[name] = predicted[name]
    return dict(sorted(out.items()))


# -- the live part ---------------------------------------------------------------------------


def discover(
    settings: Settings,
    key: str,
    options: DiscoverOptions | None = None,
    reporter: Reporter | None = None,
) -> DiscoverReport:
    """Run the discovery DAG on [environments.<key>] and compare what it found."""
    from mwaadeps.deploy.apply import signals_deferred
    from mwaadeps.deploy.preflight import preflight
    from mwaadeps.deploy.restapi import AirflowApi

    opts = options or DiscoverOptions()
    rep = reporter or NullReporter()
    config = settings.environment(key)
    pre = preflight(config, rep, require_updatable=False)
    status = str(pre.environment.get("Status"))
    if status not in UPDATABLE:
        raise DiscoverFailed(
            f"Environment {config.name} is {status}: its Airflow webserver cannot run the "
            "discovery DAG now.",
            hint=f"Wait until it is AVAILABLE (mwaadeps status --env {key}), then retry.",
        )
    dag_folder = str(pre.environment.get("DagS3Path") or "").strip("/")
    if not dag_folder:
        raise DiscoverFailed(
            f"Environment {config.name} reports no DagS3Path: there is no DAGs folder to put "
            "the discovery DAG in.",
            hint="Set the environment's DAGs folder (DagS3Path), then retry.",
        )
    s3_key = f"{dag_folder}/{DAG_FILE}"
    api = AirflowApi(pre.aws, config.name)
    token = opts.token or uuid.uuid4().hex[:12]
    variable, run_id = f"{DAG_ID}_{token}", f"{DAG_ID}_{token}"
    leftover = _existing_dag(pre, s3_key)
    rep.step(f"Uploading the discovery DAG to s3://{pre.bucket}/{s3_key}")
    with signals_deferred():  # a signal mid-upload would lose the version to delete
        version = _upload_dag(pre, s3_key, rep)
    try:
        live = _run(api, pre, s3_key, variable, run_id, opts, rep)
    except BaseException as exc:  # an error or a signal: clean up, then say what stayed
        with signals_deferred():  # a second signal does not cut the cleanup short
            left = _cleanup(api, pre, s3_key, version, variable, rep)
        if isinstance(exc, MwaadepsError) and left:
            exc.message = "\n".join([exc.message, *left])
            exc.hint = " ".join(
                [(exc.hint or "").replace(" Nothing was left behind.", ""), _LEFT_HINT]
            ).strip()
        elif left:
            exc.left_behind = tuple(left)  # type: ignore[attr-defined]  # cli says it
        raise
    with signals_deferred():
        cleanup = _cleanup(api, pre, s3_key, version, variable, rep)
    notes = []
    if leftover:
        notes.append(
            f"s3://{pre.bucket}/{s3_key} was there before (a discovery DAG an earlier run left "
            "behind); it is still there."
        )
    report = _report(settings, config, pre, live, rep, tuple(notes), tuple(cleanup))
    return dataclasses.replace(report, variable=variable)


def _existing_dag(pre: Preflight, s3_key: str) -> bool:
    """Whether a discovery DAG is already at the key; a foreign file there is refused."""
    import botocore.exceptions as bx

    where = f"s3://{pre.bucket}/{s3_key}"
    try:
        body = pre.aws.s3.get_object(Bucket=pre.bucket, Key=s3_key, Range="bytes=0-127")["Body"]
        head = body.read()
    except bx.ClientError as exc:
        if error_code(exc) in ("NoSuchKey", "404"):
            return False
        with translate(f"read {where}", s3_key, pre.aws):
            raise
    except bx.BotoCoreError:
        with translate(f"read {where}", s3_key, pre.aws):
            raise
    if head.decode("utf-8", "replace").splitlines()[:1] != [MARKER]:
        raise DiscoverFailed(
            f"{where} exists and is not mwaadeps' discovery DAG; discover will not replace it.",
            hint=f"Rename that DAG file (mwaadeps needs the name {DAG_FILE}), then retry.",
        )
    return True


def _upload_dag(pre: Preflight, s3_key: str, rep: Reporter) -> str:
    """Upload the shipped DAG as deploys upload (SSE-KMS, checksum); its new VersionId."""
    from mwaadeps.deploy.plan import upload_file
    from mwaadeps.digest import sha256_file

    data = resources.files("mwaadeps").joinpath("data", DAG_FILE).read_bytes()
    with tempfile.TemporaryDirectory(prefix="mwaadeps-discover-") as tmp:
        path = Path(tmp) / DAG_FILE
        path.write_bytes(data)
        return upload_file(
            pre.aws, pre.bucket, s3_key, path, sha256_file(path), pre.kms_key, DeployOptions(), rep
        )


def _run(
    api: AirflowApi,
    pre: Preflight,
    s3_key: str,
    variable: str,
    run_id: str,
    opts: DiscoverOptions,
    rep: Reporter,
) -> LiveInstall:
    """Wait for Airflow to load the DAG, run it, read its Variable."""
    from mwaadeps.errors import RestApiError

    started = opts.clock()

    def waited() -> float:
        return opts.clock() - started

    rep.step(f"Waiting for Airflow on {pre.name} to load {DAG_ID}")
    while True:
        try:
            api.dag(DAG_ID)
            break
        except RestApiError as exc:
            if exc.status != 404:
                raise
        for err in api.import_errors():
            filename = str(err.get("filename") or "")
            if filename == DAG_FILE or filename.endswith("/" + DAG_FILE):
                raise DiscoverFailed(
                    f"Airflow on {pre.name} cannot import the discovery DAG "
                    f"(s3://{pre.bucket}/{s3_key}):\n{str(err.get('stack_trace') or '').rstrip()}",
                    hint="The environment's Airflow could not load a DAG that needs only "
                    "Airflow itself: check its DAGProcessing logs.",
                )
        if waited() >= opts.timeout:
            raise DiscoverTimeout(
                f"Airflow on {pre.name} did not load {DAG_ID} within {opts.timeout:.0f}s.",
                hint="The DAG processor may be slow to list new files: retry with a longer "
                "--timeout. Nothing was left behind.",
            )
        opts.sleep(opts.poll_interval)
    api.set_paused(DAG_ID, False)
    rep.step(f"Running {DAG_ID} on {pre.name} (run {run_id})")
    api.trigger(DAG_ID, {"variable": variable}, run_id)
    state = "queued"
    while True:
        state = str(api.dag_run(DAG_ID, run_id).get("state") or "")
        if state == "success":
            break
        if state == "failed":
            raise DiscoverFailed(
                f"The discovery run {run_id} of {DAG_ID} failed on {pre.name}.",
                hint=f"Read its task log in CloudWatch (log group airflow-{pre.name}-Task).",
            )
        if waited() >= opts.timeout:
            raise DiscoverTimeout(
                f"The discovery run {run_id} on {pre.name} was still {state or 'unknown'} "
                f"after {opts.timeout:.0f}s.",
                hint="Workers may be busy or scaling up: retry with a longer --timeout. "
                "Nothing was left behind.",
            )
        opts.sleep(opts.poll_interval)
    where = f"Airflow Variable {variable} on {pre.name}"
    value = api.variable(variable)
    if value is None:
        raise DiscoverFailed(
            f"The discovery run succeeded but {where} is not set.",
            hint=f"Read the task log (log group airflow-{pre.name}-Task): the Variable "
            "could not be written.",
        )
    return parse_snapshot(value, where)


def _cleanup(
    api: AirflowApi, pre: Preflight, s3_key: str, version: str, variable: str, rep: Reporter
) -> list[str]:
    """Remove the Variable, the DAG's object version, then the DAG; what failed, as warnings.

    The file goes before the DAG: Airflow brings a deleted DAG back while its file is there.
    """
    from mwaadeps.errors import RestApiError

    failed: list[str] = []
    rep.step(f"Removing the discovery DAG and its Variable from {pre.name}")

    def step(what: str, fn: Callable[[], None]) -> None:
        try:
            fn()
        except RestApiError as exc:
            if exc.status != 404:
                failed.append(f"Could not {what}: {exc.message}")
        except MwaadepsError as exc:
            failed.append(f"Could not {what}: {exc.message}")

    def delete_object() -> None:
        with translate(f"delete s3://{pre.bucket}/{s3_key}", s3_key, pre.aws):
            pre.aws.s3.delete_object(Bucket=pre.bucket, Key=s3_key, VersionId=version)

    step(f"delete the Airflow Variable {variable}", lambda: api.delete_variable(variable))
    step(f"delete s3://{pre.bucket}/{s3_key} (version {version})", delete_object)
    step(f"delete the DAG {DAG_ID}", lambda: api.delete_dag(DAG_ID))
    for warning in failed:
        rep.warn(warning)
    return failed


def _deployed_pins(pre: Preflight, rep: Reporter) -> tuple[str | None, dict[str, str]]:
    """(where, name -> version) of what the running bundle pins: its deployment record's
    manifest when one matches the running requirements.txt, else that file itself."""
    from mwaadeps.deploy.inspect import requirement_pins
    from mwaadeps.deploy.records import history

    environment = pre.environment
    req_key = environment.get("RequirementsS3Path")
    req_version = environment.get("RequirementsS3ObjectVersion")
    if not req_key:
        return None, {}
    record: DeploymentRecord | None = None
    try:
        for candidate in reversed(history(pre.config, pre.aws, rep)):
            if candidate.versions().get("requirements.txt") == (req_key, req_version):
                record = candidate
                break
    except MwaadepsError as exc:
        rep.warn(f"Cannot read the deployment records: {exc.message}")
    manifest = (record.data.get("manifest") if record else None) or {}
    pinned = manifest.get("pinned") if isinstance(manifest, dict) else None
    if record is not None and isinstance(pinned, dict):
        return f"deployment record {record.id}", {
            canonicalize_name(str(n)): str(v) for n, v in pinned.items()
        }
    kwargs: dict[str, Any] = {"Bucket": pre.bucket, "Key": req_key}
    if req_version:
        kwargs["VersionId"] = req_version
    where = f"s3://{pre.bucket}/{req_key}"
    with translate(f"read {where}", str(req_key), pre.aws):
        text = pre.aws.s3.get_object(**kwargs)["Body"].read().decode("utf-8", "replace")
    packages, _ = requirement_pins(text, str(req_key))
    return f"{where} (version {req_version})", packages


def _predicted(
    settings: Settings, airflow_version: str, rep: Reporter
) -> tuple[str, dict[str, str]]:
    """mwaadeps' prediction of MWAA's base install for the environment's Airflow version."""
    from mwaadeps.build.base import base_versions
    from mwaadeps.build.lock import load_target_constraints
    from mwaadeps.build.upgrade import target_settings

    target_s = dataclasses.replace(
        target_settings(settings, airflow_version, None, None), base_env=None
    )
    constraints = load_target_constraints(target_s, rep)
    return f"mwaadeps' prediction for MWAA {airflow_version}", base_versions(
        target_s, constraints, rep
    )


def _report(
    settings: Settings,
    config: EnvironmentConfig,
    pre: Preflight,
    live: LiveInstall,
    rep: Reporter,
    notes: tuple[str, ...],
    cleanup: tuple[str, ...],
) -> DiscoverReport:
    env_version = str(pre.environment.get("AirflowVersion") or live.airflow_version)
    more = list(notes)
    if live.airflow_version and live.airflow_version != env_version:
        more.append(f"The worker runs Airflow {live.airflow_version}; MWAA reports {env_version}.")
    airflow_version = live.airflow_version or env_version
    source, pins = _deployed_pins(pre, rep)
    bundle = None
    if source is not None:
        exact = {n: v for n, v in pins.items() if v and v[0].isdigit()}
        bundle = Comparison(source, len(exact), compare(exact, live.packages, extras=False))
    prediction, label = None, ""
    predicted: dict[str, str] = {}
    try:
        label, predicted = _predicted(settings, airflow_version, rep)
    except MwaadepsError as exc:
        more.append(f"No prediction to compare with: {exc.message}")
    base = image_base(live.packages, pins, predicted)
    # psycopg2 and pycurl: compiled by the image itself; pip, setuptools and wheel: the
    # installer's own tools. None of them is in the prediction.
    image_own = frozenset(canonicalize_name(n) for n in (*PROVIDED_BY_IMAGE, *_INSTALLER_TOOLS))
    if predicted:
        prediction = Comparison(label, len(predicted), compare(predicted, base, known=image_own))
    override = None
    if config.installed is not None and config.installed.is_file():
        from mwaadeps.build.base import read_override

        try:
            found = read_override(config.installed, config.key)
        except MwaadepsError as exc:
            more.append(f"The override file is unreadable: {exc.message}")
        else:
            if found.airflow_version == airflow_version:
                override = Comparison(
                    f"the override {found.path.name} ({found.discovered_at})",
                    len(found.packages),
                    compare(found.packages, base, known=image_own),
                )
            else:
                more.append(
                    f"{found.path.name} was discovered on Airflow {found.airflow_version}; "
                    f"{config.name} runs {airflow_version}: discover again with --write."
                )
    return DiscoverReport(
        key=config.key,
        environment=config.name,
        airflow_version=airflow_version,
        python_version=live.python_version,
        packages=live.packages,
        base=base,
        prediction=prediction,
        bundle=bundle,
        override=override,
        notes=tuple(more),
        cleanup=cleanup,
    )


# -- --write ---------------------------------------------------------------------------------


def write_override(
    settings: Settings, report: DiscoverReport, *, now: datetime | None = None
) -> DiscoverReport:
    """Write mwaadeps-installed-<key>.txt beside mwaadeps.toml and set ``installed`` in
    [environments.<key>] (only that line changes); the report with the files written."""
    from mwaadeps.atomic import atomic_write
    from mwaadeps.build.base import format_override, override_name
    from mwaadeps.build.upgrade import rewrite_toml

    config_file = settings.config_file
    if config_file is None:
        raise ConfigError(
            "--write needs a mwaadeps.toml to record the override in.",
            hint="Run `mwaadeps init`, then discover again.",
        )
    when = (now or datetime.now(timezone.utc)).strftime("%Y-%m-%dT%H:%M:%SZ")
    path = config_file.parent / override_name(report.key)
    text = format_override(
        report.environment, report.airflow_version, report.python_version, when, report.base
    )
    table = f"environments.{report.key}"
    if config_file.name == "pyproject.toml":
        table = "tool.mwaadeps." + table
    original = config_file.read_bytes().decode("utf-8")  # CRLF stays CRLF
    by_hand = (
        f'Write the installed line of [{table}] as installed = "..." (or remove it), then run '
        "discover --write again."
    )
    try:
        new_text, _ = rewrite_toml(original, {"installed": path.name}, table=table)
    except ConfigError:
        raise ConfigError(
            f'{config_file} has no [{table}] table header to add installed = "{path.name}" to.',
            hint=f"Write the environment as a [{table}] table, then run discover again.",
        ) from None
    if not _only_installed_changed(original, new_text, table, path.name):
        raise ConfigError(
            f"{config_file}: setting installed in [{table}] line by line would change more "
            "than that value (an installed key spelled in a way mwaadeps does not rewrite); "
            "nothing was written.",
            hint=by_hand,
        )
    atomic_write(path, text.encode("utf-8"))
    written = [path]
    if new_text != original:
        atomic_write(config_file, new_text.encode("utf-8"))  # keeps its permissions
        written.append(config_file)
    return dataclasses.replace(report, written=tuple(written))


def _only_installed_changed(original: str, new_text: str, table: str, value: str) -> bool:
    """Whether ``new_text`` parses to ``original``'s settings with only [table].installed set
    to ``value`` (rewrite_toml edits lines; this proves the edit meant what it says)."""
    import copy
    import sys

    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib

    try:
        before, after = tomllib.loads(original), tomllib.loads(new_text)
    except tomllib.TOMLDecodeError:
        return False
    expected = copy.deepcopy(before)
    node: Any = expected
    for part in table.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    if not isinstance(node, dict):
        return False
    node["installed"] = value
    return after == expected


__all__ = [
    "DAG_FILE",
    "DAG_ID",
    "MARKER",
    "Comparison",
    "DiscoverOptions",
    "DiscoverReport",
    "LiveInstall",
    "PackageDiff",
    "compare",
    "discover",
    "image_base",
    "parse_snapshot",
    "write_override",
]
