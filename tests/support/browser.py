"""Headless Debian Chromium through Playwright, kept offline: a page can reach only the
server under test, so it settles without waiting on the internet this machine lacks."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager

CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"


@contextmanager
def local_page(base_url: str, width: int, height: int, init_script: str | None = None) -> Iterator:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            context = browser.new_context(viewport={"width": width, "height": height})
            if init_script:
                context.add_init_script(init_script)
            page = context.new_page()
            page.route(
                "**/*",
                lambda route: (
                    route.continue_()
                    if route.request.url.startswith((base_url, "data:", "blob:"))
                    else route.abort()
                ),
            )
            yield page
        finally:
            browser.close()
