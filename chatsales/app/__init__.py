"""The applications on top of every layer: the `chatsales` CLI, the Wazzup webhook receiver,
the Superset dashboards, chat-export import, dbt docs and the demo company generator."""
