"""A fake, tiny package world for hermetic build tests: wheels, sdists, a PEP 503 index.

Everything is generated from code (no downloads): wheels are written with zipfile, sdists
with tarfile; the pure sdist builds with an in-tree PEP 517 backend (no build requirements),
the compiled one with setuptools, whose wheel (and its build helpers) are repacked from the
test interpreter's own installed distributions so the index can serve them offline.
"""

from __future__ import annotations

import base64
import contextlib
import csv
import hashlib
import html
import importlib.metadata
import io
import tarfile
import threading
import zipfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from packaging.utils import canonicalize_name

ZIP_DATE = (1980, 1, 1, 0, 0, 0)


def _norm(name: str) -> str:
    return canonicalize_name(name).replace("-", "_")


def _metadata(name: str, version: str, requires: Sequence[str], extras: Sequence[str],
              metadata_version: str = "2.1") -> str:  # fmt: skip
    lines = [f"Metadata-Version: {metadata_version}", f"Name: {name}", f"Version: {version}"]
    lines += [f"Provides-Extra: {e}" for e in extras]
    lines += [f"Requires-Dist: {r}" for r in requires]
    return "\n".join(lines) + "\n\n"


def _record_row(name: str, data: bytes) -> list[str]:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return [name, f"sha256={digest}", str(len(data))]


def wheel_bytes(files: dict[str, bytes], dist_info: str, tag: str) -> bytes:
    """A wheel (zip) holding ``files`` plus WHEEL and RECORD in ``dist_info``."""
    files = dict(files)
    pure = tag.endswith("-none-any")
    files[f"{dist_info}/WHEEL"] = (
        "Wheel-Version: 1.0\nGenerator: fakeworld\n"
        f"Root-Is-Purelib: {'true' if pure else 'false'}\nTag: {tag}\n\n"
    ).encode()
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for name in sorted(files):
        writer.writerow(_record_row(name, files[name]))
    writer.writerow([f"{dist_info}/RECORD", "", ""])
    files[f"{dist_info}/RECORD"] = out.getvalue().encode()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name in sorted(files):
            zf.writestr(zipfile.ZipInfo(name, ZIP_DATE), files[name])
    return buf.getvalue()


def make_wheel(
    name: str, version: str, tag: str = "py3-none-any",
    requires: Sequence[str] = (), extras: Sequence[str] = (),
) -> tuple[str, bytes]:  # fmt: skip
    mod = _norm(name)
    dist_info = f"{mod}-{version}.dist-info"
    files = {
        f"{mod}/__init__.py": f'"""Fake {name}."""\n__version__ = "{version}"\n'.encode(),
        f"{dist_info}/METADATA": _metadata(name, version, requires, extras).encode(),
    }
    return f"{mod}-{version}-{tag}.whl", wheel_bytes(files, dist_info, tag)


def make_sdist(name: str, version: str, files: dict[str, str],
               requires: Sequence[str] = ()) -> tuple[str, bytes]:  # fmt: skip
    """A reproducible .tar.gz sdist with static PKG-INFO (2.2: resolvers need not build)."""
    base = f"{_norm(name)}-{version}"
    members = dict(files)
    members["PKG-INFO"] = _metadata(name, version, requires, (), metadata_version="2.2")
    buf = io.BytesIO()
    import gzip

    with (
        gzip.GzipFile(fileobj=buf, mode="wb", mtime=0) as gz,
        tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar,
    ):
        for rel in sorted(members):
            data = members[rel].encode()
            info = tarfile.TarInfo(f"{base}/{rel}")
            info.size, info.mtime, info.mode = len(data), 0, 0o644
            tar.addfile(info, io.BytesIO(data))
    return f"{base}.tar.gz", buf.getvalue()


def repack_installed(dist_name: str) -> tuple[str, bytes] | None:
    """A py3-none-any wheel rebuilt from an installed pure distribution (None if absent)."""
    try:
        dist = importlib.metadata.distribution(dist_name)
    except importlib.metadata.PackageNotFoundError:
        return None
    name, version = dist.metadata["Name"], dist.version
    dist_info = f"{_norm(name)}-{version}.dist-info"
    files: dict[str, bytes] = {}
    for f in dist.files or []:
        posix = f.as_posix()
        if posix.startswith("..") or "__pycache__" in posix or posix.endswith(".pyc"):
            continue
        if posix.endswith((".dist-info/RECORD", ".dist-info/WHEEL", ".dist-info/INSTALLER",
                           ".dist-info/REQUESTED", ".dist-info/direct_url.json")):  # fmt: skip
            continue
        path = Path(str(f.locate()))
        if not path.is_file():
            continue
        if ".dist-info/" in posix:
            posix = dist_info + "/" + posix.split(".dist-info/", 1)[1]
        files[posix] = path.read_bytes()
    filename = f"{_norm(name)}-{version}-py3-none-any.whl"
    return filename, wheel_bytes(files, dist_info, "py3-none-any")


