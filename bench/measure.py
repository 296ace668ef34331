"""What the benchmark measures in a bundle, and small helpers (sizes, digests, subprocess)."""

from __future__ import annotations

import re
import subprocess
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)

from mwaadeps.digest import sha256_file
from mwaadeps.targets import Target, is_essential_name

SDIST_SUFFIXES = (".tar.gz", ".zip", ".tar.bz2", ".tgz")


def tree_bytes(folder: Path) -> int:
    """Total size of the files under folder (0 when missing)."""
    if not folder.exists():
        return 0
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink())


@dataclass
class ZipFacts:
    """What a plugins.zip holds, judged against the MWAA target."""

    zip_bytes: int
    sha256: str
    wheels: int
    wrong_platform: list[str] = field(default_factory=list)
    sdists: list[str] = field(default_factory=list)
    essential: list[str] = field(default_factory=list)  # essential packages bundled
    wheel_bytes: int = 0

    def to_dict(self) -> dict[str, object]:
        return {
            "zip_bytes": self.zip_bytes,
            "sha256": self.sha256,
            "wheels": self.wheels,
            "wrong_platform_wheels": len(self.wrong_platform),
            "wrong_platform_files": self.wrong_platform,
            "sdists": self.sdists,
            "essential_bundled": self.essential,
            "bundles_airflow": bool(self.essential),
        }


def inspect_zip(path: Path, target: Target) -> ZipFacts:
    """Wheels, wrong-platform wheels, sdists and essential packages at the zip's root."""
    facts = ZipFacts(path.stat().st_size, sha256_file(path), 0)
    with zipfile.ZipFile(path) as zf:
        for info in zf.infolist():
            name = info.filename
            if "/" in name.rstrip("/"):
                continue  # plugin subfolders: not distributions
            if name.endswith(".whl"):
                facts.wheels += 1
                facts.wheel_bytes += info.file_size
                try:
                    dist, _, _, wheel_tags = parse_wheel_filename(name)
                except InvalidWheelFilename:
                    facts.wrong_platform.append(name)
                    continue
                if not target.accepts(wheel_tags):
                    facts.wrong_platform.append(name)
                if is_essential_name(canonicalize_name(dist)):
                    facts.essential.append(name)
            elif name.endswith(SDIST_SUFFIXES):
                facts.sdists.append(name)
                try:
                    dist, _ = parse_sdist_filename(name)
                except InvalidSdistFilename:
                    continue
                if is_essential_name(canonicalize_name(dist)):
                    facts.essential.append(name)
    return facts


_PIP_DOWNLOAD = re.compile(r"^\s*Downloading \S+ \(([\d.]+) (bytes|kB|MB|GB)\)", re.M)
_UNITS = {"bytes": 1, "kB": 1000, "MB": 1000**2, "GB": 1000**3}


def pip_logged_bytes(output: str) -> int:
    """Bytes pip reports downloading ("Downloading x.whl (12.3 MB)"), rounded as pip prints."""
    return int(sum(float(n) * _UNITS[u] for n, u in _PIP_DOWNLOAD.findall(output)))


@dataclass
class Run:
    """One timed child process."""

    cmd: list[str]
    returncode: int
    seconds: float
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def tail(self, lines: int = 6) -> str:
        text = [
            ln
            for ln in (self.stderr.strip() or self.stdout.strip()).splitlines()
            if ln.strip() and not ln.startswith("[notice]")
        ]
        return "\n".join(text[-lines:])


def run(cmd: list[str], env: dict[str, str], cwd: Path | None = None, timeout: float = 1800) -> Run:
    started = time.monotonic()
    try:
        proc = subprocess.run(
            cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
        )
        code, out, err = proc.returncode, proc.stdout, proc.stderr
    except subprocess.TimeoutExpired as exc:
        code = -9
        out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        err = f"timed out after {timeout} s"
    return Run(cmd, code, time.monotonic() - started, out, err)
