"""Daily summary of the sales domain."""

from __future__ import annotations

import pendulum
from airflow import DAG
from operators.dsai_operators import FrameSummaryOperator
from sensors.dsai_sensors import AlwaysReadySensor

with DAG(
    dag_id="dsai_daily_summary",
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    schedule="@daily",
    catchup=False,
    tags=["dsai"],
) as dag:
    ready = AlwaysReadySensor(task_id="data_ready", poke_interval=60, timeout=600)
    summary = FrameSummaryOperator(
        task_id="summarise", rows=[{"sku": "a", "qty": 1}], domain="sales"
    )
    ready >> summary
