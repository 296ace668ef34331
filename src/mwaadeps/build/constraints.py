"""The Airflow constraints of the target: fetched, cached, parsed; MWAA's essential pins."""

from __future__ import annotations

import base64
import hashlib
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from mwaadeps.atomic import atomic_write
from mwaadeps.build.shipped import ShippedFile, shipped
from mwaadeps.config import Settings
from mwaadeps.errors import ConstraintsError
from mwaadeps.progress import NullReporter, Reporter
from mwaadeps.redact import redact_text, redact_url, strip_credentials
from mwaadeps.targets import PROVIDED_BY_IMAGE, Target, is_essential_name

TIMEOUT_S = 30.0
FILE_NAME = "constraints.txt"


@dataclass(frozen=True)
class Constraints:
    """A constraints file and what it pins for the target."""

    source: str
    text: str
    sha256: str
    pins: Mapping[str, str]
    essential: Mapping[str, str]
    display_names: Mapping[str, str]

    def pin(self, name: str) -> str | None:
        return self.pins.get(canonicalize_name(name))

    def essential_text(self) -> str:
        """MWAA's non-overridable pins as a constraints file."""
        lines = [f"{self.display_names.get(n, n)}=={v}" for n, v in sorted(self.essential.items())]
        return "\n".join(lines) + "\n"

    def resolver_text(self) -> str:
        """The constraints without the packages the image provides (never resolved)."""
        provided = {canonicalize_name(p) for p in PROVIDED_BY_IMAGE}
        keep = []
        for line in self.text.splitlines():
            name = _line_name(line)
            if name is None or name not in provided:
                keep.append(line)
        return "\n".join(keep) + "\n"


def _line_name(line: str) -> str | None:
    stripped = line.split("#", 1)[0].strip()
    if not stripped or stripped.startswith("-"):
        return None
    try:
        return canonicalize_name(Requirement(stripped).name)
    except InvalidRequirement:
        return None


def parse_constraints(text: str, target: Target, source: str) -> Constraints:
    """Parse a constraints file's `name==version` pins for the target."""
    pins: dict[str, str] = {}
    names: dict[str, str] = {}
    env = target.marker_env()
    for lineno, line in enumerate(text.splitlines(), 1):
        stripped = line.split("#", 1)[0].strip()
        if not stripped or stripped.startswith("-"):
            continue
        try:
            req = Requirement(stripped)
        except InvalidRequirement as exc:
            raise ConstraintsError(
                f"{source}:{lineno}: not a constraint line ({exc}).",
                hint="Use the Apache Airflow constraints file for the target version.",
            ) from None
        if req.marker is not None and not req.marker.evaluate(env):  # type: ignore[arg-type]
            continue
        specs = list(req.specifier)
        if len(specs) == 1 and specs[0].operator in ("==", "==="):
            key = canonicalize_name(req.name)
            pins[key] = specs[0].version
            names[key] = req.name
    if not pins:
        raise ConstraintsError(
            f"{source} pins no packages: it is not a constraints file.",
            hint="Check --constraints; it should look like 'package==version' lines.",
        )
    unpinned = target.mwaa_unpinned()
    essential = {n: v for n, v in pins.items() if is_essential_name(n) and n not in unpinned}
    essential["apache-airflow"] = target.airflow_version
    names.setdefault("apache-airflow", "apache-airflow")
    for name, version in target.mwaa_own_pins().items():
        essential[name] = version
        names.setdefault(name, name)
    digest = hashlib.sha256(text.encode()).hexdigest()
    return Constraints(source, text, digest, pins, essential, names)


def _cache_path(settings: Settings, url: str) -> Path:
    key = hashlib.sha256(url.encode()).hexdigest()[:24]
    return settings.cache_dir / "constraints" / f"{key}.txt"


