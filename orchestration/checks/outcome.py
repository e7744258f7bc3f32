"""What a validation found, in plain values: for the asset check's metadata and for tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

# SUMMARY results carry up to 20 unexpected values; a few say enough in a check's metadata.
SAMPLE = 5


@dataclass(frozen=True)
class FailedExpectation:
    expectation: str  # GX type, e.g. expect_column_values_to_be_in_set
    column: str | None
    observed: str  # what the data showed, in words
    unexpected_count: int | None = None
    sample: list[Any] = field(default_factory=list)


@dataclass(frozen=True)
class ValidationOutcome:
    suite: str
    table: str
    success: bool
    data_docs: Path
    evaluated: int = 0
    failed: list[FailedExpectation] = field(default_factory=list)
    row_count: int | None = None
    seconds: float = 0.0
    skipped: str | None = None  # why the suite did not run (it counts as passed)
    error: str | None = None  # why the suite could not run (it counts as failed)

    @property
    def summary(self) -> str:
        if self.skipped:
            return f"{self.suite}: skipped ({self.skipped})"
        if self.error:
            return f"{self.suite} on {self.table}: {self.error}"
        verdict = "passed" if self.success else f"{len(self.failed)} failed"
        return f"{self.suite} on {self.table}: {self.evaluated} expectations, {verdict}"

    @property
    def failed_types(self) -> set[str]:
        return {failure.expectation for failure in self.failed}


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value if isinstance(value, str | int | float | bool | type(None)) else str(value)


def _failure(result) -> FailedExpectation:
    config, found = result.expectation_config, result.result or {}
    column = config.kwargs.get("column") or config.kwargs.get("column_A")
    if result.exception_info and result.exception_info.get("raised_exception"):
        message = result.exception_info.get("exception_message") or "error"
        return FailedExpectation(config.type, column, f"could not evaluate: {message}")
    if "unexpected_count" in found:
        count, sample = found["unexpected_count"], _plain(found.get("partial_unexpected_list"))
        total = found.get("element_count")
        observed = f"{count} of {total} rows unexpected, e.g. {sample[:SAMPLE]}"
        return FailedExpectation(config.type, column, observed, count, sample[:SAMPLE])
    return FailedExpectation(config.type, column, f"observed {_plain(found.get('observed_value'))}")


def _row_count(results) -> int | None:
    for result in results:
        found = result.result or {}
        if "element_count" in found:
            return found["element_count"]
        if result.expectation_config.type == "expect_table_row_count_to_be_between":
            return found.get("observed_value")
    return None


def outcome_from_result(result, base: dict, seconds: float) -> ValidationOutcome:
    return ValidationOutcome(
        **base,
        success=bool(result.success),
        evaluated=len(result.results),
        failed=[_failure(r) for r in result.results if not r.success],
        row_count=_row_count(result.results),
        seconds=round(seconds, 2),
    )
