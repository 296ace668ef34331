"""Target-aware wheel fetching: a content-addressed cache, sha256 checks, tag checks,
pure-Python sdists turned into wheels, and compiled sdists bundled for MWAA to build."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from packaging.utils import InvalidWheelFilename, parse_wheel_filename

from mwaadeps.build.isolation import clean_env, index_args, uv_binary
from mwaadeps.build.lockfile import Artifact, LockedPackage
from mwaadeps.build.sdist import CompiledOnMwaa
from mwaadeps.digest import sha256_file
from mwaadeps.errors import DownloadError, RequirementsError, WheelError
from mwaadeps.progress import NullReporter, Reporter
from mwaadeps.redact import host_key, redact_text, redact_url, split_userinfo, strip_credentials
from mwaadeps.targets import Target

WORKERS = 8
RETRIES = 3
TIMEOUT_S = 60.0
REPRODUCIBLE_EPOCH = "315532800"  # 1980-01-01, the earliest zip timestamp
_SKIP_DIRS = {"build", "dist", "__pycache__", ".git", ".venv", ".tox", ".mypy_cache"}


@dataclass(frozen=True)
class FetchedWheel:
    """A wheel in the cache, ready to bundle."""

    name: str
    version: str
    path: Path
    sha256: str
    size: int
    from_sdist: bool = False
    # "wheel"; "sdist": bundled for MWAA to compile; "build": a build requirement's wheel.
    kind: str = "wheel"
    compiled: CompiledOnMwaa | None = None

    @property
    def filename(self) -> str:
        return self.path.name

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {
            "name": self.name,
            "version": self.version,
            "filename": self.filename,
            "sha256": self.sha256,
            "size": self.size,
        }
        if self.kind != "wheel":
            out["kind"] = self.kind
        return out


def check_wheel_for_target(filename: str, target: Target, package: str | None = None) -> None:
    """Raise WheelError unless the wheel's tags install on the target."""
    try:
        _, _, _, wheel_tags = parse_wheel_filename(filename)
    except InvalidWheelFilename as exc:
        raise WheelError(f"{filename} is not a valid wheel file name ({exc}).") from None
    if not target.accepts(wheel_tags):
        who = f"{package}: " if package else ""
        raise WheelError(
            f"{who}{filename} cannot install on MWAA {target.airflow_version} "
            f"(Linux x86_64, CPython {target.python_version}, glibc <= "
            f"{target.glibc[0]}.{target.glibc[1]}).",
            hint="Use a version of the package that publishes a manylinux x86_64 or "
            "pure-Python wheel.",
        )


_VAR = re.compile(r"\$\{(\w+)\}")


