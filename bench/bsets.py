"""The requirement sets the benchmark runs (one Airflow version each)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MWAA_DATA = REPO / "src" / "mwaadeps" / "data" / "mwaa"
EXAMPLE = REPO / "examples" / "dsai-dev"


@dataclass(frozen=True)
class ReqSet:
    """One requirement set: its lines, target version, and (example only) the project."""

    name: str
    airflow: str
    lines: tuple[str, ...]
    description: str
    example: bool = False  # copy examples/dsai-dev (plugins, local package, startup)

    @property
    def constraints(self) -> Path:
        return MWAA_DATA / self.airflow / "airflow-constraints.txt"


def _example_lines() -> tuple[str, ...]:
    out = []
    for raw in (EXAMPLE / "requirements.txt").read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if line:
            out.append(line)
    return tuple(out)


SETS: dict[str, ReqSet] = {
    s.name: s
    for s in (
        ReqSet("tiny", "2.9.2", ("simplejson",), "one pure-Python package (simplejson)"),
        ReqSet(
            "example",
            "2.9.2",
            _example_lines(),
            "examples/dsai-dev: snowflake + slack providers, pandas, requests, the local "
            "package dsai-common (peers get its wheel through --find-links)",
            example=True,
        ),
        ReqSet(
            "heavy",
            "2.9.2",
            (
                "apache-airflow-providers-snowflake",
                "apache-airflow-providers-google",
                "apache-airflow-providers-databricks",
                "dbt-core",
                "pandas",
                "pyarrow",
            ),
            "snowflake + google + databricks providers, dbt-core, pandas, pyarrow",
        ),
        ReqSet(
            "af3-slack",
            "3.0.6",
            ("apache-airflow-providers-slack", "pandas"),
            "Airflow 3.0.6 (Python 3.12): slack provider + pandas",
        ),
    )
}

LOCAL_PACKAGE = "dsai-common"
