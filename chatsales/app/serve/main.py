"""Start the components, keep them up, stop them in order on SIGTERM or SIGINT."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

from chatsales.core.settings import settings, state_dir

from .components import ServeOptions, child_specs, secrets
from .logs import LogSink, Redactor
from .processes import kill_marked
from .supervisor import SupervisedChild


def log_path() -> Path:
    return state_dir() / "logs" / "serve.log"


def prepare_dagster() -> None:
    """The instance and dbt's manifest, once, before the daemon and webserver load them."""
    from orchestration.dbt_manifest import prepare_dbt
    from orchestration.instance import ensure_dagster_home

    ensure_dagster_home()
    prepare_dbt()


def serve(options: ServeOptions) -> int:
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    config = settings()
    started = time.time()
    uses_dagster = {"daemon", "webserver"} & set(options.components)
    if uses_dagster:
        prepare_dagster()
    specs = child_specs(options, config)
    sink = LogSink(log_path(), Redactor(secrets(config, specs)))
    sink.write("serve", f"starting {', '.join(options.components)} (pid {os.getpid()}, "
                        f"log {log_path()})")  # fmt: skip
    for name, url in options.addresses().items():
        sink.write("serve", f"{name}: {url}")
    if stop.is_set():  # asked to stop while the instance and manifest were prepared
        sink.close()
        return 0
    children = [SupervisedChild(spec, sink) for spec in specs]
    for child in children:
        child.start()
    while not stop.wait(0.5):
        pass
    sink.write("serve", "stopping: " + " → ".join(options.components))
    for child in children:
        child.stop()
    if uses_dagster:
        from .runs import cancel_runs_left_unfinished

        if canceled := cancel_runs_left_unfinished(config.dagster_home, started):
            sink.write("serve", f"marked canceled the runs left unfinished: {canceled}")
    if left := kill_marked(f"{os.getpid()}:"):
        sink.write("serve", f"ended {len(left)} leftover process(es): {left}")
    sink.write("serve", "stopped")
    sink.close()
    return 0
