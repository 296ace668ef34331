"""Sdists MWAA compiles: bundled with their build requirements as target wheels.

MWAA's image keeps gcc, make, Python's headers and the MariaDB, PostgreSQL and libcurl
development files (see MWAA_LIBRARIES), so pip on a worker compiles a C-extension sdist
offline when the sdist and the wheels of its build requirements are in the find-links
folder. The rule that decides "compiles on MWAA":

1. With a Docker engine and a toolchain image (TOOLCHAIN_IMAGE, the runner's base, which
   mirrors MWAA's toolchain; MWAADEPS_COMPILE_IMAGE names another, `none` skips Docker) of
   the target's Python, pip builds the sdist there with no network from the bundled build
   requirements alone, as a worker would. Success means yes.
2. Otherwise the sdist is built on this machine, offline from the same wheels. A built
   extension may link only libraries MWAA's image has (read from its ELF DT_NEEDED).
3. A failed build is explained from its log (missing headers, -l libraries, pkg-config
   names, *-config programs). If everything missing is in MWAA_LIBRARIES (the place of the
   trial lacks a library MWAA has), or on this machine the package is in KNOWN_PACKAGES
   (mysqlclient, whose setup stops before naming what it lacks), the sdist is bundled and
   reported as not trial-built. Anything needing a library outside MWAA_LIBRARIES fails,
   naming the library and the remedies (a startup script that installs it, or a wheel on
   the private index); any other failure shows the log's tail.
"""

from __future__ import annotations

import contextlib
import fnmatch
import hashlib
import io
import json
import re
import shutil
import struct
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from mwaadeps.build.isolation import clean_env, uv_binary
from mwaadeps.build.lockfile import PROVIDED, Artifact, Lock, LockedPackage
from mwaadeps.errors import DownloadError, ResolutionError, WheelError
from mwaadeps.progress import NullReporter, Reporter
from mwaadeps.targets import Target

if TYPE_CHECKING:
    from mwaadeps.build.wheels import Downloader

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

TOOLCHAIN_IMAGE = "mwaadeps-base:bookworm-toolchain"
# The PEP 517 fallback when an sdist has no [build-system] table.
DEFAULT_BUILD_REQUIRES = ("setuptools>=40.8.0", "wheel")
DEFAULT_BACKEND = "setuptools.build_meta:__legacy__"
CACHE_SCHEMA = "1"
TRIAL_TIMEOUT_S = 600
_NO_PYTHON, _NO_GCC = 97, 98


@dataclass(frozen=True)
class SystemLibrary:
    """A system library family, as a build asks for it (header, -l, pkg-config, script)."""

    name: str
    headers: tuple[str, ...] = ()
    link: tuple[str, ...] = ()
    pkg_config: tuple[str, ...] = ()
    scripts: tuple[str, ...] = ()
    sonames: tuple[str, ...] = ()


