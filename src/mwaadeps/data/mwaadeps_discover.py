# mwaadeps: discovery-dag v1
"""The discovery DAG that ``mwaadeps discover`` uploads for a short while.

One task, ``freeze``, lists the Python distributions the worker can import
(``importlib.metadata``, the first one on ``sys.path`` wins, as for an import) and stores
them as JSON in the Airflow Variable named by the run's ``conf["variable"]``
(default ``mwaadeps_discover``)::

    {"format": 1, "python": "3.11.9", "airflow": "2.9.2", "packages": {"name": "version"}}

Names are canonical (lower case, runs of ``-_.`` become ``-``). ``mwaadeps discover``
reads the Variable, then deletes it, this DAG and its file. Works on Airflow 2.4+ and 3.x.
"""

from __future__ import annotations

import json
import platform
import re
from datetime import datetime, timezone
from typing import Any

import airflow

try:  # Airflow 3: the Task SDK and the standard provider
    from airflow.providers.standard.operators.python import PythonOperator
    from airflow.sdk import DAG
except ImportError:  # Airflow 2
    from airflow import DAG
    from airflow.operators.python import PythonOperator

FORMAT = 1
DEFAULT_VARIABLE = "mwaadeps_discover"


def canonical_name(name: str) -> str:
    """PEP 503's normalised form of a distribution name."""
    return re.sub(r"[-_.]+", "-", name).lower()


def installed_packages() -> dict[str, str]:
    """Canonical name -> version of every importable distribution (first on sys.path wins)."""
    from importlib import metadata

    found: dict[str, str] = {}
    for dist in metadata.distributions():
        name = dist.metadata["Name"] if dist.metadata is not None else None
        if not name:
            continue
        found.setdefault(canonical_name(str(name)), str(dist.version))
    return dict(sorted(found.items()))


def snapshot() -> dict[str, Any]:
    """The JSON document the task stores."""
    return {
        "format": FORMAT,
        "python": platform.python_version(),
        "airflow": str(airflow.__version__),
        "packages": installed_packages(),
    }


def _set_variable(key: str, value: str) -> None:
    try:  # Airflow 3: tasks go through the Task SDK
        from airflow.sdk import Variable
    except ImportError:  # Airflow 2
        from airflow.models import Variable
    Variable.set(key, value)


def freeze(**context: Any) -> str:
    """Store the snapshot in the Variable named by conf["variable"]; return the key."""
    dag_run = context.get("dag_run")
    conf = (getattr(dag_run, "conf", None) or {}) if dag_run is not None else {}
    key = str(conf.get("variable") or DEFAULT_VARIABLE)
    _set_variable(key, json.dumps(snapshot(), sort_keys=True))
    return key


with DAG(
    dag_id="mwaadeps_discover",  # a literal: tools that read DAG files see the id
    schedule=None,
    start_date=datetime(2024, 1, 1, tzinfo=timezone.utc),
    catchup=False,
    tags=["mwaadeps"],
    is_paused_upon_creation=True,
) as dag:
    PythonOperator(task_id="freeze", python_callable=freeze)
