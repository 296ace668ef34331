"""Operators shared by the team's DAGs."""

from __future__ import annotations

import pandas as pd
from airflow.models import BaseOperator
from dsai_common import table_name


class FrameSummaryOperator(BaseOperator):
    """Summarise a small frame and push its row count."""

    def __init__(self, rows: list[dict], domain: str, **kwargs):
        super().__init__(**kwargs)
        self.rows = rows
        self.domain = domain

    def execute(self, context):
        frame = pd.DataFrame(self.rows)
        self.log.info("%s: %d rows", table_name(self.domain, "summary"), len(frame))
        return len(frame)