# What MWAA's image has (AWS's image build: `dnf builddep python3`, MariaDB devel,
# postgresql-devel, libcurl-devel). Python's build dependencies bring the rest.
MWAA_LIBRARIES: tuple[SystemLibrary, ...] = (
    SystemLibrary("glibc and gcc's runtime", ("std*.h", "sys/*", "linux/*", "bits/*"),
                  ("c", "m", "pthread", "dl", "rt", "util", "gcc_s", "stdc++"), (), (),
                  ("libc.so", "libm.so", "libpthread.so", "libdl.so", "librt.so", "libutil.so",
                   "libgcc_s.so", "libstdc++.so", "ld-linux")),
    SystemLibrary("Python headers", ("Python.h", "python3*/*"), ("python3*",),
                  ("python3", "python3-embed", "python-3*"), ("python3-config",),
                  ("libpython3",)),
    SystemLibrary("MariaDB client (mysqlclient)", ("mysql.h", "mysql/*", "mariadb/*"),
                  ("mariadb", "mysqlclient"), ("mysqlclient", "mariadb", "libmariadb"),
                  ("mysql_config", "mariadb_config"), ("libmariadb.so", "libmysqlclient.so")),
    SystemLibrary("PostgreSQL client (libpq)", ("libpq-fe.h", "pg_config*.h", "postgresql/*"),
                  ("pq",), ("libpq",), ("pg_config",), ("libpq.so",)),
    SystemLibrary("libcurl", ("curl/*",), ("curl",), ("libcurl",), ("curl-config",),
                  ("libcurl.so",)),
    SystemLibrary("OpenSSL", ("openssl/*",), ("ssl", "crypto"), ("openssl", "libssl", "libcrypto"),
                  (), ("libssl.so", "libcrypto.so")),
    SystemLibrary("zlib", ("zlib.h", "zconf.h"), ("z",), ("zlib",), (), ("libz.so",)),
    SystemLibrary("bzip2", ("bzlib.h",), ("bz2",), ("bzip2",), (), ("libbz2.so",)),
    SystemLibrary("xz", ("lzma.h", "lzma/*"), ("lzma",), ("liblzma",), (), ("liblzma.so",)),
    SystemLibrary("libffi", ("ffi.h", "ffitarget.h"), ("ffi",), ("libffi",), (), ("libffi.so",)),
    SystemLibrary("SQLite", ("sqlite3.h",), ("sqlite3",), ("sqlite3",), (), ("libsqlite3.so",)),
    SystemLibrary("expat", ("expat.h",), ("expat",), ("expat",), (), ("libexpat.so",)),
    SystemLibrary("libuuid", ("uuid/*",), ("uuid",), ("uuid",), (), ("libuuid.so",)),
    SystemLibrary("ncurses and readline", ("curses.h", "ncurses*", "readline/*"),
                  ("ncurses*", "tinfo", "readline"), ("ncurses*", "readline"), (),
                  ("libncurses", "libtinfo.so", "libreadline.so")),
    SystemLibrary("gdbm", ("gdbm.h",), ("gdbm",), ("gdbm",), (), ("libgdbm.so",)),
)  # fmt: skip

# Sdist-only packages whose build needs one of MWAA's libraries: when this machine lacks its
# development files (their setup scripts stop before naming what is missing), the table says
# what MWAA has.
KNOWN_PACKAGES: dict[str, str] = {
    "mysqlclient": "MariaDB client (mysqlclient)",
    "psycopg2": "PostgreSQL client (libpq)",
    "pycurl": "libcurl",
}


@dataclass(frozen=True)
class CompiledOnMwaa:
    """An sdist bundled for MWAA to compile, and how mwaadeps knows it will."""

    name: str
    version: str
    filename: str
    sha256: str
    build_requires: tuple[str, ...]  # pinned build requirements, bundled as wheels
    build_wheels: tuple[Artifact, ...]
    checked: str  # how: "trial build in <image>", "trial build on this machine", "known ..."
    trial_built: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "filename": self.filename,
            "sha256": self.sha256,
            "build_requires": list(self.build_requires),
            "checked": self.checked,
            "trial_built": self.trial_built,
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> CompiledOnMwaa:
        return cls(raw["name"], raw["version"], raw["filename"], raw["sha256"],
                   tuple(raw["build_requires"]),
                   tuple(Artifact.from_dict(a) for a in raw["build_wheels"]),
                   raw["checked"], bool(raw["trial_built"]))  # fmt: skip


# -- the sdist's build system ------------------------------------------------------------


def _sdist_member(sdist: Path, name: str) -> str | None:
    """The text of <top>/<name> inside a .tar.gz or .zip sdist, or None."""
    try:
        if sdist.name.endswith(".zip"):
            with zipfile.ZipFile(sdist) as zf:
                for member in zf.namelist():
                    if len(PurePosixPath(member).parts) == 2 and member.endswith("/" + name):
                        return zf.read(member).decode("utf-8")
            return None
        with tarfile.open(sdist) as tar:
            for info in tar.getmembers():
                parts = PurePosixPath(info.name).parts
                if len(parts) == 2 and parts[1] == name and info.isfile():
                    fh = tar.extractfile(info)
                    return fh.read().decode("utf-8") if fh else None
    except (OSError, tarfile.TarError, zipfile.BadZipFile, UnicodeDecodeError) as exc:
        raise WheelError(f"{sdist.name} is not a readable sdist ({exc}).") from None
    return None


