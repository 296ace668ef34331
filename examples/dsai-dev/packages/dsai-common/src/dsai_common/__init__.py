"""DSAI team helpers shared by our DAGs."""

from __future__ import annotations

__version__ = "1.2.0"


def table_name(domain: str, name: str, env: str = "dev") -> str:
    """Snowflake table name following the team convention."""
    return f"{env}_{domain}.{name}".upper()
