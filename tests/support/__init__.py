"""What the tests share that is not a fixture: paths, the `chatsales` command, the demo landing
folder, the session's warehouse builds and the servers tests start. Fixtures and hooks stay in
tests/conftest.py; tests import helpers from here, never from conftest."""
