"""Adversarial suites. A package (its deploy tests import `.conftest`); its own helper
modules (advkit, buildfix, localtest_fixtures) are imported by name, so this folder is on
sys.path too."""

import sys
from pathlib import Path

_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)
