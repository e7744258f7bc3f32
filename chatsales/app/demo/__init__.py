"""Deterministic demo data: a furniture shop's sales team in messengers and amoCRM.

`generate_demo(landing)` writes `managers.csv`, `interventions.csv` (the hypotheses to
measure), `wazzup/YYYY-MM.jsonl` (webhook bodies) and `amocrm/*.json` (API bodies: leads,
contacts, users) with the stories planned in `stories.py` planted in them.
"""

from .generator import DemoSummary, generate_demo

__all__ = ["DemoSummary", "generate_demo"]
