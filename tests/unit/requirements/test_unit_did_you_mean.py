""" "Did you mean": names a resolver says no index has, mapped back to file:line."""

from __future__ import annotations

from pathlib import Path

from mwaadeps.requirements.parser import parse_requirements
from mwaadeps.requirements.rules import did_you_mean, unknown_projects

KNOWN = {
    "pandas": "pandas",
    "requests": "requests",
    "apache-airflow-providers-snowflake": "apache-airflow-providers-snowflake",
    "sqlalchemy": "SQLAlchemy",
}


def test_uv_and_pip_messages() -> None:
    uv = (
        "  Because pandsa was not found in the package registry and you require pandsa, we "
        "can conclude that your requirements are unsatisfiable.\n"
        "  Because Acme_Lib was not found in the provided package locations and ..."
    )
    assert unknown_projects(uv) == ("pandsa", "acme-lib")
    pip = "ERROR: No matching distribution found for reqests==2.31.0"
    assert unknown_projects(pip) == ("reqests",)
    assert unknown_projects("Because there is no version of pandas==9.9 ...") == ()


def test_suggestions_name_the_line(tmp_path: Path) -> None:
    path = tmp_path / "requirements.txt"
    path.write_text(
        "# ours\npandsa>=2\nrequests\nsqlalchmy==1.4.52\nacme-internal-thing\n"
        "apache-airflow-providers-snowflak==5.5.1\n"
    )
    missing = ("pandsa", "sqlalchmy", "acme-internal-thing", "apache-airflow-providers-snowflak")
    assert did_you_mean(parse_requirements(path), missing, KNOWN) == (
        f"{path}:2: pandsa is on no package index; did you mean pandas?",
        f"{path}:4: sqlalchmy is on no package index; did you mean SQLAlchemy?",
        f"{path}:5: acme-internal-thing is on no package index (no similar name in the "
        "constraints).",
        f"{path}:6: apache-airflow-providers-snowflak is on no package index; did you mean "
        "apache-airflow-providers-snowflake?",
    )


def test_a_missing_transitive_dependency_names_no_line(tmp_path: Path) -> None:
    path = tmp_path / "requirements.txt"
    path.write_text("requests\n")
    assert did_you_mean(parse_requirements(path), ("pandsa",), KNOWN) == ()
