"""Sensors: new_data starts runs when data arrives; alerts only notify (failed checks, new
anomalies, failed run summaries). Each module has its own `sensors` list."""

from .alerts import alert_sensor, run_failure_summary_sensor

__all__ = ["alert_sensor", "run_failure_summary_sensor"]
