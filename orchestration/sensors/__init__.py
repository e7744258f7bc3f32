"""Sensors that only notify: alerts on failed checks and new anomalies, failed run summaries."""

from .alerts import alert_sensor, run_failure_summary_sensor, sensors

__all__ = ["alert_sensor", "run_failure_summary_sensor", "sensors"]
