"""Write files/freeze-2.9.2.txt once: a pip-freeze-like dump of an Airflow 2.9.2 laptop venv.

Not run by the tests (the output is committed). It samples the real 2.9.2 constraints
(every third pin plus the names a data team installs), keeps freeze's display names and
case-insensitive order, and plants a few conflicts a stale laptop venv really has.
Usage: python tests/corpus/generate_freeze.py src/mwaadeps/data/mwaa/2.9.2/airflow-constraints.txt
"""

from __future__ import annotations

import sys
from pathlib import Path

from mwaadeps.build.constraints import parse_constraints
from mwaadeps.targets import resolve_target

ALWAYS = {
    "apache-airflow-providers-amazon", "apache-airflow-providers-snowflake",
    "apache-airflow-providers-slack", "apache-airflow-providers-postgres", "boto3",
    "botocore", "requests", "urllib3", "numpy", "pyarrow", "snowflake-connector-python",
    "flask", "sqlalchemy", "celery", "kombu", "pendulum", "pydantic", "jinja2",
}  # fmt: skip
# name -> version a laptop venv drifted to (conflicts with the 2.9.2 constraints).
DRIFT = {"pandas": "2.2.0", "requests": "2.32.3", "sqlalchemy": "2.0.30", "pyarrow": "16.1.0"}
EXTRA = {"pkg-resources": "0.0.0", "dbt-core": "1.8.2", "great-expectations": "0.18.15"}


def main(source: Path, out: Path) -> None:
    constraints = parse_constraints(source.read_text(), resolve_target("2.9.2"), str(source))
    names = sorted(constraints.pins)
    chosen = {n for i, n in enumerate(names) if i % 3 == 0} | (ALWAYS & set(names)) | {"pandas"}
    lines = {}
    for name in chosen:
        shown = constraints.display_names.get(name, name)
        lines[shown] = DRIFT.get(name, constraints.pins[name])
    lines["apache-airflow"] = "2.9.2"
    lines.update(EXTRA)
    body = "".join(f"{n}=={v}\n" for n, v in sorted(lines.items(), key=lambda kv: kv[0].lower()))
    out.write_text(body, encoding="utf-8")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(__file__).parent / "files" / "freeze-2.9.2.txt")
