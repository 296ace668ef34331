"""Build the MWAA-like runner image (Docker SDK), with no network during the build.

The image: the base's build toolchain (gcc, Python headers, MariaDB/PostgreSQL/libcurl
development files, as MWAA's image), an ``airflow`` user whose home is /usr/local/airflow
(= AIRFLOW_HOME), the pip MWAA's image has, MWAA's base install (Airflow and the providers it
preinstalls, with the version's constraints and essential pins) in the airflow user's site as
pip's non-root fallback puts it, and MWAA's constraints files at MWAA's paths. The wheels come from
mwaadeps' target-aware downloader and are copied into the build context.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mwaadeps.build.isolation import clean_env
from mwaadeps.config import Settings
from mwaadeps.errors import DockerError, DownloadError
from mwaadeps.localtest.docker import RUNNER_REPO, docker_client
from mwaadeps.progress import NullReporter, Reporter
from mwaadeps.targets import Target

SCHEMA = "2"
LABEL_INPUTS = "mwaadeps.runner.inputs"
ETC = "/usr/local/airflow/.local/etc"

# pip in MWAA's images, per Airflow version. The image build upgrades pip without a pin,
# so each image has the pip that was current when AWS built it; a version missing here
# takes the row of the nearest lower known version.
MWAA_PIP: dict[str, str] = {
    "2.4.3": "22.3.1",
    "2.5.1": "22.3.1",
    "2.6.3": "22.3.1",
    "2.7.2": "23.3.1",
    "2.8.1": "23.3.2",
    "2.9.2": "24.0",
    "2.10.1": "24.2",
    "2.10.3": "24.3.1",
    "2.11.0": "25.1.1",
    "2.11.2": "25.2",
    "3.0.6": "25.2",
    "3.2.1": "25.3",
    "3.3.1": "25.3",
}

WheelFetcher = Callable[[Settings, Path, Reporter], list[Path]]

_DOCKERFILE = """\
FROM {base}
USER root
RUN python3 -c "import sys; v = '%d.%d' % sys.version_info[:2]; \\
sys.exit(0 if v == '{python}' else 'base image has Python ' + v + ', the target needs {python}')"
RUN id airflow >/dev/null 2>&1 || useradd --create-home --home-dir /usr/local/airflow \\
    --shell /bin/bash airflow
ENV AIRFLOW_VERSION={airflow} \\
    AIRFLOW_USER_HOME=/usr/local/airflow \\
    AIRFLOW_HOME=/usr/local/airflow \\
    AIRFLOW_CONSTRAINTS_FILE={etc}/airflow_constraints.txt \\
    MWAA_ESSENTIAL_CONSTRAINTS_FILE={etc}/mwaa_essential_constraints.txt \\
    PATH=/usr/local/airflow/.local/bin:$PATH
COPY wheels /tmp/mwaadeps-wheels
RUN python3 -m pip install --no-index --no-deps --disable-pip-version-check \\
    /tmp/mwaadeps-wheels/{pip_wheel}
COPY etc {etc}
RUN chown -R airflow /usr/local/airflow/.local
USER airflow
RUN python3 -m pip install --user --no-index --no-deps --no-cache-dir \\
    --no-warn-script-location --disable-pip-version-check \\
    $(ls /tmp/mwaadeps-wheels/*.whl | grep -v '/{pip_wheel}$') \\
 && python3 -m pip check
USER root
RUN rm -rf /tmp/mwaadeps-wheels /root/.cache/pip /usr/local/airflow/.cache/pip
USER airflow
WORKDIR /usr/local/airflow
"""


@dataclass(frozen=True)
class RunnerImage:
    """The result of `runner build`: the image and whether it was (re)built."""

    tag: str
    image_id: str
    built: bool
    inputs_hash: str
    airflow_version: str
    python_version: str
    pip_version: str
    base_image: str
    wheels: int

    def to_dict(self) -> dict[str, Any]:
        return {"tag": self.tag, "image_id": self.image_id, "built": self.built,
                "inputs_hash": self.inputs_hash, "airflow_version": self.airflow_version,
                "python_version": self.python_version, "pip_version": self.pip_version,
                "base_image": self.base_image, "wheels": self.wheels}  # fmt: skip


def pip_version_for(target: Target) -> str:
    """The pip MWAA's image has for the target's Airflow version."""
    from packaging.version import Version

    if target.airflow_version in MWAA_PIP:
        return MWAA_PIP[target.airflow_version]
    wanted = Version(target.airflow_version)
    lower = [v for v in MWAA_PIP if Version(v) <= wanted]
    key = max(lower, key=Version) if lower else min(MWAA_PIP, key=Version)
    return MWAA_PIP[key]


# How to get a base image where no registry can be reached (PRIVATE_ONLY networks, CI).
BASE_IMAGE_HOWTO = (
    "Without a registry, make one from Debian (bookworm has Python 3.11), with MWAA's build "
    "toolchain: `sudo debootstrap --variant=minbase --include=python3,python3-pip,"
    "python3-venv,ca-certificates,gcc,make,libc6-dev,python3-dev,pkg-config,libmariadb-dev,"
    "libmariadb-dev-compat,libpq-dev,libcurl4-openssl-dev bookworm rootfs && sudo rm "
    "rootfs/usr/lib/python3*/EXTERNALLY-MANAGED && sudo tar -C rootfs -c . | docker import "
    "- mwaadeps-base:bookworm-toolchain`, then pass --base-image "
    "mwaadeps-base:bookworm-toolchain (or use an image your registry mirrors)."
)