def fetch_text(url: str, timeout: float = TIMEOUT_S) -> str:
    """GET a text file; errors become ConstraintsError naming the (redacted) URL."""
    shown = redact_url(url)
    # urllib cannot send user:password@ itself (it fails with the password in its message):
    # the credentials go in a Basic auth header, percent-decoded.
    bare, creds = strip_credentials(url)
    headers = {"User-Agent": "mwaadeps"}
    if creds is not None and creds != ("", ""):
        token = base64.b64encode(f"{creds[0]}:{creds[1]}".encode()).decode()
        headers["Authorization"] = f"Basic {token}"
    secrets = tuple(c for c in creds or () if c)
    request = urllib.request.Request(bare, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:
            data: bytes = resp.read()
    except urllib.error.HTTPError as exc:
        hint = {
            404: "Check the Airflow version and --constraints.",
            401: "Check the credentials in the constraints URL.",
            403: "Check the credentials in the constraints URL.",
        }.get(exc.code)
        raise ConstraintsError(f"Fetching {shown} failed: HTTP {exc.code}.", hint=hint) from None
    except (urllib.error.URLError, TimeoutError, ConnectionError, OSError, ValueError) as exc:
        reason = redact_text(str(getattr(exc, "reason", exc)), secrets)
        raise ConstraintsError(
            f"Cannot reach {shown}: {reason}.",
            hint="You seem to be offline or behind a proxy. Pass --constraints with a local "
            "copy of the file, or a URL you can reach (e.g. a Nexus raw proxy).",
        ) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise ConstraintsError(f"{shown} is not a UTF-8 text file.") from None


def shipped_constraints(target: Target) -> ShippedFile | None:
    """The copy of the target's canonical constraints shipped with mwaadeps, if any."""
    found = shipped(target.airflow_version, "constraints")
    if found is None or found.source != target.constraints_url:
        return None  # another Python than the one the shipped file is for
    return found


def load_constraints(settings: Settings, reporter: Reporter | None = None) -> Constraints:
    """The target's constraints: the shipped copy for a known version, else a file or URL.

    The canonical URL is fetched only for a version mwaadeps ships no copy of, or when
    asked for with --constraints; a fetched file that differs from the shipped one is
    reported.
    """
    reporter = reporter or NullReporter()
    target = settings.target
    local = shipped_constraints(target)
    if settings.constraints is None and local is not None:
        return parse_constraints(local.text(), target, local.source)
    source = settings.constraints or target.constraints_url
    if "://" not in source:
        path = Path(source)
        try:
            text = path.read_text(encoding="utf-8-sig")
        except FileNotFoundError:
            raise ConstraintsError(
                f"Constraints file {path} does not exist.",
                hint="Pass --constraints with an existing file, or leave it out to use the "
                "Apache Airflow constraints URL.",
            ) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConstraintsError(f"Cannot read constraints file {path}: {exc}.") from None
        # Only the name: a path of this machine must not reach the reproducible outputs.
        return parse_constraints(text, target, path.name)
    if source.startswith("file://"):
        return parse_constraints(fetch_text(source), target, source)
    cache = _cache_path(settings, source)
    cached = _read_cache(cache, reporter)
    if cached is not None:
        return parse_constraints(cached, target, redact_url(source))
    reporter.step(f"Fetching constraints {redact_url(source)}")
    try:
        text = fetch_text(source)
    except ConstraintsError as exc:
        if local is None or source != target.constraints_url:
            raise
        reporter.warn(f"{exc.message} Using the copy shipped with mwaadeps instead.")
        return parse_constraints(local.text(), target, local.source)
    # The canonical URL, or a mirror of it (e.g. a Nexus raw proxy of GitHub).
    mirrored = source.split("?", 1)[0].endswith(target.constraints_url.split("/airflow/", 1)[1])
    if mirrored and local is not None and local.text() != text:
        reporter.warn(
            f"{source} differs from the copy shipped with mwaadeps (sha256 "
            f"{hashlib.sha256(text.encode()).hexdigest()[:12]} vs {local.sha256[:12]}); "
            "using the fetched file."
        )
    constraints = parse_constraints(text, target, redact_url(source))
    _write_cache(cache, text)
    return constraints


def _read_cache(cache: Path, reporter: Reporter) -> str | None:
    """The cached file's text when its sha256 is the one recorded beside it; else None
    (a damaged or unrecorded entry is removed, so the URL is fetched again)."""
    digest_file = cache.with_suffix(".sha256")
    try:
        data = cache.read_bytes()
        recorded = digest_file.read_text(encoding="ascii").strip()
    except (FileNotFoundError, UnicodeDecodeError):
        recorded, data = "", b""
    except OSError:
        return None
    if recorded and hashlib.sha256(data).hexdigest() == recorded:
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            pass
    if cache.exists() or digest_file.exists():
        reporter.warn(
            f"The cached copy of the constraints ({cache}) is damaged or unverified; "
            "fetching it again."
        )
        cache.unlink(missing_ok=True)
        digest_file.unlink(missing_ok=True)
    return None


def _write_cache(cache: Path, text: str) -> None:
    """The text, then its sha256 (an entry without its digest is never trusted)."""
    data = text.encode("utf-8")
    atomic_write(cache, data)
    atomic_write(cache.with_suffix(".sha256"), hashlib.sha256(data).hexdigest().encode())
