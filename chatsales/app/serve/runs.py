"""The record of runs that serve's Dagster processes left unfinished when they stopped."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

MESSAGE = "chatsales serve stopped while this run was in progress"


def cancel_runs_left_unfinished(dagster_home: Path, since: float) -> list[str]:
    """Mark canceled the runs created since `since` (serve's start) that are still starting,
    started or canceling now that the daemon and webserver are gone, except those of a
    `chatsales run` process still alive; free the pool slots of every finished run. The ids
    of the runs marked."""
    from dagster import DagsterInstance, DagsterRunStatus, RunsFilter

    from orchestration.recovery import RUNNER_TAG, is_running, release_abandoned_runs

    unfinished = [DagsterRunStatus.STARTING, DagsterRunStatus.STARTED, DagsterRunStatus.CANCELING]
    created_after = datetime.fromtimestamp(since, UTC)
    marked = []
    with DagsterInstance.from_config(str(dagster_home)) as instance:
        for run in instance.get_runs(RunsFilter(statuses=unfinished, created_after=created_after)):
            tag = run.tags.get(RUNNER_TAG)
            if tag is None or not is_running(tag):
                instance.report_run_canceled(run, MESSAGE)
                marked.append(run.run_id)
        release_abandoned_runs(instance)
    return marked