def build_system(sdist: Path) -> tuple[list[str], str]:
    """([build-system].requires, build-backend), with PEP 517's setuptools defaults."""
    text = _sdist_member(sdist, "pyproject.toml")
    if text is None:
        return list(DEFAULT_BUILD_REQUIRES), DEFAULT_BACKEND
    try:
        table = tomllib.loads(text).get("build-system")
    except tomllib.TOMLDecodeError as exc:
        raise WheelError(f"{sdist.name}: pyproject.toml is not valid TOML ({exc}).") from None
    if not isinstance(table, dict) or "requires" not in table:
        return list(DEFAULT_BUILD_REQUIRES), DEFAULT_BACKEND
    requires = [str(r) for r in table.get("requires") or []]
    backend = str(table.get("build-backend") or DEFAULT_BACKEND)
    if backend.startswith("setuptools.build_meta") and not any(
        _req_name(r) == "wheel" for r in requires
    ):
        # setuptools before 70.1 asks for `wheel` from get_requires_for_build_wheel.
        requires.append("wheel")
    return requires, backend


def _req_name(line: str) -> str:
    try:
        return canonicalize_name(Requirement(line).name)
    except InvalidRequirement:
        return ""


def dynamic_requires(sdist: Path, wheels_dir: Path, requires: Sequence[str],
                     backend: str) -> list[str]:  # fmt: skip
    """What the backend's get_requires_for_build_wheel adds, asked on this machine.

    Best effort: a setup script that cannot run here (e.g. it needs a library's
    development files) gives no extras, and the trial build is the proof.
    """
    hook = (
        "import importlib, json, sys\n"
        "sys.path[:0] = sys.argv[3:]\n"
        "mod, _, obj = sys.argv[1].partition(':')\n"
        "b = importlib.import_module(mod)\n"
        "for part in filter(None, obj.split('.')):\n"
        "    b = getattr(b, part)\n"
        "f = getattr(b, 'get_requires_for_build_wheel', None)\n"
        "print('@@requires ' + json.dumps(list(f({}) if f else [])))\n"
    )
    with tempfile.TemporaryDirectory(prefix="mwaadeps-hook-") as tmp:
        work = Path(tmp)
        try:
            source = _unpack(sdist, work / "src")
        except WheelError:
            return []
        venv = work / "venv"
        env = clean_env()
        steps = [
            [uv_binary(), "venv", "--no-config", "--python", sys.executable, str(venv)],
            [uv_binary(), "pip", "install", "--no-config", "--offline", "--no-index",
             "--find-links", str(wheels_dir), "--python", str(venv / "bin" / "python"),
             *requires],
        ]  # fmt: skip
        for cmd in steps:
            if subprocess.run(cmd, env=env, capture_output=True, check=False).returncode != 0:
                return []
        raw = _sdist_member(sdist, "pyproject.toml")
        paths: list[str] = []
        if raw:
            table = tomllib.loads(raw).get("build-system") or {}
            paths = [str(source / p) for p in table.get("backend-path") or []]
        try:
            proc = subprocess.run(
                [str(venv / "bin" / "python"), "-c", hook, backend, "x", *paths],
                cwd=source, env=env, capture_output=True, text=True, check=False, timeout=300,
            )  # fmt: skip
        except subprocess.TimeoutExpired:
            return []
        for line in proc.stdout.splitlines():
            if line.startswith("@@requires "):
                return [str(r) for r in json.loads(line[len("@@requires ") :])]
    return []