PURE_BACKEND = '''\
"""In-tree PEP 517 backend: builds a py3-none-any wheel with the standard library only."""
import base64, hashlib, os, zipfile

NAME, VERSION = "puresdist", "1.0"
SOURCES = {"puresdist/__init__.py": open("puresdist/__init__.py", "rb").read()}

def _row(name, data):
    d = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={d},{len(data)}\\n"

def get_requires_for_build_wheel(config_settings=None):
    return []

def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    di = f"{NAME}-{VERSION}.dist-info"
    files = dict(SOURCES)
    meta = f"Metadata-Version: 2.1\\nName: {NAME}\\nVersion: {VERSION}\\n\\n"
    files[di + "/METADATA"] = meta.encode()
    files[di + "/WHEEL"] = (b"Wheel-Version: 1.0\\nGenerator: inline\\n"
                            b"Root-Is-Purelib: true\\nTag: py3-none-any\\n\\n")
    record = "".join(_row(n, files[n]) for n in sorted(files)) + di + "/RECORD,,\\n"
    files[di + "/RECORD"] = record.encode()
    fn = f"{NAME}-{VERSION}-py3-none-any.whl"
    with zipfile.ZipFile(os.path.join(wheel_directory, fn), "w") as zf:
        for n in sorted(files):
            zf.writestr(zipfile.ZipInfo(n, (1980, 1, 1, 0, 0, 0)), files[n])
    return fn
'''

COMPILED_SETUP = """\
from setuptools import Extension, setup

setup(
    name="compiledsdist",
    version="1.0",
    ext_modules=[Extension("compiledsdist._speedups", ["src/speedups.c"])],
)
"""

# Like logbook: the C extension is optional (a failed compile falls back to pure Python),
# and the wheel claims to be platform-specific either way.
OPTIONAL_EXT_SETUP = """\
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext
from setuptools.dist import Distribution


class Failed(Exception):
    pass


class BuildExt(build_ext):
    def run(self):
        try:
            build_ext.run(self)
        except Exception:
            raise Failed()

    def build_extension(self, ext):
        try:
            build_ext.build_extension(self, ext)
        except Exception:
            raise Failed()


class AlwaysPlatform(Distribution):
    def has_ext_modules(self):
        return True


def run(with_ext):
    setup(
        name="optionalext",
        version="1.0",
        packages=["optionalext"],
        cmdclass={"build_ext": BuildExt},
        distclass=AlwaysPlatform,
        ext_modules=[Extension("optionalext._speedups", ["src/speedups.c"])] if with_ext else [],
    )


try:
    run(True)
except Failed:
    run(False)
"""

# A C extension on a system library MWAA's image lacks (GDAL), and one on MariaDB's client
# library, which MWAA's image has (this machine may lack its development files).
LIBRARY_SETUP = """\
from setuptools import Extension, setup

setup(
    name="{name}",
    version="1.0",
    ext_modules=[Extension("{name}._ext", ["src/ext.c"], libraries=["{lib}"])],
)
"""

LIBRARY_C = """\
#include <Python.h>
#include <{header}>
static struct PyModuleDef mod = {{PyModuleDef_HEAD_INIT, "_ext", NULL, -1, NULL}};
PyMODINIT_FUNC PyInit__ext(void) {{ return PyModule_Create(&mod); }}
"""

# An in-tree backend that asks for one more build requirement (as setuptools-scm or
# pkgconfig get asked for): the setup script imports it.
DYNAMIC_BACKEND = """\
from setuptools import build_meta as _meta
from setuptools.build_meta import *  # noqa: F403


def get_requires_for_build_wheel(config_settings=None):
    return [*_meta.get_requires_for_build_wheel(config_settings), "build-helper"]


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    import build_helper  # noqa: F401  (there only when the extra requirement was installed)

    return _meta.build_wheel(wheel_directory, config_settings, metadata_directory)
"""

DYNAMIC_SETUP = """\
from setuptools import Extension, setup

setup(
    name="dynreqsdist",
    version="1.0",
    ext_modules=[Extension("dynreqsdist._speedups", ["src/speedups.c"])],
)
"""

COMPILED_C = """\
#include <Python.h>
static struct PyModuleDef mod = {PyModuleDef_HEAD_INIT, "_speedups", NULL, -1, NULL};
PyMODINIT_FUNC PyInit__speedups(void) { return PyModule_Create(&mod); }
"""