def default_base_image(target: Target) -> str:
    """A base with the target's Python and MWAA's build toolchain (pip compiles sdists).

    Python 3.11 targets: scripts/ensure-docker.sh's debootstrapped bookworm with gcc, the
    Python headers, pkg-config and the MariaDB, PostgreSQL and libcurl development files.
    Others: the official full (not slim) Python image, which has the same toolchain.
    """
    from mwaadeps.build.sdist import TOOLCHAIN_IMAGE

    if target.python_version == "3.11":
        return TOOLCHAIN_IMAGE
    return f"python:{target.python_full}-bookworm"


def default_tag(target: Target) -> str:
    return f"{RUNNER_REPO}:{target.airflow_version}"


def _default_fetcher(python_full: str) -> WheelFetcher:
    """mwaadeps' own target-aware downloader, resolving markers for the base's Python."""
    from mwaadeps.build.pipeline import fetch_base_wheels

    def fetch(settings: Settings, dest: Path, reporter: Reporter) -> list[Path]:
        return fetch_base_wheels(settings, dest, reporter, python_full=python_full)

    return fetch


def base_python(client: Any, base: str) -> str:
    """The full Python version of a base image (e.g. 3.11.2), run with no network."""
    from docker.errors import DockerException

    probe = "import platform; print(platform.python_version())"
    try:
        out = client.containers.run(
            base, ["python3", "-c", probe], network_mode="none", remove=True, user="0"
        )
    except DockerException as exc:
        raise DockerError(
            f"Cannot run python3 in base image {base}: {exc}.",
            hint="Pass --base-image with an image that has the target's Python and pip.",
        ) from None
    version = out.decode().strip() if isinstance(out, bytes) else str(out).strip()
    if not re.fullmatch(r"3\.\d+\.\d+", version):
        raise DockerError(f"Base image {base} reports Python {version!r}.")
    return version


def _ensure_base(client: Any, base: str, reporter: Reporter) -> str:
    """The base image's id; pulled when missing."""
    from docker.errors import APIError, ImageNotFound

    try:
        return str(client.images.get(base).id)
    except ImageNotFound:
        pass
    reporter.step(f"Pulling {base}")
    try:
        return str(client.images.pull(base).id)
    except (APIError, ImageNotFound) as exc:
        raise DockerError(
            f"Base image {base} is not in the local engine and cannot be pulled: {exc}.",
            hint="Pass --base-image with an image you have that has the target's Python and "
            f"pip. {BASE_IMAGE_HOWTO}",
        ) from None


def _fetch_pip(settings: Settings, version: str, reporter: Reporter) -> Path:
    """The pip wheel of MWAA's pip version, from the cache or the package index."""
    dest = settings.cache_dir / "runner" / "pip"
    found = sorted(dest.glob(f"pip-{version}-*.whl"))
    if found:
        return found[0]
    dest.mkdir(parents=True, exist_ok=True)
    reporter.step(f"Downloading pip {version}")
    cmd = [sys.executable, "-m", "pip", "download", f"pip=={version}", "--no-deps",
           "--only-binary=:all:", "--dest", str(dest)]  # fmt: skip
    proc = subprocess.run(cmd, env=clean_env(), capture_output=True, text=True, check=False)
    found = sorted(dest.glob(f"pip-{version}-*.whl"))
    if proc.returncode != 0 or not found:
        last = (proc.stderr.strip().splitlines() or [""])[-1]
        raise DownloadError(
            f"Cannot download pip {version}: {last or f'exit {proc.returncode}'}.",
            hint="Check access to the package index (mwaadeps ignores the host's pip config).",
        )
    return found[0]


