"""Every module imports on its own, in a fresh interpreter (no import cycles, no order)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "mwaadeps"
MODULES = sorted(
    "mwaadeps." + ".".join(p.relative_to(PACKAGE).with_suffix("").parts)
    for p in PACKAGE.rglob("*.py")
    if p.name != "__init__.py" and "data" not in p.relative_to(PACKAGE).parts
)


def test_the_package_has_its_modules() -> None:
    assert {"mwaadeps.cli.app", "mwaadeps.cli.bundle", "mwaadeps.cli.deploy"} <= set(MODULES)


@pytest.mark.parametrize("module", MODULES)
def test_module_imports_alone(module: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", f"import {module}"], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
