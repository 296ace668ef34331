"""Helpers for the Docker tests: tiny wheels and bundles like `mwaadeps build` writes."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import uuid
import zipfile
from pathlib import Path
from typing import Any

AIRFLOW = "2.9.2"
_SHARED = Path(os.environ.get("MWAADEPS_SHARED", "/work/shared"))
CONSTRAINTS = Path(
    os.environ.get(
        "MWAADEPS_TEST_CONSTRAINTS", str(_SHARED / "mwaa" / AIRFLOW / "airflow-constraints.txt")
    )
)
BASE_IMAGE = os.environ.get("MWAADEPS_BASE_IMAGE", "mwaadeps-base:bookworm-toolchain")
# Every container these tests start carries this label, so the leftover check sees only ours
# (other runs of test-local may share the engine).
SESSION_LABELS = {"mwaadeps.test-session": uuid.uuid4().hex}
FIND_LINKS = "--find-links /usr/local/airflow/plugins\n--no-index\n"


# -- tiny bundles --------------------------------------------------------------------------
def make_wheel(
    name: str,
    version: str,
    files: dict[str, str],
    *,
    tag: str = "py3-none-any",
    requires: tuple[str, ...] = (),
) -> tuple[str, bytes]:
    """A minimal valid wheel: (file name, bytes)."""
    dist = f"{name.replace('-', '_')}-{version}"
    meta = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
    meta += "".join(f"Requires-Dist: {r}\n" for r in requires)
    purelib = "true" if tag.endswith("none-any") else "false"
    wheel_meta = (
        f"Wheel-Version: 1.0\nGenerator: mwaadeps-tests\nRoot-Is-Purelib: {purelib}\nTag: {tag}\n"
    )
    entries = {**files, f"{dist}.dist-info/METADATA": meta, f"{dist}.dist-info/WHEEL": wheel_meta}
    record = []
    for path, text in entries.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=")
        record.append(f"{path},sha256={digest.decode()},{len(text.encode())}")
    record.append(f"{dist}.dist-info/RECORD,,")
    entries[f"{dist}.dist-info/RECORD"] = "\n".join(record) + "\n"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for path, text in entries.items():
            zf.writestr(path, text)
    return f"{dist}-{tag}.whl", buf.getvalue()


def write_bundle(
    dist: Path,
    *,
    wheels: list[tuple[str, bytes]],
    requirements: str,
    pinned: dict[str, str] | None = None,
    startup: str | None = None,
) -> Path:
    """A dist/ folder like `mwaadeps build` writes, with the real 2.9.2 constraints."""
    dist.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(dist / "plugins.zip", "w") as zf:
        for name, data in wheels:
            zf.writestr(name, data)
        zf.writestr("constraints.txt", CONSTRAINTS.read_text())
    (dist / "requirements.txt").write_text(requirements)
    manifest = {
        "mwaadeps_version": "0.1.0",
        "mode": "bundle",
        "target": {"airflow_version": AIRFLOW, "python_version": "3.11", "known": True},
        "constraints": {"file": "constraints.txt"},
        "pinned": pinned if pinned is not None else {},
    }
    (dist / "manifest.json").write_text(json.dumps(manifest))
    if startup is not None:
        (dist / "startup.sh").write_text(startup)
    return dist


TINY_REQUIREMENTS = (
    FIND_LINKS + "--constraint /usr/local/airflow/plugins/constraints.txt\n"
    "tinypkg==1.0\ntinydep==1.0\n"
)


def session_containers(client: Any) -> list[str]:
    """Ids of containers this test session started that still exist."""
    ((key, value),) = SESSION_LABELS.items()
    return [c.id for c in client.containers.list(all=True, filters={"label": f"{key}={value}"})]