def inputs_hash(target: Target, base_id: str, constraints_sha: str, essential: str,
                pip_version: str) -> str:  # fmt: skip
    """What decides the image's content; an unchanged hash means nothing to rebuild."""
    payload = {
        "schema": SCHEMA, "dockerfile": _DOCKERFILE, "base": base_id,
        "airflow": target.airflow_version, "python": target.python_version,
        "constraints": constraints_sha, "essential": essential, "pip": pip_version,
        "base_requirements": target.base_requirements(),
    }  # fmt: skip
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def build_runner_image(
    settings: Settings,
    *,
    base_image: str | None = None,
    tag: str | None = None,
    reporter: Reporter | None = None,
    fetch_wheels: WheelFetcher | None = None,
    client: Any = None,
) -> RunnerImage:
    """Build (or find unchanged) the runner image for settings.target, without network."""
    from docker.errors import APIError, BuildError

    from mwaadeps.build.constraints import load_constraints

    reporter = reporter or NullReporter()
    target = settings.target
    base = base_image or default_base_image(target)
    tag = tag or default_tag(target)
    client = client or docker_client()
    constraints = load_constraints(settings, reporter)
    essential = constraints.essential_text()
    pip_version = pip_version_for(target)
    base_id = _ensure_base(client, base, reporter)
    python_full = base_python(client, base)
    if not python_full.startswith(target.python_version + "."):
        raise DockerError(
            f"Base image {base} has Python {python_full}; MWAA {target.airflow_version} runs "
            f"Python {target.python_full}.",
            hint=f"Pass --base-image with a Python {target.python_version} image.",
        )
    digest = inputs_hash(target, base_id, constraints.sha256, essential, pip_version)

    def result(image: Any, built: bool, wheels: int) -> RunnerImage:
        return RunnerImage(tag, str(image.id), built, digest, target.airflow_version,
                           target.python_version, pip_version, base, wheels)  # fmt: skip

    try:
        existing = client.images.get(tag)
    except Exception:  # ImageNotFound or a broken reference: build
        existing = None
    if existing is not None and (existing.labels or {}).get(LABEL_INPUTS) == digest:
        reporter.step(f"{tag} is up to date")
        return result(existing, False, int(existing.labels.get("mwaadeps.runner.wheels", 0)))

    with tempfile.TemporaryDirectory(prefix="mwaadeps-runner-") as tmp:
        ctx = Path(tmp)
        wheels_dir = ctx / "wheels"
        wheels_dir.mkdir()
        reporter.step(f"Collecting MWAA's base install for Airflow {target.airflow_version}")
        fetcher = fetch_wheels or _default_fetcher(python_full)
        fetched = fetcher(settings, wheels_dir, reporter)
        for path in fetched:
            if Path(path).parent != wheels_dir:
                _link_or_copy(Path(path), wheels_dir / Path(path).name)
        pips = [p for p in wheels_dir.glob("pip-*.whl") if p.name.startswith(f"pip-{pip_version}-")]
        for stray in wheels_dir.glob("pip-*.whl"):
            if stray not in pips:
                stray.unlink()
        if not pips:
            pip_wheel = _fetch_pip(settings, pip_version, reporter)
            _link_or_copy(pip_wheel, wheels_dir / pip_wheel.name)
            pips = [wheels_dir / pip_wheel.name]
        for wheel in wheels_dir.iterdir():
            wheel.chmod(0o644)  # COPY keeps modes: the airflow user must read them
        count = len(list(wheels_dir.glob("*.whl")))
        etc = ctx / "etc"
        etc.mkdir()
        (etc / "airflow_constraints.txt").write_text(constraints.text, encoding="utf-8")
        (etc / "mwaa_essential_constraints.txt").write_text(essential, encoding="utf-8")
        (ctx / "Dockerfile").write_text(
            _DOCKERFILE.format(base=base, python=target.python_version, etc=ETC,
                               airflow=target.airflow_version, pip_wheel=pips[0].name),
            encoding="utf-8",
        )  # fmt: skip
        labels = {LABEL_INPUTS: digest, "mwaadeps.runner.wheels": str(count),
                  "mwaadeps.airflow_version": target.airflow_version,
                  "mwaadeps.python_version": target.python_version,
                  "mwaadeps.pip_version": pip_version}  # fmt: skip
        reporter.step(f"Building {tag} from {base} ({count} wheels, no network)")
        image_id = _build(client, ctx, tag, labels, reporter)
    try:
        image = client.images.get(image_id)
    except (APIError, BuildError) as exc:
        raise DockerError(f"Built {tag} but cannot read it back: {exc}.") from None
    return result(image, True, count)


def _link_or_copy(src: Path, dest: Path) -> None:
    """A private copy (never a hard link: its mode is changed for the build)."""
    if not dest.exists():
        shutil.copyfile(src, dest)


def _build(client: Any, ctx: Path, tag: str, labels: dict[str, str], reporter: Reporter) -> str:
    """Run the build, streaming its output; the new image's id."""
    from docker.errors import APIError

    image_id: str | None = None
    last: list[str] = []
    try:
        stream = client.api.build(path=str(ctx), tag=tag, labels=labels, rm=True, forcerm=True,
                                  network_mode="none", pull=False, decode=True)  # fmt: skip
        for chunk in stream:
            text = chunk.get("stream") or ""
            for line in text.splitlines():
                if line.strip():
                    reporter.log(line)
                    last = [*last[-19:], line]
            if "aux" in chunk and isinstance(chunk["aux"], dict) and chunk["aux"].get("ID"):
                image_id = str(chunk["aux"]["ID"])
            if "error" in chunk:
                detail = str(chunk.get("error") or "").strip()
                raise DockerError(
                    f"Building {tag} failed: {detail}\n" + "\n".join(last[-10:]),
                    hint="A base image needs the target's Python and pip (--base-image); "
                    "a pip error names the wheel that does not fit; a `pip check` failure "
                    "usually means the base's Python patch level differs from MWAA's.",
                )
    except APIError as exc:
        raise DockerError(f"Building {tag} failed: {exc.explanation or exc}.") from None
    if image_id is None:
        image_id = str(client.images.get(tag).id)
    return image_id
