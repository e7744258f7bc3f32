"""A console logger that shows progress (which asset, rows loaded, failed checks) instead of
every Dagster event, and writes the full log to a file when given `log_path`."""

from __future__ import annotations

import logging
import re
import sys
from pathlib import Path

from dagster import AssetCheckSeverity, Field, InitLoggerContext, logger
from dagster._core.events import DagsterEventType
from dagster._core.log_manager import get_log_record_metadata, has_log_record_metadata

ANSI = re.compile(r"\x1b\[[0-9;]*m")
DBT_ERRORS = "Errors parsed from dbt logs:"
# what PostgreSQL's client says when the server went away (a restart, a failover, a crash)
CONNECTION_LOST = (
    "server closed the connection", "terminating connection", "could not connect to server",
    "Connection refused", "connection already closed", "the database system is",
)  # fmt: skip


def dbt_failure(message: str) -> str | None:
    """'Failure in model X: <the database's words>' from a dagster-dbt error, if it is one."""
    if DBT_ERRORS not in message:
        return None
    lines = [ANSI.sub("", line).strip() for line in message.split(DBT_ERRORS, 1)[1].splitlines()]
    lines = [line for line in lines if line]
    for index, line in enumerate(lines):
        if line.startswith("Failure in "):
            node = line.split(" (", 1)[0]
            detail = next((d for d in lines[index + 1 :] if " Error in " not in d), "")
            return f"dbt: {node}: {detail}" if detail else f"dbt: {node}"
    return None


def root_cause(error, with_class: bool = True) -> str:
    """One line of the innermost error: what went wrong, not where Dagster caught it (without
    its exception class's name, if asked: for errors whose message says it all)."""
    if error is None:
        return "unknown error"
    while error.cause is not None:
        error = error.cause
    message = error.message.strip()
    if not with_class and error.cls_name:
        message = re.sub(rf"^[\w.]*\b{re.escape(error.cls_name)}: ", "", message)
    lines = message.splitlines()
    cause = dbt_failure(message) or (lines[0] if lines else error.cls_name or "unknown error")
    if any(words in cause for words in CONNECTION_LOST):
        return f"lost the warehouse connection (is the server up?): {cause}"
    return cause


def describe(event) -> str | None:
    """One short line for the events a person running the pipeline cares about."""
    kind = event.event_type
    if kind == DagsterEventType.STEP_START:
        return f"▶ {event.step_key}"
    if kind == DagsterEventType.ASSET_MATERIALIZATION:
        materialization = event.event_specific_data.materialization
        metadata = materialization.metadata
        suffix = ""
        if "dataset_name" in metadata:  # a dlt table: say what the load brought
            rows = metadata.get("rows_loaded")
            suffix = f"  {rows.value:,} rows loaded" if rows is not None else "  nothing new"
        return f"  ✓ {materialization.asset_key.to_user_string()}{suffix}"
    if kind == DagsterEventType.ASSET_CHECK_EVALUATION:
        evaluation = event.event_specific_data
        if not evaluation.passed:
            key = evaluation.asset_key.to_user_string()
            if evaluation.severity == AssetCheckSeverity.WARN:
                return f"  ⚠ check {evaluation.check_name} on {key} warns"
            return f"  ✗ check {evaluation.check_name} on {key} failed"
    if kind == DagsterEventType.STEP_FAILURE:
        return f"✗ {event.step_key} failed: {root_cause(event.event_specific_data.error)}"
    return None


# dagster-dbt's note on each source test that dbt runs beside a model (indirect selection): it
# still runs, and its failure still fails the step; nothing for a person to act on
NOT_FOR_PEOPLE = ("Logging an `AssetObservation` instead of an `AssetCheckResult`",)


class ProgressHandler(logging.Handler):
    """Writes to the process's real stdout: `chatsales run` sends the rest of stdout (dbt's
    own output, re-emitted by dagster-dbt) to the log file. An asset materialized on a range
    of days (one event a day) gets one line."""

    def __init__(self) -> None:
        super().__init__()
        self.materialized: set = set()

    def emit(self, record: logging.LogRecord) -> None:
        if not has_log_record_metadata(record):
            return
        metadata = get_log_record_metadata(record)
        event = metadata["dagster_event"]
        if event is None and record.levelno >= logging.WARNING:  # what the steps warn of
            if metadata["orig_message"].startswith(NOT_FOR_PEOPLE):
                return
            sys.__stdout__.write(f"  ⚠ {metadata['orig_message']}\n")
            sys.__stdout__.flush()
            return
        if event is not None and event.event_type == DagsterEventType.ASSET_MATERIALIZATION:
            if event.asset_key in self.materialized:
                return
            self.materialized.add(event.asset_key)
        line = describe(event) if event is not None else None
        if line:
            sys.__stdout__.write(line + "\n")
            sys.__stdout__.flush()


@logger(
    {
        # Dagster's own events (step start, materialization) are logged at DEBUG.
        "log_level": Field(str, is_required=False, default_value="DEBUG"),
        "log_path": Field(str, is_required=False, description="Write the full log here."),
    },
    description="Progress lines on the console; the full log in a file.",
)
def progress_logger(init_context: InitLoggerContext) -> logging.Logger:
    log = logging.getLogger("chatsales.run")
    log.setLevel(init_context.logger_config["log_level"])
    log.propagate = False
    log.handlers = [ProgressHandler()]
    log_path = init_context.logger_config.get("log_path")
    if log_path:
        Path(log_path).parent.mkdir(parents=True, exist_ok=True)
        full = logging.FileHandler(log_path, encoding="utf-8")
        full.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        log.handlers.append(full)
    return log
