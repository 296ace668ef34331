"""Fixtures for the corpus tests: the 2.9.2 target and its real constraints."""

from __future__ import annotations

from pathlib import Path

import pytest

from mwaadeps.build.constraints import Constraints, parse_constraints
from mwaadeps.targets import resolve_target

# The data shipped inside mwaadeps (the repository's own copy).
MWAA_DATA = Path(__file__).resolve().parents[2] / "src" / "mwaadeps" / "data" / "mwaa"
CONSTRAINTS_292 = MWAA_DATA / "2.9.2" / "airflow-constraints.txt"


@pytest.fixture(scope="session")
def corpus_constraints() -> Constraints:
    if not CONSTRAINTS_292.is_file():
        pytest.skip(f"the real 2.9.2 constraints are absent ({CONSTRAINTS_292})")
    text = CONSTRAINTS_292.read_text(encoding="utf-8")
    return parse_constraints(text, resolve_target("2.9.2"), str(CONSTRAINTS_292))