def _unpack(sdist: Path, dest: Path) -> Path:
    """The sdist's top folder, extracted under dest."""
    dest.mkdir(parents=True)
    try:
        if sdist.name.endswith(".zip"):
            with zipfile.ZipFile(sdist) as zf:
                zf.extractall(dest)
        else:
            with tarfile.open(sdist) as tar:
                if hasattr(tarfile, "data_filter"):
                    tar.extractall(dest, filter="data")
                else:  # Python < 3.10.12: plain files and folders inside dest only
                    safe = [
                        m
                        for m in tar.getmembers()
                        if (m.isfile() or m.isdir())
                        and not m.name.startswith("/")
                        and ".." not in m.name.split("/")
                    ]
                    tar.extractall(dest, members=safe)
    except (OSError, tarfile.TarError, zipfile.BadZipFile) as exc:
        raise WheelError(f"{sdist.name} cannot be unpacked ({exc}).") from None
    tops = [p for p in dest.iterdir() if p.is_dir()]
    return tops[0] if len(tops) == 1 else dest


# -- resolving and fetching the build requirements ------------------------------------------


def resolve_build_requires(
    what: str,
    requires: Sequence[str],
    target: Target,
    cache_dir: Path,
    index_urls: Sequence[str],
    secrets: Sequence[str] = (),
) -> dict[str, Artifact]:
    """Pinned build requirements for the target: name -> its target wheel.

    pip does not apply `-c` constraints to an isolated build, so neither does this.
    """
    from mwaadeps.build.resolvers import RESOLVERS
    from mwaadeps.build.resolvers.interface import ResolveJob
    from mwaadeps.choices import ResolverName

    if not requires:
        return {}
    job = ResolveJob(target=target, roots={"build": list(requires)}, constraints_text="",
                     essential_text="", excludes=(), index_urls=tuple(index_urls),
                     cache_dir=cache_dir / "uv", secrets=tuple(secrets))  # fmt: skip
    try:
        resolved = RESOLVERS[ResolverName.UV]().resolve(job)
    except ResolutionError as exc:
        raise WheelError(
            f"{what}: its build requirements ({', '.join(requires)}) cannot be resolved for "
            f"MWAA {target.airflow_version}:\n{exc.message}",
            hint="Put wheels of the build requirements on your index.",
        ) from None
    out: dict[str, Artifact] = {}
    for name, res in sorted(resolved.items()):
        if not res.wheels:
            raise WheelError(
                f"{what}: its build requirement {name} {res.version} has no wheel, and pip on "
                "MWAA installs build requirements from the find-links folder as wheels.",
                hint=f"Publish a wheel of {name} to your index.",
            )
        out[name] = sorted(res.wheels, key=lambda w: (len(w.filename), w.filename))[0]
    return out


def _fetch_into(artifacts: dict[str, Artifact], dest: Path, downloader: Downloader,
                target: Target) -> None:  # fmt: skip
    from mwaadeps.build.wheels import check_wheel_for_target

    dest.mkdir(parents=True, exist_ok=True)
    for name, artifact in artifacts.items():
        check_wheel_for_target(artifact.filename, target, name)
        path = downloader.fetch(artifact, name)
        if not (dest / artifact.filename).exists():
            shutil.copyfile(path, dest / artifact.filename)


# -- what a build log says is missing -------------------------------------------------------

_MISSING = (
    ("header", re.compile(r"fatal error: ([\w./+-]+\.h(?:pp)?): No such file or directory")),
    ("link", re.compile(r"cannot find -l([\w.+-]+)")),
    ("pkg_config", re.compile(r"Package '?([\w.+-]+?)'?,? (?:was not found|required by)")),
    ("pkg_config", re.compile(r"No package '([\w.+-]+)' found")),
    ("scripts", re.compile(r"\b([\w.+-]+[-_]config)\b[^\n]*(?:not found|No such file)")),
)


