"""Deploying dist/ to MWAA: AWS clients, preflight, plan, apply, records, logs, status."""
