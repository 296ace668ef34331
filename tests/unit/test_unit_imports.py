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


def _private_imports(path: Path) -> list[str]:
    """`from mwaadeps.x import _name` lines of a source file (private names of another module)."""
    import ast

    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("mwaadeps"):
            found += [
                f"{path.name}:{node.lineno}: {node.module}.{a.name}"
                for a in node.names
                if a.name.startswith("_") and not a.name.startswith("__")
            ]
    return found


def test_modules_share_only_public_names() -> None:
    """A helper another module needs is public where it lives."""
    found = [line for p in sorted(PACKAGE.rglob("*.py")) for line in _private_imports(p)]
    assert found == []


def test_the_private_import_check_sees_one(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("from mwaadeps.deploy.models import ARTIFACTS, _hidden\n")
    assert _private_imports(sample) == ["sample.py:1: mwaadeps.deploy.models._hidden"]