def missing_from_log(log: str) -> list[tuple[str, str]]:
    """(kind, name) of each system file a failed build looked for, in log order."""
    found: list[tuple[str, str]] = []
    for kind, pattern in _MISSING:
        for match in pattern.finditer(log):
            item = (kind, match.group(1))
            if item not in found:
                found.append(item)
    return found


def library_for(kind: str, name: str) -> SystemLibrary | None:
    """MWAA's library that provides a header, -l name, pkg-config name or config script."""
    for lib in MWAA_LIBRARIES:
        if kind == "soname":  # sonames are prefixes: libmariadb.so -> libmariadb.so.3
            if any(name.startswith(prefix) for prefix in lib.sonames):
                return lib
            continue
        patterns: tuple[str, ...] = getattr(lib, "headers" if kind == "header" else kind)
        if any(fnmatch.fnmatchcase(name, p) for p in patterns):
            return lib
    return None


def elf_needed(data: bytes) -> list[str] | None:
    """DT_NEEDED entries of a 64-bit little-endian ELF file; None when it is not one."""
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        return None
    try:
        (shoff,) = struct.unpack_from("<Q", data, 0x28)
        shentsize, shnum = struct.unpack_from("<HH", data, 0x3A)
        sections = [struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize)
                    for i in range(shnum)]  # fmt: skip
        out: list[str] = []
        for sec in sections:
            if sec[1] != 6:  # SHT_DYNAMIC
                continue
            strtab = sections[sec[6]]
            for off in range(sec[4], sec[4] + sec[5], 16):
                tag, val = struct.unpack_from("<qQ", data, off)
                if tag == 0:
                    break
                if tag == 1:  # DT_NEEDED
                    start = strtab[4] + val
                    out.append(data[start : data.index(b"\0", start)].decode())
        return out
    except (struct.error, IndexError, ValueError, UnicodeDecodeError):
        return None


def foreign_libraries(wheel: Path) -> list[str]:
    """Shared libraries a built wheel's extensions link that MWAA's image does not have."""
    foreign: list[str] = []
    with zipfile.ZipFile(wheel) as zf:
        for name in zf.namelist():
            if name.endswith(".so") or ".so." in name:
                for soname in elf_needed(zf.read(name)) or []:
                    if library_for("soname", soname) is None and soname not in foreign:
                        foreign.append(soname)
    return foreign


# -- trial builds ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Trial:
    """One build of the sdist from the bundled build requirements, with no network."""

    ok: bool
    where: str
    log: str
    wheel: Path | None = None
    usable: bool = True  # False: the place cannot stand for MWAA (wrong Python, no gcc)


def _host_trial(sdist: Path, wheels_dir: Path, out: Path) -> Trial:
    cmd = [uv_binary(), "build", "--wheel", "--no-config", "--offline", "--no-index",
           "--find-links", str(wheels_dir), "--python", sys.executable, "--out-dir", str(out),
           str(sdist)]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False,
                          env=clean_env(), timeout=TRIAL_TIMEOUT_S)  # fmt: skip
    wheels = sorted(out.glob("*.whl"))
    ok = proc.returncode == 0 and len(wheels) == 1
    return Trial(ok, "this machine", proc.stdout + proc.stderr, wheels[0] if ok else None)


def docker_image(target: Target, env: dict[str, str]) -> tuple[Any, str] | None:
    """(client, image) for a trial build in Docker, or None (no engine, no image, disabled).

    MWAADEPS_COMPILE_IMAGE names another image; `none` turns Docker trial builds off.
    """
    image = env.get("MWAADEPS_COMPILE_IMAGE", TOOLCHAIN_IMAGE)
    if not image or image.lower() == "none":
        return None
    try:
        import docker
        from docker.errors import DockerException

        client = docker.from_env(timeout=30)
        client.ping()
        client.images.get(image)
    except (ImportError, DockerException, OSError):
        return None
    except Exception:  # a half-configured engine (requests errors): no Docker trial
        return None
    return client, image


