"""Sensors shared by the team's DAGs."""

from __future__ import annotations

from airflow.sensors.base import BaseSensorOperator


class AlwaysReadySensor(BaseSensorOperator):
    """A sensor that is done at once (stands in for the team's data-ready checks)."""

    def poke(self, context):
        return True
