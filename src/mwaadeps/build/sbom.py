"""dist/sbom.cdx.json: a CycloneDX SBOM of the bundle, byte-for-byte reproducible.

Every shipped package (bundled wheel or sdist, with its sha256) is a component of scope
``required`` (build requirements: ``optional``); every package MWAA's image provides is of
scope ``excluded``, with the property ``mwaadeps:provided``. The serial number is derived
from the content and the timestamp from SOURCE_DATE_EPOCH (else 1980-01-01), so the same
inputs give the same bytes.
"""

from __future__ import annotations

import datetime
import hashlib
import uuid
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from packaging.utils import canonicalize_name

from mwaadeps import __version__
from mwaadeps.build.lockfile import BUNDLE, FALLBACK, PROVIDED, Lock
from mwaadeps.build.wheels import FetchedWheel
from mwaadeps.targets import Target

FILE_NAME = "sbom.cdx.json"
PROVIDED_TEXT = "provided by MWAA's image"
_EPOCH_1980 = 315532800


@dataclass
class _Entry:
    name: str
    version: str
    role: str
    scope: str  # required / optional / excluded
    files: dict[str, str] = field(default_factory=dict)  # filename -> sha256
    top_level: bool = False
    via: tuple[str, ...] = ()


def _timestamp(env: Mapping[str, str]) -> datetime.datetime:
    raw = env.get("SOURCE_DATE_EPOCH", "")
    seconds = int(raw) if raw.isdigit() else _EPOCH_1980
    return datetime.datetime.fromtimestamp(seconds, tz=datetime.timezone.utc)


def _entries(
    lock: Lock, wheels: Sequence[FetchedWheel], mode: str, full: bool
) -> dict[str, _Entry]:
    """(canonical name@version) -> what the SBOM says of it."""
    entries: dict[str, _Entry] = {}
    shipped_roles = (BUNDLE, FALLBACK, PROVIDED) if full else (BUNDLE, FALLBACK)

    def key(name: str, version: str) -> str:
        return f"{canonicalize_name(name)}@{version}"

    for pkg in lock.packages:
        shipped = pkg.role in shipped_roles
        entry = _Entry(
            pkg.name,
            pkg.version,
            pkg.role,
            "required" if shipped else "excluded",
            top_level=pkg.top_level,
            via=pkg.via,
        )
        if shipped and mode != "bundle":  # installed from the index: the lock's artifact
            artifact = pkg.wheel or pkg.sdist
            if artifact is not None and artifact.sha256:
                entry.files[artifact.filename] = artifact.sha256
        entries[key(pkg.name, pkg.version)] = entry
    for wheel in wheels if mode == "bundle" else ():
        k = key(wheel.name, wheel.version)
        if k not in entries:  # a build requirement's wheel, for an sdist MWAA compiles
            entries[k] = _Entry(wheel.name, wheel.version, "build-requirement", "optional")
        elif entries[k].scope == "excluded":
            entries[k].scope = "required"
        entries[k].files[wheel.filename] = wheel.sha256
    return entries


def _component(entry: _Entry) -> Any:
    from cyclonedx.model import HashAlgorithm, HashType, Property
    from cyclonedx.model.component import Component, ComponentScope
    from packageurl import PackageURL

    name = canonicalize_name(entry.name)
    purl = PackageURL(type="pypi", name=name, version=entry.version)
    props = [Property(name="mwaadeps:role", value=entry.role)]
    if entry.role == PROVIDED:
        props.append(Property(name="mwaadeps:provided", value=PROVIDED_TEXT))
    if entry.top_level:
        props.append(Property(name="mwaadeps:top-level", value="true"))
    props += [Property(name="mwaadeps:file", value=f) for f in sorted(entry.files)]
    return Component(
        name=name,
        version=entry.version,
        purl=purl,
        bom_ref=purl.to_string(),
        scope=ComponentScope(entry.scope),
        hashes=[
            HashType(alg=HashAlgorithm.SHA_256, content=sha)
            for sha in sorted(set(entry.files.values()))
        ],
        properties=props,
    )


def sbom_bytes(
    target: Target,
    lock: Lock,
    wheels: Sequence[FetchedWheel],
    *,
    mode: str,
    full: bool,
    constraints: tuple[str, str],
    env: Mapping[str, str] | None = None,
) -> bytes:
    """The SBOM as CycloneDX 1.6 JSON; ``constraints`` is (source, sha256)."""
    from cyclonedx.model import Property
    from cyclonedx.model.bom import Bom, BomMetaData
    from cyclonedx.model.component import Component, ComponentType
    from cyclonedx.model.tool import ToolRepository
    from cyclonedx.output.json import JsonV1Dot6
    from packageurl import PackageURL

    entries = _entries(lock, wheels, mode, full)
    components = {k: _component(e) for k, e in sorted(entries.items())}
    t = target.to_dict()
    root = Component(
        name=f"mwaa-requirements-airflow-{target.airflow_version}",
        version=lock.inputs_sha256[:12] or None,
        type=ComponentType.APPLICATION,
        bom_ref="mwaadeps-bundle",
        description="The Python dependencies mwaadeps bundled for Amazon MWAA.",
    )
    props = [
        Property(name="mwaadeps:airflow-version", value=target.airflow_version),
        Property(name="mwaadeps:python-version", value=target.python_version),
        Property(name="mwaadeps:platform", value=str(t["platform"])),
        Property(name="mwaadeps:mode", value=mode),
        Property(name="mwaadeps:full", value="true" if full else "false"),
        Property(name="mwaadeps:constraints-source", value=constraints[0]),
        Property(name="mwaadeps:constraints-sha256", value=constraints[1]),
        Property(name="mwaadeps:lock-inputs-sha256", value=lock.inputs_sha256),
    ]
    metadata = BomMetaData(
        timestamp=_timestamp(env or {}),
        tools=ToolRepository(
            components=[
                Component(
                    name="mwaadeps",
                    version=__version__,
                    type=ComponentType.APPLICATION,
                    purl=PackageURL(type="pypi", name="mwaadeps", version=__version__),
                )
            ]
        ),
        component=root,
        properties=props,
    )

    def render(serial: uuid.UUID) -> str:
        bom = Bom(components=components.values(), metadata=metadata, serial_number=serial)
        names = {canonicalize_name(e.name): k for k, e in entries.items()}
        shipped = [c for k, c in components.items() if entries[k].scope != "excluded"]
        tops = [components[k] for k, e in entries.items() if e.top_level] or shipped
        bom.register_dependency(root, tops)
        for k, entry in entries.items():
            parents = [
                components[names[n]] for n in map(canonicalize_name, entry.via) if n in names
            ]
            for parent in parents:
                bom.register_dependency(parent, [components[k]])
        with warnings.catch_warnings():  # the library warns about incomplete graphs
            warnings.simplefilter("ignore")
            text: str = JsonV1Dot6(bom).output_as_string(indent=2)
        return text

    draft = render(uuid.UUID(int=0))
    serial = uuid.UUID(bytes=hashlib.sha256(draft.encode()).digest()[:16], version=5)
    return (render(serial) + "\n").encode("utf-8")


def validate(data: bytes) -> str | None:
    """None when the bytes are a valid CycloneDX 1.6 JSON document, else the first problem."""
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    error = JsonStrictValidator(SchemaVersion.V1_6).validate_str(data.decode("utf-8"))
    return None if error is None else str(error)