@dataclass
class FakeWorld:
    """What the index holds, by project name -> {filename: bytes}."""

    projects: dict[str, dict[str, bytes]] = field(default_factory=dict)

    def add(self, project: str, artifact: tuple[str, bytes] | None) -> None:
        if artifact is not None:
            self.projects.setdefault(canonicalize_name(project), {})[artifact[0]] = artifact[1]

    def wheel(self, name: str, version: str, tag: str = "py3-none-any",
              requires: Sequence[str] = (), extras: Sequence[str] = ()) -> None:  # fmt: skip
        self.add(name, make_wheel(name, version, tag, requires, extras))

    def write(self, root: Path) -> Path:
        """A static PEP 503 tree under root: simple/<name>/index.html and files/."""
        files = root / "files"
        simple = root / "simple"
        files.mkdir(parents=True, exist_ok=True)
        links = []
        for project in sorted(self.projects):
            page = simple / project
            page.mkdir(parents=True, exist_ok=True)
            anchors = []
            for filename, data in sorted(self.projects[project].items()):
                (files / filename).write_bytes(data)
                digest = hashlib.sha256(data).hexdigest()
                anchors.append(
                    f'<a href="../../files/{html.escape(filename)}#sha256={digest}">'
                    f"{html.escape(filename)}</a><br/>"
                )
            (page / "index.html").write_text(
                "<!DOCTYPE html><html><body>\n" + "\n".join(anchors) + "\n</body></html>\n"
            )
            links.append(f'<a href="{project}/">{project}</a><br/>')
        (simple / "index.html").write_text(
            "<!DOCTYPE html><html><body>\n" + "\n".join(links) + "\n</body></html>\n"
        )
        return root


class _Handler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        log: list[Request] = self.server.log  # type: ignore[attr-defined]
        log.append(Request(self.path, self.headers.get("Authorization")))
        expected: str | None = getattr(self.server, "expected_auth", None)
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # client hung up
            if expected is not None and self.headers.get("Authorization") != expected:
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="fakeworld"')
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            super().do_GET()


@dataclass(frozen=True)
class Request:
    path: str
    authorization: str | None


@dataclass
class Server:
    url: str
    port: int
    log: list[Request]

    @property
    def paths(self) -> list[str]:
        return [r.path for r in self.log]


def basic_auth(user: str, password: str) -> str:
    """The Authorization header value of HTTP Basic auth."""
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@contextmanager
def serve(directory: Path, auth: tuple[str, str] | None = None) -> Iterator[Server]:
    """Serve a folder on 127.0.0.1 (random port) from a background thread.

    With ``auth`` (user, password) every request without that Basic auth gets HTTP 401.
    """
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Handler, directory=str(directory)))
    httpd.daemon_threads = True
    log: list[Request] = []
    httpd.log = log  # type: ignore[attr-defined]
    httpd.expected_auth = basic_auth(*auth) if auth else None  # type: ignore[attr-defined]
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    port = int(httpd.server_address[1])
    server = Server(f"http://127.0.0.1:{port}", port, log)
    try:
        yield server
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


# The fake MWAA 2.9.2 world ------------------------------------------------------------------

AIRFLOW = "2.9.2"
PINS = {
    "apache-airflow-providers-amazon": "8.24.0",
    "apache-airflow-providers-postgres": "5.11.0",
    "celery": "5.4.0",
    "kombu": "5.3.7",
    "watchtower": "3.2.0",
    "fluent-logger": "0.11.1",
    "virtualenv": "20.26.2",
    "requests": "2.32.3",
    "shared-util": "1.0",
}
CONSTRAINTS = "# Fake Airflow 2.9.2 constraints for the hermetic build tests.\n" + "".join(
    f"{n}=={v}\n" for n, v in sorted(PINS.items())
)