_TRIAL_SCRIPT = """\
v=$(python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')
[ "$v" = "$1" ] || { echo "image has Python $v"; exit 97; }
command -v gcc >/dev/null || { echo "image has no gcc"; exit 98; }
exec python3 -m pip wheel --no-index --find-links /tmp/mwaadeps/wheels --no-deps --no-cache-dir \
  --disable-pip-version-check -w /tmp/mwaadeps/out "/tmp/mwaadeps/$2"
"""


def _context_tar(sdist: Path, wheels_dir: Path) -> bytes:
    """mwaadeps/<sdist> and mwaadeps/wheels/*, readable by the unprivileged trial user."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        files = [(f"mwaadeps/{sdist.name}", sdist)]
        files += [(f"mwaadeps/wheels/{w.name}", w) for w in sorted(wheels_dir.glob("*.whl"))]
        for folder in ("mwaadeps", "mwaadeps/wheels", "mwaadeps/out"):
            info = tarfile.TarInfo(folder)
            info.type, info.mode, info.uid, info.gid = tarfile.DIRTYPE, 0o755, 65534, 65534
            tar.addfile(info)
        for name, path in files:
            data = path.read_bytes()
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.uid, info.gid = len(data), 0o644, 65534, 65534
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _docker_trial(client: Any, image: str, sdist: Path, wheels_dir: Path,
                  target: Target) -> Trial:  # fmt: skip
    """pip builds the sdist in the image as an unprivileged user, network off.

    The files are copied into the container (no bind mount: the engine may be remote).
    """
    from docker.errors import DockerException

    container = None
    try:
        container = client.containers.create(
            image, ["-c", _TRIAL_SCRIPT, "trial", target.python_version, sdist.name],
            entrypoint=["/bin/sh"], user="65534:65534",
            environment={"HOME": "/tmp", "PIP_NO_INPUT": "1"}, network_mode="none",
            labels={"mwaadeps.trial-build": sdist.name}, working_dir="/tmp",
        )  # fmt: skip
        container.put_archive("/tmp", _context_tar(sdist, wheels_dir))
        container.start()
        code = int(container.wait(timeout=TRIAL_TIMEOUT_S).get("StatusCode", 1))
        log = container.logs().decode("utf-8", "replace")
    except DockerException as exc:
        return Trial(False, f"image {image}", str(exc), usable=False)
    except Exception as exc:  # a timeout from the HTTP client
        return Trial(False, f"image {image}", str(exc), usable=False)
    finally:
        if container is not None:
            with contextlib.suppress(DockerException):
                container.remove(force=True)
    return Trial(code == 0, f"image {image}", log, usable=code not in (_NO_PYTHON, _NO_GCC))


# -- the decision ---------------------------------------------------------------------------


def _tail(log: str, lines: int = 8) -> str:
    return "\n".join(ln for ln in log.strip().splitlines()[-lines:])


def _lacks(pkg: LockedPackage, what: str, kind: str, where: str) -> WheelError:
    label = {"header": "the header", "link": "the library -l", "pkg_config": "pkg-config's",
             "scripts": "the program", "soname": "the shared library"}[kind]  # fmt: skip
    return WheelError(
        f"{pkg.name} {pkg.version} has no wheel for MWAA and its sdist needs a system library "
        f"MWAA's image lacks: {label}{'' if kind == 'link' else ' '}{what} (build in {where}). "
        "MWAA's image has: " + ", ".join(lib.name for lib in MWAA_LIBRARIES[2:5]) + ".",
        hint="Install the library's development package from a startup script (startup.sh, "
        "e.g. `sudo yum install -y <name>-devel`), or build a manylinux x86_64 wheel for "
        "the target and publish it on your private index (or a local-packages folder).",
    )


def decide(pkg: LockedPackage, sdist: Path, wheels_dir: Path, target: Target,
           docker: tuple[Any, str] | None) -> tuple[str, bool]:  # fmt: skip
    """(how it was checked, trial-built) when the sdist compiles on MWAA; else WheelError."""
    what = f"{pkg.name} {pkg.version}"
    with tempfile.TemporaryDirectory(prefix="mwaadeps-trial-out-") as tmp:
        trial = _docker_trial(*docker, sdist, wheels_dir, target) if docker else None
        if trial is None or not trial.usable:
            trial = _host_trial(sdist, wheels_dir, Path(tmp))
        if trial.ok:
            foreign = foreign_libraries(trial.wheel) if trial.wheel else []
            if foreign:
                raise _lacks(pkg, foreign[0], "soname", trial.where)
            if trial.where == "this machine" and sys.platform != "linux":
                return "built on this machine (not Linux: linked libraries unchecked)", False
            return f"trial build in {trial.where}", True
        missing = missing_from_log(trial.log)
        for kind, name in missing:
            if library_for(kind, name) is None:
                raise _lacks(pkg, name, kind, trial.where)
        libs = sorted({lib.name for k, n in missing if (lib := library_for(k, n))})
        known = KNOWN_PACKAGES.get(canonicalize_name(pkg.name))
        if not libs and known and trial.where == "this machine":
            libs = [known]
        if libs:
            return (f"not trial-built: {trial.where} lacks {', '.join(libs)}, which MWAA's "
                    "image has"), False  # fmt: skip
        raise WheelError(
            f"{what} has no wheel for MWAA and its sdist does not build with MWAA's toolchain "
            f"(trial build in {trial.where}, offline from its build requirements):\n"
            + _tail(trial.log),
            hint="Build a manylinux x86_64 wheel for the target and publish it on your index "
            "(or a local-packages folder), or pick a version of the package that publishes "
            "wheels.",
        )


def _cache_file(pkg: LockedPackage, target: Target, cache_dir: Path, docker: bool) -> Path:
    assert pkg.sdist is not None
    key = json.dumps([CACHE_SCHEMA, target.to_dict(), docker], sort_keys=True)
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    return cache_dir / "sdist" / pkg.sdist.sha256 / f"{digest}.json"


def cached_verdict(pkg: LockedPackage, target: Target, cache_dir: Path,
                   env: dict[str, str]) -> CompiledOnMwaa | None:  # fmt: skip
    """A verdict of an earlier build for this sdist and target (a warm build stays offline)."""
    if pkg.sdist is None:
        return None
    for docker in (True, False):
        path = _cache_file(pkg, target, cache_dir, docker)
        if path.is_file():
            try:
                return CompiledOnMwaa.from_dict(json.loads(path.read_text(encoding="utf-8")))
            except (ValueError, KeyError, TypeError):
                return None
    return None


def check_compiles(
    pkg: LockedPackage,
    sdist: Path,
    target: Target,
    cache_dir: Path,
    index_urls: Sequence[str] = (),
    env: dict[str, str] | None = None,
    reporter: Reporter | None = None,
    secrets: Sequence[str] = (),
    downloader: Downloader | None = None,
) -> CompiledOnMwaa:
    """Resolve and fetch the sdist's build requirements, then decide whether MWAA compiles it."""
    from mwaadeps.build.wheels import Downloader

    assert pkg.sdist is not None
    downloader = downloader or Downloader(cache_dir, index_urls)
    reporter = reporter or NullReporter()
    what = f"{pkg.name} {pkg.version} (sdist)"
    env = dict(env or {})
    requires, backend = build_system(sdist)
    with tempfile.TemporaryDirectory(prefix="mwaadeps-buildreq-") as tmp:
        wheels_dir = Path(tmp) / "wheels"
        pins = resolve_build_requires(what, requires, target, cache_dir, index_urls, secrets)
        _fetch_into(pins, wheels_dir, downloader, target)
        extra = [r for r in dynamic_requires(sdist, wheels_dir, requires, backend)
                 if _req_name(r) not in pins]  # fmt: skip
        if extra:
            pins = resolve_build_requires(
                what, [*requires, *extra], target, cache_dir, index_urls, secrets
            )
            _fetch_into(pins, wheels_dir, downloader, target)
        for stale in wheels_dir.iterdir():
            if stale.name not in {a.filename for a in pins.values()}:
                stale.unlink()
        docker = docker_image(target, env)
        reporter.step(
            f"Trial build of {pkg.name} {pkg.version} with MWAA's toolchain"
            + (f" in {docker[1]}" if docker else " on this machine")
        )
        checked, trial_built = decide(pkg, sdist, wheels_dir, target, docker)
    if not trial_built:
        reporter.warn(f"{pkg.name} {pkg.version}: bundled as an sdist for MWAA to compile; "
                      f"{checked}.")  # fmt: skip
    result = CompiledOnMwaa(
        pkg.name, pkg.version, pkg.sdist.filename, pkg.sdist.sha256,
        tuple(f"{n}=={_version_of(a)}" for n, a in sorted(pins.items())),
        tuple(pins[n] for n in sorted(pins)), checked, trial_built,
    )  # fmt: skip
    path = _cache_file(pkg, target, cache_dir, docker is not None)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = dict(result.to_dict(), build_wheels=[a.to_dict() for a in result.build_wheels])
    path.write_text(json.dumps(data, indent=1), encoding="utf-8")
    return result


