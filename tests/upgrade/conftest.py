"""upgrade tests run the CLI like the build tests do: buildkit's helpers, shared here."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "build"))
