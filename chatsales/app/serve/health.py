"""Health checks: an HTTP answer, or the Dagster daemon's heartbeats in the instance."""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from pathlib import Path

HEARTBEAT_STALE_SECONDS = 120  # the daemon beats every 30 s


def http_ok(url: str, timeout: float = 5.0) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False


class DaemonHeartbeats:
    """The daemon is healthy when it has beaten since it started, and lately."""

    def __init__(self, dagster_home: Path):
        self.dagster_home = dagster_home
        self._instance = None

    def __call__(self, started_at: float) -> bool:
        if self._instance is None:
            from dagster import DagsterInstance

            self._instance = DagsterInstance.from_config(str(self.dagster_home))
        try:
            beats = self._instance.get_daemon_heartbeats().values()
        except Exception:  # the storage busy or unreachable: not healthy this time
            return False
        # any daemon's beat will do: one busy daemon (a long sensor tick) may skip beats for
        # minutes, a hung or wedged process beats for none
        latest = max((beat.timestamp for beat in beats), default=0.0)
        return latest >= started_at and time.time() - latest < HEARTBEAT_STALE_SECONDS

    def close(self) -> None:
        if self._instance is not None:
            self._instance.dispose()
            self._instance = None
