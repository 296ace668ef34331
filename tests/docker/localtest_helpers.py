"""Helpers for the Docker tests: tiny wheels and bundles like `mwaadeps build` writes."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import tarfile
import uuid
import zipfile
from pathlib import Path
from typing import Any

AIRFLOW = "2.9.2"
_MWAA_DATA = Path(__file__).resolve().parents[2] / "src" / "mwaadeps" / "data" / "mwaa"
CONSTRAINTS = Path(
    os.environ.get(
        "MWAADEPS_TEST_CONSTRAINTS", str(_MWAA_DATA / AIRFLOW / "airflow-constraints.txt")
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


# A PEP 517 backend with no build requirements: pip builds the sdist offline, in isolation.
_BACKEND = """\
import base64, hashlib, os, zipfile

NAME, VERSION = {name!r}, {version!r}


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    dist = NAME.replace("-", "_") + "-" + VERSION
    files = {{}}
    for root, _, names in os.walk("src"):
        for item in names:
            path = os.path.join(root, item)
            with open(path, "rb") as fh:
                files[os.path.relpath(path, "src").replace(os.sep, "/")] = fh.read()
    meta = "Metadata-Version: 2.1\\nName: %s\\nVersion: %s\\n" % (NAME, VERSION)
    files[dist + ".dist-info/METADATA"] = meta.encode()
    files[dist + ".dist-info/WHEEL"] = (
        b"Wheel-Version: 1.0\\nGenerator: tiny\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n"
    )
    record = []
    for path, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
        record.append("%s,sha256=%s,%d" % (path, digest.decode(), len(data)))
    record.append(dist + ".dist-info/RECORD,,")
    files[dist + ".dist-info/RECORD"] = ("\\n".join(record) + "\\n").encode()
    name = dist + "-py3-none-any.whl"
    with zipfile.ZipFile(os.path.join(wheel_directory, name), "w") as zf:
        for path, data in files.items():
            zf.writestr(path, data)
    return name
"""


def make_sdist(name: str, version: str, files: dict[str, str]) -> tuple[str, bytes]:
    """A minimal sdist (name-version.tar.gz) that pip builds with no network and no setuptools."""
    top = f"{name.replace('-', '_')}-{version}"
    entries = {
        "PKG-INFO": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
        "pyproject.toml": '[build-system]\nrequires = []\nbuild-backend = "tinybackend"\n'
        'backend-path = ["."]\n',
        "tinybackend.py": _BACKEND.format(name=name, version=version),
        **{f"src/{path}": text for path, text in files.items()},
    }
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for path, text in entries.items():
            data = text.encode()
            info = tarfile.TarInfo(f"{top}/{path}")
            info.size = len(data)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))
    return f"{top}.tar.gz", buf.getvalue()


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


def session_images(client: Any) -> list[str]:
    """Ids of images this test session committed that still exist."""
    ((key, value),) = SESSION_LABELS.items()
    return [i.id for i in client.images.list(filters={"label": f"{key}={value}"})]
