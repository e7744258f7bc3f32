"""Heavy builds (the session's warehouses, a test module's own) running beside the tests, two at
a time, from the moment the first is needed: a build keeps one core busy, and the tests
meanwhile use the other.

A build is registered by name with `built_in_background`; the `warehouse_builds` fixture
starts every registered build that a selected test uses (`builds_used_by`), so a run of
`pytest -m unit` or of one file starts only what it needs, or nothing."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

import pytest


class BackgroundBuilds:
    """Builds running beside the tests, at most `slots` at a time, in the order started. A
    build is mostly one `chatsales run` process using about one core; CI has two."""

    def __init__(self, slots: int = 2):
        self._queue: queue.Queue = queue.Queue()
        self._builds: dict[str, Future] = {}
        for _ in range(slots):  # daemons: an interrupted session does not wait for them
            threading.Thread(target=self._work, daemon=True).start()

    def _work(self) -> None:
        while True:
            build, function, args = self._queue.get()
            if build.set_running_or_notify_cancel():
                try:
                    build.set_result(function(*args))
                except BaseException as error:  # re-raised in the test that asks for it
                    build.set_exception(error)

    def start(self, name: str, prepare: Callable[[], tuple[Callable, tuple]]) -> None:
        """prepare() runs now, here; what it returns runs in the background. If it fails or
        skips, so do the tests that ask for this build, and only they."""
        self._builds[name] = Future()
        try:
            function, args = prepare()
        except (Exception, pytest.skip.Exception, pytest.fail.Exception) as error:
            self._builds[name].set_exception(error)
        else:
            self._queue.put((self._builds[name], function, args))

    def result(self, name: str) -> Any:
        return self._builds[name].result()


@dataclass
class Background:
    prepare: Callable[[pytest.FixtureRequest], tuple[Callable, tuple]]
    users: set[str]


# name -> how to start it; filled as support/warehouses.py and the test modules are imported
BACKGROUND: dict[str, Background] = {}


def built_in_background(name: str, also_used_by: tuple[str, ...] = ()):
    """Registers `prepare(request) -> (function, args)` for the build `name`: it runs in the
    main thread when the session's builds start, and `function(*args)` runs beside the tests.
    Fixtures in `also_used_by` take the build by name at run time, so pytest can't see it;
    `fixture[param]` names one parameter of a parametrized fixture."""

    def register(prepare):
        BACKGROUND[name] = Background(prepare, {name, *also_used_by})
        return prepare

    return register


def fixtures_used(item: pytest.Item) -> set[str]:
    """The fixtures a test uses, and `fixture[param]` for each parametrized one it takes."""
    names = set(item.fixturenames)
    params = getattr(getattr(item, "callspec", None), "params", {})
    return names | {f"{name}[{value}]" for name, value in params.items() if name in names}


def builds_used_by(items: Iterable[pytest.Item]) -> list[str]:
    """The registered builds the tests use, in registration order. Only the selected tests
    count: pytest has removed deselected ones (`-m`, `-k`, `--deselect`) from the session."""
    used = set().union(*(fixtures_used(item) for item in items))
    return [name for name, background in BACKGROUND.items() if background.users & used]
