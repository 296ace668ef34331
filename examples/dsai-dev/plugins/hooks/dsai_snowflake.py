"""A thin Snowflake hook with the team's defaults."""

from __future__ import annotations

from airflow.providers.snowflake.hooks.snowflake import SnowflakeHook


class DsaiSnowflakeHook(SnowflakeHook):
    """SnowflakeHook on the team's connection id."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("snowflake_conn_id", "dsai_snowflake")
        super().__init__(*args, **kwargs)
