"""The chatsales layers that live in this package: `core` (settings, warehouse, paths; imports
nothing else from the project) and `app` (CLI, receiver, Superset, demo; imports anything
below it). `ingestion`, `dbt_project` and `orchestration` sit between them."""
