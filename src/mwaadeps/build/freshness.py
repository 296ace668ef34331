"""Is dist/ still the build of the current inputs? Compare manifest.json "inputs" (the digests
`mwaadeps build` recorded) with the digests of the inputs as they are now.

Only the inputs that can be digested without the network are compared (requirements,
lock file, plugins folder, startup script); the constraints digest is left to `build`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mwaadeps.build.dist import input_digest
from mwaadeps.errors import BundleError

if TYPE_CHECKING:
    from mwaadeps.config import Settings

# The manifest's input names, as build.py writes them, and the setting each one comes from.
LOCAL_INPUTS = ("requirements.txt", "mwaadeps.lock", "plugins", "startup.sh")


class StaleBundleError(BundleError):
    """dist/ was built from inputs that have changed since."""

    code = "stale_bundle"


def current_inputs(settings: Settings) -> dict[str, str | None]:
    """Digest of each local input as it is now (None: absent)."""
    paths: dict[str, Path | None] = {
        "requirements.txt": settings.requirements,
        "mwaadeps.lock": settings.lock_file,
        "plugins": settings.plugins,
        "startup.sh": settings.startup_script,
    }
    return {name: input_digest(path) for name, path in paths.items()}


def recorded_inputs(dist_dir: Path) -> dict[str, str] | None:
    """manifest.json "inputs" of a bundle, or None when the bundle does not record them."""
    path = dist_dir / "manifest.json"
    if not path.is_file():
        return None
    try:
        data: Any = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BundleError(
            f"{path} is not valid JSON ({exc}).", hint="Rebuild with mwaadeps build."
        ) from None
    inputs = data.get("inputs") if isinstance(data, dict) else None
    if not isinstance(inputs, dict):
        return None
    return {str(k): str(v) for k, v in inputs.items()}


def stale_inputs(settings: Settings, dist_dir: Path) -> list[str]:
    """The inputs that changed (or appeared, or vanished) since dist_dir was built.

    Empty when the bundle is fresh, and when its manifest records no inputs (a bundle not
    made by `mwaadeps build` cannot be checked).
    """
    recorded = recorded_inputs(dist_dir)
    if recorded is None:
        return []
    now = current_inputs(settings)
    return [name for name in LOCAL_INPUTS if recorded.get(name) != now[name]]


def check_fresh(settings: Settings, dist_dir: Path, *, allow_stale: bool = False) -> list[str]:
    """Raise StaleBundleError when dist_dir is stale, unless allow_stale; the stale inputs."""
    stale = stale_inputs(settings, dist_dir)
    if stale and not allow_stale:
        raise StaleBundleError(
            f"{dist_dir} is stale: {', '.join(stale)} changed since it was built "
            f"({dist_dir / 'manifest.json'} records other digests).",
            hint="Run mwaadeps build again, or pass --allow-stale to use it anyway.",
        )
    return stale
