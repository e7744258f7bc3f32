"""Superset over the marts: its own virtualenv and process, provisioned and fed from here.

The Superset process imports only `superset_config.py` and `provision.py` (stdlib and
Superset); everything else runs in the core virtualenv and talks to it over HTTP.
"""
