"""check_requirements: report shape, markers, modes, specifier satisfiability."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from packaging.specifiers import SpecifierSet

from mwaadeps.build.constraints import Constraints
from mwaadeps.errors import ConfigError
from mwaadeps.requirements.parser import parse_requirements
from mwaadeps.requirements.rules import CheckReport, check_requirements, satisfiable
from mwaadeps.targets import Target, resolve_target

Writer = Callable[..., Path]


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("", True),
        ("==1.4", True),
        ("==1.4,>=2", False),
        (">=1.0,<2", True),
        (">1.0,<1.0.1", True),
        (">=2,<2", False),
        ("<1.0,>1.0", False),
        ("~=1.4.5,<1.4.5", False),
        ("~=1.4.5,<1.5", True),
        ("==1.*,>=1.9", True),
        ("==1.*,>=2", False),
        ("!=1.0,==1.0", False),
        (">=0.9,!=1.0,<1.1", True),
        ("==2.0rc1,>=2.0rc1", True),
        ("===weird", True),
        ("<0", False),
    ],
)
def test_satisfiable(spec: str, expected: bool) -> None:
    assert satisfiable(SpecifierSet(spec)) is expected


def test_report_to_dict_shape(write: Writer, target: Target, constraints: Constraints) -> None:
    path = write("requirements.txt", "pandas==2.2.0\npsycopg2\n")
    report = check_requirements(parse_requirements(path), target, constraints)
    data = report.to_dict()
    assert data["ok"] is False
    assert data["requirements"] == str(path)
    assert data["target"] == target.to_dict()
    assert data["problems"] == [
        {
            "severity": "error",
            "code": "constraint-conflict",
            "file": str(path),
            "line": 1,
            "message": "pandas 2.2.0 conflicts with the Airflow 2.9.2 constraint pandas==2.1.4",
            "hint": "Use pandas==2.1.4 or drop the pin (the constraints choose the version).",
        },
        {
            "severity": "warning",
            "code": "provided",
            "file": str(path),
            "line": 2,
            "message": report.problems[1].message,
            "hint": report.problems[1].hint,
        },
    ]
    json.dumps(data)
    assert [p.code for p in report.errors] == ["constraint-conflict"]
    assert [p.code for p in report.warnings] == ["provided"]


def test_warnings_only_is_ok(write: Writer, target: Target, constraints: Constraints) -> None:
    report = check_requirements(parse_requirements(write("r.txt", "pycurl\n")), target, constraints)
    assert report.ok and len(report.problems) == 1


def test_markers_not_for_the_target_are_skipped(
    write: Writer, target: Target, constraints: Constraints
) -> None:
    path = write(
        "r.txt",
        'pandas==2.2.0; sys_platform == "win32"\n'
        'pandas==1.0; python_version < "3.8"\n'
        'numpy==1.0; python_version >= "3.11"\n',
    )
    report = check_requirements(parse_requirements(path), target, constraints)
    assert [(p.code, p.origin.line if p.origin else 0) for p in report.problems] == [
        ("constraint-conflict", 3)
    ]


def test_without_constraints_only_target_checks(write: Writer, target: Target) -> None:
    path = write("r.txt", "pandas==2.2.0\nFlask==3.0\napache-airflow==2.8.1\n")
    report = check_requirements(parse_requirements(path), target, None)
    assert [p.code for p in report.problems] == ["airflow-version"]


def test_other_target(write: Writer, constraints: Constraints) -> None:
    path = write("r.txt", "apache-airflow==2.9.2\n")
    report = check_requirements(parse_requirements(path), resolve_target("2.10.3"), None)
    assert "MWAA 2.10.3 runs apache-airflow 2.10.3" in report.problems[0].message


def test_unknown_mode(write: Writer, target: Target) -> None:
    with pytest.raises(ConfigError):
        check_requirements(parse_requirements(write("r.txt", "x\n")), target, None, mode="zip")


def test_user_constraint_file_conflicts(
    write: Writer, target: Target, constraints: Constraints
) -> None:
    write("pins.txt", "acme-utils==1.0\npandas==2.2.0\n")
    path = write("r.txt", "-c pins.txt\nacme-utils>=2\n")
    report = check_requirements(parse_requirements(path), target, constraints)
    found = [(p.code, p.origin.file.name, p.origin.line) for p in report.problems if p.origin]
    assert found == [
        ("duplicate-conflict", "r.txt", 2),
        ("constraint-conflict", "pins.txt", 2),
    ]
    assert "acme-utils 1.0 (constraint at " in report.problems[0].message


def test_problems_sorted_by_file_then_line(
    write: Writer, target: Target, constraints: Constraints
) -> None:
    write("nested.txt", "pandas==2.2.0\nFlask==3.0\n")
    path = write("r.txt", "psycopg2\n-r nested.txt\nrequests==1.0\n")
    report = check_requirements(parse_requirements(path), target, constraints)
    assert [(p.origin.file.name, p.origin.line) for p in report.problems if p.origin] == [
        ("r.txt", 1), ("r.txt", 3), ("nested.txt", 1), ("nested.txt", 2),
    ]  # fmt: skip


def test_report_is_frozen(write: Writer, target: Target) -> None:
    report = check_requirements(parse_requirements(write("r.txt", "x\n")), target, None)
    assert isinstance(report, CheckReport)
    with pytest.raises(AttributeError):
        report.problems = ()  # type: ignore[misc]
