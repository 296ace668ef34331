"""Registers the team's operators with Airflow."""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin
from operators.dsai_operators import FrameSummaryOperator
from sensors.dsai_sensors import AlwaysReadySensor


class DsaiPlugin(AirflowPlugin):
    name = "dsai"
    operators = [FrameSummaryOperator]
    sensors = [AlwaysReadySensor]
