"""Rows read from DuckDB and from PostgreSQL in one comparable form."""

from __future__ import annotations

import math


def comparable_rows(rows):
    """Sorted tuples; floats and PostgreSQL Decimals rounded to 6 places, NaN as None, the
    rest as strings."""

    def value(v):
        if isinstance(v, float):
            return None if math.isnan(v) else round(v, 6)
        if hasattr(v, "is_finite"):  # Decimal from PostgreSQL
            return round(float(v), 6)
        return str(v) if v is not None else None

    return sorted(tuple(value(v) for v in row) for row in rows)
