"""`chatsales serve`: the receiver, the Dagster daemon and webserver, and Superset, started
and supervised as one process tree (health checks, restarts with back-off, one prefixed log,
an ordered stop on SIGTERM/SIGINT)."""

from chatsales.app.serve.main import serve

__all__ = ["serve"]