def _version_of(artifact: Artifact) -> str:
    from packaging.utils import parse_wheel_filename

    return str(parse_wheel_filename(artifact.filename)[1])


def fetch_build_wheels(result: CompiledOnMwaa, downloader: Downloader,
                       target: Target) -> list[tuple[str, Path, Artifact]]:  # fmt: skip
    """(name, cached file, artifact) of each build requirement wheel, verified."""
    from mwaadeps.build.wheels import check_wheel_for_target

    out = []
    for req, artifact in zip(result.build_requires, result.build_wheels, strict=True):
        name = req.split("==")[0]
        check_wheel_for_target(artifact.filename, target, name)
        try:
            out.append((name, downloader.fetch(artifact, name), artifact))
        except DownloadError as exc:
            raise DownloadError(
                f"{result.name} {result.version}: build requirement {exc.message}",
                hint=exc.hint,
            ) from None
    return out


@dataclass(frozen=True)
class SdistOutlook:
    """A locked package that ships only an sdist, and what the bundle does with it."""

    name: str
    version: str
    compiles_on_mwaa: bool
    how: str

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "version": self.version,
                "compiles_on_mwaa": self.compiles_on_mwaa, "how": self.how}  # fmt: skip


def sdist_outlook(lock: Lock, target: Target, cache_dir: Path,
                  env: dict[str, str]) -> list[SdistOutlook]:  # fmt: skip
    """For `check`: the sdist-only packages of a lock, and whether MWAA compiles them.

    What an earlier build found is said as found; a package no build has decided yet is
    named with both outcomes (its pure-Python wheel, or MWAA compiles it).
    """
    if lock.target.get("airflow_version") != target.airflow_version:
        return []
    out = []
    for pkg in sorted(lock.packages, key=lambda p: p.name):
        if pkg.role == PROVIDED or pkg.wheel is not None or pkg.sdist is None:
            continue
        verdict = cached_verdict(pkg, target, cache_dir, env)
        built = cache_dir / "built" / pkg.sdist.sha256
        if verdict is not None:
            out.append(SdistOutlook(pkg.name, pkg.version, True, verdict.checked))
        elif built.is_dir() and any(built.glob("*-none-any.whl")):
            out.append(SdistOutlook(pkg.name, pkg.version, False,
                                    "built into its pure-Python wheel by mwaadeps"))  # fmt: skip
        else:
            out.append(SdistOutlook(pkg.name, pkg.version, False,
                                    "not built yet: `mwaadeps build` makes its pure-Python "
                                    "wheel, or bundles it for MWAA to compile"))  # fmt: skip
    return out
