"""Fixtures for the requirements parser and `mwaadeps check` tests (pure, no network)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from mwaadeps.build.constraints import Constraints, parse_constraints
from mwaadeps.targets import Target, resolve_target

# The data shipped inside mwaadeps (the repository's own copy).
MWAA_DATA = Path(__file__).resolve().parents[3] / "src" / "mwaadeps" / "data" / "mwaa"
CONSTRAINTS_292 = MWAA_DATA / "2.9.2" / "airflow-constraints.txt"

Writer = Callable[..., Path]


@pytest.fixture
def target() -> Target:
    return resolve_target("2.9.2")


@pytest.fixture(scope="session")
def constraints() -> Constraints:
    if not CONSTRAINTS_292.is_file():
        pytest.skip(f"the real 2.9.2 constraints are absent ({CONSTRAINTS_292})")
    text = CONSTRAINTS_292.read_text(encoding="utf-8")
    return parse_constraints(text, resolve_target("2.9.2"), str(CONSTRAINTS_292))


@pytest.fixture
def write(tmp_path: Path) -> Writer:
    """write(name, text_or_bytes) -> path under tmp_path (text written verbatim, LF)."""

    def _write(name: str, content: str | bytes) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        data = content if isinstance(content, bytes) else content.encode("utf-8")
        path.write_bytes(data)
        return path

    return _write
