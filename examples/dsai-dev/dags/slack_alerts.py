"""Post a Slack message when the warehouse load finishes."""

from __future__ import annotations

import pendulum
from airflow import DAG
from airflow.providers.slack.operators.slack_webhook import SlackWebhookOperator
from airflow.providers.snowflake.operators.snowflake import SnowflakeSqlApiOperator

with DAG(
    dag_id="dsai_warehouse_load",
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    schedule="0 6 * * *",
    catchup=False,
    tags=["dsai"],
) as dag:
    load = SnowflakeSqlApiOperator(
        task_id="load", snowflake_conn_id="dsai_snowflake", sql="CALL load_sales()"
    )
    notify = SlackWebhookOperator(
        task_id="notify", slack_webhook_conn_id="dsai_slack", message="Warehouse load done"
    )
    load >> notify
