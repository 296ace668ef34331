"""audit tests run the CLI like the build tests do: buildkit's helpers and fixtures."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "build"))

from buildkit import fake_index, happy_build, shared_cache  # noqa: F401