class Downloader:
    """HTTP downloads into a content-addressed cache, with index credentials and retries.

    A cached file is reused only when its size and sha256 still match the lock; one that
    does not (truncated, swapped) is deleted and fetched again.
    """

    def __init__(
        self,
        cache_dir: Path,
        index_urls: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.root = cache_dir / "files"
        self.downloaded_bytes = 0
        self.repaired: list[str] = []
        self._env = dict(os.environ if env is None else env)
        self._auth: dict[str, tuple[str, str]] = {}
        for url in index_urls:
            _, creds = strip_credentials(self._expand(url))
            if creds is not None and creds != ("", ""):
                self._auth.setdefault(host_key(url), creds)

    def _expand(self, url: str) -> str:
        """${VAR} in a URL's user:password part expanded from the environment (encoded)."""
        scheme, userinfo, rest = split_userinfo(url)
        if userinfo is None or "$" not in userinfo:
            return url

        def sub(match: re.Match[str]) -> str:
            return quote(self._env.get(match.group(1), ""), safe="")

        return f"{scheme}{_VAR.sub(sub, userinfo)}@{rest}"

    def cached(self, artifact: Artifact) -> Path:
        return self.root / artifact.sha256[:2] / artifact.sha256 / artifact.filename

    @staticmethod
    def intact(path: Path, artifact: Artifact) -> bool:
        """True when the file has the artifact's size (if known) and sha256."""
        try:
            size = path.stat().st_size
        except OSError:
            return False
        if artifact.size is not None and size != artifact.size:
            return False
        return bool(artifact.sha256) and sha256_file(path) == artifact.sha256

    def fetch(self, artifact: Artifact, package: str) -> Path:
        """The verified file, from the cache or downloaded."""
        dest = self.cached(artifact)
        damaged = False
        if artifact.sha256 and dest.is_file():
            if self.intact(dest, artifact):
                return dest
            # Truncated or swapped: never bundle it; fetch it again.
            dest.unlink(missing_ok=True)
            self.repaired.append(artifact.filename)
            damaged = True
        try:
            return self._fetch(artifact, package)
        except DownloadError as exc:
            if not damaged:
                raise
            raise DownloadError(
                f"{package}: the cached {artifact.filename} did not match the lock's sha256 "
                f"{artifact.sha256} (damaged or replaced); it was deleted, and fetching it "
                f"again failed: {exc.message}",
                hint="Run the command again when the index is reachable; mwaadeps never "
                "bundles a cached file that fails its check.",
            ) from None

    def _fetch(self, artifact: Artifact, package: str) -> Path:
        if artifact.path and not artifact.url:
            src = Path(artifact.path)
            if artifact.path.startswith("local:"):
                src = self.root.parent / "local" / "links" / artifact.path[len("local:") :]
            if not src.is_file():
                raise DownloadError(f"{package}: {src} no longer exists.")
            return self._store(src.read_bytes(), artifact, package)
        if not artifact.url:
            raise DownloadError(
                f"{package}: the lock has no URL for {artifact.filename}.",
                hint="Run `mwaadeps lock` again.",
            )
        last: Exception | None = None
        for attempt in range(RETRIES):
            try:
                data = self._get(artifact.url)
                return self._store(data, artifact, package)
            except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as exc:
                if isinstance(exc, urllib.error.HTTPError) and exc.code in (401, 403, 404):
                    last = exc
                    break
                last = exc
                time.sleep(0.5 * (2**attempt))
            except ValueError as exc:  # http.client.InvalidURL: its text may hold the URL
                last = OSError(f"invalid URL ({type(exc).__name__})")
                break
        reason = getattr(last, "reason", last)
        code = getattr(last, "code", None)
        raise DownloadError(
            f"{package}: downloading {redact_url(artifact.url)} failed"
            + (f" (HTTP {code})." if code else f": {redact_text(str(reason))}."),
            hint="Check your network or index credentials; cached wheels are reused, so "
            "running the command again resumes where it stopped.",
        )

    def _get(self, url: str) -> bytes:
        url, creds = strip_credentials(self._expand(url))
        headers = {"User-Agent": "mwaadeps"}
        if creds is None or creds == ("", ""):
            creds = self._auth.get(host_key(url), ("", ""))
        if creds != ("", ""):
            token = base64.b64encode(f"{creds[0]}:{creds[1]}".encode()).decode()
            headers["Authorization"] = f"Basic {token}"
        request = urllib.request.Request(url, headers=headers)
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as resp:
            data: bytes = resp.read()
        self.downloaded_bytes += len(data)
        return data

    def _store(self, data: bytes, artifact: Artifact, package: str) -> Path:
        actual = hashlib.sha256(data).hexdigest()
        if artifact.sha256 and actual != artifact.sha256:
            raise DownloadError(
                f"{package}: {artifact.filename} has sha256 {actual}, but the lock says "
                f"{artifact.sha256}.",
                hint="The file changed on the index, or a proxy altered it. Run `mwaadeps lock` "
                "again if the change is expected.",
            )
        dest = self.root / actual[:2] / actual / artifact.filename
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=".part-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp, 0o644)
            os.replace(tmp, dest)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return dest


BUILD_RECORD = "wheel.sha256"


def cached_build(out: Path) -> Path | None:
    """The wheel a previous build stored in `out` if it still matches its recorded sha256.

    A damaged entry (no record, truncated or replaced wheel) is removed: the caller builds
    again.
    """
    try:
        name, digest = (out / BUILD_RECORD).read_text(encoding="utf-8").split()
    except (OSError, ValueError):
        name = digest = ""
    wheel = out / name
    if name and "/" not in name and wheel.is_file() and sha256_file(wheel) == digest:
        return wheel
    if out.exists():
        shutil.rmtree(out, ignore_errors=True)
    return None


def store_build(wheel: Path, out: Path) -> Path:
    """Move a built wheel into `out` with its sha256 record, in one rename."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}-"))
    try:
        dest = tmp / wheel.name
        shutil.copyfile(wheel, dest)
        os.chmod(dest, 0o644)
        (tmp / BUILD_RECORD).write_text(f"{wheel.name} {sha256_file(dest)}\n", encoding="utf-8")
        os.chmod(tmp, 0o755)
        if out.exists():
            shutil.rmtree(out, ignore_errors=True)
        try:
            os.replace(tmp, out)
        except OSError:  # another build stored it meanwhile
            existing = cached_build(out)
            if existing is None:
                raise
            shutil.rmtree(tmp, ignore_errors=True)
            return existing
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out / wheel.name


def normalize_wheel(wheel: Path) -> None:
    """Rewrite a built wheel's entry modes (0644, 0755 when executable) and dates.

    Builders copy the mode of each file as the umask left it; the same source must give
    the same bytes whatever the umask.
    """
    with zipfile.ZipFile(wheel) as zf:
        infos = zf.infolist()
        entries = [(i, zf.read(i)) for i in infos]
    changed = False
    rebuilt = []
    for info, data in entries:
        mode = info.external_attr >> 16
        kind = stat.S_IFMT(mode) or (stat.S_IFDIR if info.is_dir() else stat.S_IFREG)
        perm = 0o755 if info.is_dir() or mode & 0o100 else 0o644
        new = zipfile.ZipInfo(info.filename, date_time=info.date_time)
        new.compress_type = info.compress_type
        new.create_system = 3
        new.external_attr = ((kind | perm) << 16) | (info.external_attr & 0xFFFF)
        changed = changed or new.external_attr != info.external_attr or info.create_system != 3
        rebuilt.append((new, data))
    if not changed:
        return
    tmp = wheel.with_name(f".{wheel.name}.part")
    with zipfile.ZipFile(tmp, "w") as out:
        for info, data in rebuilt:
            out.writestr(info, data)
    os.replace(tmp, wheel)


def _build_wheel(
    source: Path,
    out_dir: Path,
    what: str,
    index_urls: Sequence[str] = (),
    cache_dir: Path | None = None,
    extra_env: dict[str, str] | None = None,
) -> Path:
    """uv build --wheel, isolated from host config, reproducible timestamps.

    Build requirements come from the configured index (a private index must not be
    bypassed for the build backend), or uv's default when none is configured.
    """
    with tempfile.TemporaryDirectory(prefix="mwaadeps-build-") as tmp:
        cmd = [uv_binary(), "build", "--wheel", "--no-config", "--python", sys.executable]
        cmd += ["--out-dir", tmp, str(source)]
        if cache_dir is not None:
            cmd += ["--cache-dir", str(cache_dir / "uv")]
        # Credentials reach uv through its environment, never argv.
        idx_args, idx_env = index_args(index_urls)
        cmd += idx_args
        proc = subprocess.run(
            cmd,
            capture_output=True,
            text=True,
            check=False,
            env=clean_env(
                {"SOURCE_DATE_EPOCH": REPRODUCIBLE_EPOCH, **idx_env, **(extra_env or {})}
            ),
        )
        wheels = list(Path(tmp).glob("*.whl"))
        if proc.returncode != 0 or len(wheels) != 1:
            tail = redact_text("\n".join(proc.stderr.strip().splitlines()[-8:]))
            raise WheelError(
                f"{what}: building a wheel failed:\n{tail}",
                hint="Publish a wheel for it to your index, or fix the package's build.",
            )
        normalize_wheel(wheels[0])
        out_dir.mkdir(parents=True, exist_ok=True)
        dest = out_dir / wheels[0].name
        shutil.move(str(wheels[0]), dest)
        return dest


def _pure(filename: str) -> bool:
    _, _, _, wheel_tags = parse_wheel_filename(filename)
    return all(t.abi == "none" and t.platform == "any" for t in wheel_tags)


# A compiler that always fails: setup scripts whose C extension is optional (speed-ups)
# then fall back to their pure-Python build.
NO_COMPILER = {"CC": "false", "CXX": "false", "LDSHARED": "false"}


def wheel_from_sdist(
    pkg: LockedPackage,
    sdist: Path,
    cache_dir: Path,
    target: Target,
    index_urls: Sequence[str] = (),
    reporter: Reporter | None = None,
) -> Path:
    """A py3-none-any wheel built from a pure-Python sdist (cached by the sdist's sha256).

    An sdist whose C extension is optional is built again without a compiler, which gives
    its pure-Python wheel; one that needs compiling is an error naming the package.
    """
    assert pkg.sdist is not None
    out = cache_dir / "built" / pkg.sdist.sha256
    existing = cached_build(out)
    if existing is not None:
        return existing
    what = f"{pkg.name} {pkg.version} (sdist only)"
    with tempfile.TemporaryDirectory(prefix="mwaadeps-sdist-") as tmp:
        wheel = _build_wheel(sdist, Path(tmp) / "a", what, index_urls, cache_dir)
        if not _pure(wheel.name):
            compiled = wheel.name
            with contextlib.suppress(WheelError):
                rebuilt = _build_wheel(
                    sdist, Path(tmp) / "b", what, index_urls, cache_dir, NO_COMPILER
                )
                # Some setup scripts tag a wheel for the platform even without compiled code.
                wheel = retag_pure(rebuilt, Path(tmp) / "c") or rebuilt
            if not _pure(wheel.name):
                raise WheelError(
                    f"{pkg.name} {pkg.version} has no wheel for MWAA and its sdist needs "
                    f"compiling (it built {compiled}).",
                    hint=f"Build a manylinux x86_64 wheel for CPython {target.python_version} "
                    "(e.g. in the runner image) and put it in a local-packages/find-links "
                    "folder, or pick a version of the package that publishes wheels.",
                )
            if reporter is not None:
                reporter.warn(
                    f"{pkg.name} {pkg.version}: built its pure-Python wheel without the optional "
                    "C speed-ups (no wheel for MWAA was published)."
                )
        return store_build(wheel, out)


_BINARY_SUFFIXES = (".so", ".pyd", ".dll", ".dylib")


def retag_pure(wheel: Path, out_dir: Path) -> Path | None:
    """A py3-none-any copy of a platform-tagged wheel that holds no compiled code, else None."""
    name, version, build, _ = parse_wheel_filename(wheel.name)
    with zipfile.ZipFile(wheel) as zf:
        infos = zf.infolist()
        if any(i.filename.endswith(_BINARY_SUFFIXES) or ".so." in i.filename for i in infos):
            return None
        files = {i.filename: zf.read(i.filename) for i in infos if not i.is_dir()}
    dist_info = next(n.split("/")[0] for n in files if n.split("/")[0].endswith(".dist-info"))
    wheel_meta = f"{dist_info}/WHEEL"
    lines = [
        ln
        for ln in files[wheel_meta].decode().splitlines()
        if ln.strip() and not ln.startswith(("Tag:", "Root-Is-Purelib:"))
    ]
    lines += ["Root-Is-Purelib: true", "Tag: py3-none-any"]
    files[wheel_meta] = ("\n".join(lines) + "\n").encode()
    record = f"{dist_info}/RECORD"
    rows = []
    for row in files[record].decode().splitlines():
        path = row.split(",", 1)[0]
        if path == wheel_meta:
            digest = base64.urlsafe_b64encode(hashlib.sha256(files[wheel_meta]).digest())
            row = f"{path},sha256={digest.decode().rstrip('=')},{len(files[wheel_meta])}"
        rows.append(row)
    files[record] = ("\n".join(rows) + "\n").encode()
    tag = f"-{build[0]}{build[1]}" if build else ""
    dist = name.replace("-", "_")
    out_dir.mkdir(parents=True, exist_ok=True)
    dest = out_dir / f"{dist}-{version}{tag}-py3-none-any.whl"
    with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(files, key=lambda n: (n.startswith(dist_info), n)):
            info = zipfile.ZipInfo(path, date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, files[path])
    return dest


def tree_digest(folder: Path) -> str:
    """sha256 of a source tree (paths and contents), ignoring build outputs."""
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if any(part in _SKIP_DIRS or part.endswith(".egg-info") for part in rel.parts):
            continue
        if path.is_file():
            digest.update(rel.as_posix().encode() + b"\0")
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def _ignore_build_outputs(_dir: str, names: list[str]) -> set[str]:
    return {n for n in names if n in _SKIP_DIRS or n.endswith(".egg-info")}


def build_local_package(
    folder: Path, cache_dir: Path, reporter: Reporter, index_urls: Sequence[str] = ()
) -> Path:
    """A wheel of a local source folder (cached by the tree's digest); it must be pure."""
    if not folder.is_dir():
        raise WheelError(
            f"Local package folder {folder} does not exist.",
            hint="Fix local-packages in mwaadeps.toml.",
        )
    out = cache_dir / "local" / tree_digest(folder)
    cached = cached_build(out)
    if cached is not None:
        wheel = cached
    else:
        reporter.step(f"Building local package {folder.name}")
        # Build from a copy: setuptools would leave build/ and *.egg-info in the user's tree.
        with tempfile.TemporaryDirectory(prefix="mwaadeps-src-") as tmp:
            source = Path(tmp) / folder.name
            shutil.copytree(folder, source, ignore=_ignore_build_outputs)
            built = _build_wheel(
                source, Path(tmp) / "out", f"local package {folder}", index_urls, cache_dir
            )
            if not _pure(built.name):
                raise WheelError(
                    f"Local package {folder} built {built.name}, which is not pure Python.",
                    hint="Build it as a manylinux x86_64 wheel for the target instead.",
                )
            wheel = store_build(built, out)
    # Every local wheel also sits in one find-links folder for the resolver.
    links = cache_dir / "local" / "links"
    links.mkdir(parents=True, exist_ok=True)
    linked = links / wheel.name
    if not linked.is_file() or sha256_file(linked) != sha256_file(wheel):
        for old in links.glob(wheel.name.split("-")[0] + "-*.whl"):
            old.unlink()
        fd, tmp_link = tempfile.mkstemp(dir=links, prefix=".part-")
        os.close(fd)
        shutil.copyfile(wheel, tmp_link)
        os.chmod(tmp_link, 0o644)
        os.replace(tmp_link, linked)
    return linked


UserHashes = Mapping[str, tuple[str, tuple[str, ...]]]


def check_user_hashes(
    hashes: UserHashes, name: str, filename: str, sha256: str, path: Path | None = None
) -> None:
    """Raise RequirementsError unless one of the user's --hash values for `name` matches
    the file (hashes: name -> (file:line, ("sha256:hex", ...))).

    Without `path` (a file not downloaded yet) only sha256 values can be checked.
    """
    entry = hashes.get(name)
    if entry is None:
        return
    origin, allowed = entry
    if path is None and not any(v.startswith("sha256:") for v in allowed):
        return  # only sha384/sha512 values: checked once the file is downloaded
    digests = {"sha256": sha256}
    for value in allowed:
        algo, _, hexdigest = value.partition(":")
        if algo not in digests and algo in ("sha384", "sha512") and path is not None:
            digests[algo] = hashlib.new(algo, path.read_bytes()).hexdigest()
        if digests.get(algo) == hexdigest.lower():
            return
    raise RequirementsError(
        f"{origin}: {filename} has sha256 {sha256}, which none of the --hash values of "
        f"{name} allows.",
        hint="The file differs from the one you pinned: check the index, or update the "
        "--hash values if the change is expected.",
    )


def fetch_all(
    packages: Sequence[LockedPackage],
    target: Target,
    cache_dir: Path,
    index_urls: Sequence[str] = (),
    reporter: Reporter | None = None,
    workers: int = WORKERS,
    *,
    compile_sdists: bool = True,
    user_hashes: UserHashes | None = None,
    env: Mapping[str, str] | None = None,
    secrets: Sequence[str] = (),
) -> tuple[list[FetchedWheel], int]:
    """Every package as a verified target wheel, in parallel; (wheels, bytes downloaded).

    compile_sdists: an sdist that needs compiling and builds with MWAA's toolchain is
    returned as itself (kind "sdist") plus its build requirements' wheels (kind "build");
    without it, such an sdist is an error (an image that installs wheels only).
    user_hashes: the --hash values of the user's requirements, checked on what is fetched.
    """
    from mwaadeps.build import sdist as sdists

    reporter = reporter or NullReporter()
    hashes = user_hashes or {}
    env = dict(env or {})
    downloader = Downloader(cache_dir, index_urls, env)
    for pkg in packages:
        if pkg.wheel is not None:
            check_wheel_for_target(pkg.wheel.filename, target, pkg.name)
        elif pkg.sdist is None:
            raise WheelError(
                f"{pkg.name} {pkg.version} has neither a wheel nor an sdist.",
                hint="Run `mwaadeps lock` again.",
            )

    def compiled(pkg: LockedPackage, path: Path, verdict: CompiledOnMwaa) -> list[FetchedWheel]:
        assert pkg.sdist is not None
        out = [FetchedWheel(pkg.name, pkg.version, path, pkg.sdist.sha256, path.stat().st_size,
                            kind="sdist", compiled=verdict)]  # fmt: skip
        for name, wheel, artifact in sdists.fetch_build_wheels(verdict, downloader, target):
            version = str(parse_wheel_filename(artifact.filename)[1])
            out.append(FetchedWheel(name, version, wheel, artifact.sha256, wheel.stat().st_size,
                                    kind="build"))  # fmt: skip
        return out

    def one(pkg: LockedPackage) -> list[FetchedWheel]:
        if pkg.wheel is not None:
            path = downloader.fetch(pkg.wheel, pkg.name)
            check_user_hashes(hashes, pkg.name, path.name, pkg.wheel.sha256, path)
            size = path.stat().st_size
            return [FetchedWheel(pkg.name, pkg.version, path, pkg.wheel.sha256, size)]
        assert pkg.sdist is not None
        sdist = downloader.fetch(pkg.sdist, pkg.name)
        check_user_hashes(hashes, pkg.name, sdist.name, pkg.sdist.sha256, sdist)
        if compile_sdists:
            verdict = sdists.cached_verdict(pkg, target, cache_dir, env)
            if verdict is not None:
                return compiled(pkg, sdist, verdict)
        try:
            wheel = wheel_from_sdist(pkg, sdist, cache_dir, target, index_urls, reporter)
        except WheelError:
            if not compile_sdists:
                raise
            verdict = sdists.check_compiles(
                pkg, sdist, target, cache_dir, index_urls, env, reporter, secrets, downloader
            )
            return compiled(pkg, sdist, verdict)
        check_wheel_for_target(wheel.name, target, pkg.name)
        return [FetchedWheel(pkg.name, pkg.version, wheel, sha256_file(wheel),
                             wheel.stat().st_size, from_sdist=True)]  # fmt: skip

    results: dict[str, FetchedWheel] = {}
    total = len(packages)
    done = 0
    reporter.step(f"Fetching {total} wheels")
    with ThreadPoolExecutor(max(1, workers)) as pool:
        futures = {pool.submit(one, pkg): pkg for pkg in packages}
        try:
            for future in as_completed(futures):
                for item in future.result():
                    # Two sdists may share a build requirement (or it is a package too).
                    kept = results.get(item.filename)
                    if kept is None or (kept.kind == "build" and item.kind != "build"):
                        results[item.filename] = item
                done += 1
                reporter.advance("Fetching wheels", done, total)
        except BaseException:
            for future in futures:
                future.cancel()
            raise
    for filename in downloader.repaired:
        reporter.warn(f"The cached {filename} failed its sha256 check; it was fetched again.")
    return sorted(results.values(), key=lambda w: w.filename), downloader.downloaded_bytes