def build_world(with_build_backend: bool = True) -> FakeWorld:
    w = FakeWorld()
    # MWAA's base install (Target.base_requirements) and what it needs.
    for version in ("2.9.2", "2.9.3"):
        w.wheel("apache-airflow", version, requires=[
            "requests>=2.27", "shared-util>=1.0",
            'celery>=5.3; extra == "celery"', 'statsd>=4; extra == "statsd"',
        ], extras=["celery", "statsd"])  # fmt: skip
    w.wheel("apache-airflow-providers-amazon", "8.24.0",
            requires=["apache-airflow>=2.7.0", "boto3-stubs>=1.30",
                      'aiobotocore>=2.7; extra == "aiobotocore"'],
            extras=["aiobotocore"])  # fmt: skip
    w.wheel("aiobotocore", "2.13.0")
    w.wheel("apache-airflow-providers-postgres", "5.11.0", requires=["apache-airflow>=2.7.0"])
    w.wheel("celery", "5.4.0", requires=["kombu>=5.3", 'boto3-stubs; extra == "sqs"'],
            extras=["sqs"])  # fmt: skip
    for version in ("5.3.7", "5.4.0"):
        w.wheel("kombu", version)
    w.wheel("boto3-stubs", "1.34.0", extras=["logs", "sqs"])
    w.wheel("watchtower", "3.2.0")
    w.wheel("fluent-logger", "0.11.1")
    w.wheel("virtualenv", "20.26.2")
    w.wheel("statsd", "4.0.1")
    for version in ("2.32.3", "2.33.0"):
        w.wheel("requests", version)
    for version in ("1.0", "2.0"):
        w.wheel("shared-util", version)
    # The user's world.
    w.wheel("fake-provider", "1.0.0", requires=["apache-airflow>=2.7.0", "shared-util"])
    w.wheel("needs-new-airflow", "1.0.0", requires=["apache-airflow>=2.9.3"])
    w.wheel("linuxonly", "1.0", tag="cp311-cp311-manylinux_2_17_x86_64")
    w.wheel("maconly", "1.0", tag="cp311-cp311-macosx_11_0_arm64")
    w.wheel("winmarker", "1.0", requires=['winonly>=1.0; sys_platform == "win32"'])
    w.wheel("winonly", "1.0")
    w.wheel("stubs-user", "1.0", requires=["boto3-stubs>=1.30"])
    w.wheel("newglibc", "1.0", tag="cp311-cp311-manylinux_2_39_x86_64")
    w.wheel("twoarch", "1.0", tag="cp311-cp311-manylinux_2_17_aarch64")
    w.wheel("twoarch", "1.0", tag="cp311-cp311-manylinux_2_17_x86_64")
    # Every platform at once: the target's wheel must win whatever its name's length.
    for tag in ("cp311-cp311-win_amd64", "cp311-cp311-macosx_11_0_arm64",
                "cp311-cp311-manylinux_2_28_x86_64", "cp311-cp311-musllinux_1_2_x86_64",
                "cp312-cp312-manylinux_2_17_x86_64"):  # fmt: skip
        w.wheel("manyplat", "1.0", tag=tag)
    w.add("puresdist", make_sdist("puresdist", "1.0", {
        "pyproject.toml": '[build-system]\nrequires = []\nbuild-backend = "_backend"\n'
                          'backend-path = ["."]\n\n[project]\nname = "puresdist"\n'
                          'version = "1.0"\n',
        "_backend.py": PURE_BACKEND,
        "puresdist/__init__.py": '"""Pure Python, published as an sdist only."""\n',
    }))  # fmt: skip
    w.add("compiledsdist", make_sdist("compiledsdist", "1.0", {
        "pyproject.toml": '[build-system]\nrequires = ["setuptools"]\n'
                          'build-backend = "setuptools.build_meta"\n',
        "setup.py": COMPILED_SETUP,
        "src/speedups.c": COMPILED_C,
        "compiledsdist/__init__.py": "",
    }))  # fmt: skip
    w.add("optionalext", make_sdist("optionalext", "1.0", {
        "pyproject.toml": '[build-system]\nrequires = ["setuptools"]\n'
                          'build-backend = "setuptools.build_meta"\n',
        "setup.py": OPTIONAL_EXT_SETUP,
        "src/speedups.c": COMPILED_C,
        "optionalext/__init__.py": '"""Pure Python with optional C speed-ups."""\n',
    }))  # fmt: skip
    w.wheel("build-helper", "1.0")
    w.add("dynreqsdist", make_sdist("dynreqsdist", "1.0", {
        "pyproject.toml": '[build-system]\nrequires = ["setuptools"]\n'
                          'build-backend = "_backend"\nbackend-path = ["."]\n',
        "_backend.py": DYNAMIC_BACKEND,
        "setup.py": DYNAMIC_SETUP,
        "src/speedups.c": COMPILED_C,
        "dynreqsdist/__init__.py": "",
    }))  # fmt: skip
    for name, lib, header in (("needsgdal", "gdal", "gdal.h"),
                              ("needsmariadb", "mariadb", "mariadb/mysql.h")):  # fmt: skip
        w.add(name, make_sdist(name, "1.0", {
            "pyproject.toml": '[build-system]\nrequires = ["setuptools"]\n'
                              'build-backend = "setuptools.build_meta"\n',
            "setup.py": LIBRARY_SETUP.format(name=name, lib=lib),
            "src/ext.c": LIBRARY_C.format(header=header),
            f"{name}/__init__.py": "",
        }))  # fmt: skip
    if with_build_backend:
        # setuptools (and what old setuptools asks for) for the compiled sdist's build.
        for dist in ("setuptools", "wheel", "packaging"):
            w.add(dist, repack_installed(dist))
    return w


BASE_NAMES = (
    "apache-airflow", "apache-airflow-providers-amazon", "apache-airflow-providers-postgres",
    "celery", "kombu", "boto3-stubs", "watchtower", "fluent-logger", "virtualenv", "statsd",
    "aiobotocore", "requests", "shared-util",
)  # fmt: skip
