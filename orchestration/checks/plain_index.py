"""A plain-HTML list of the latest results at the top of the Data Docs front page.

GX draws its index tables with jQuery and bootstrap-table loaded from public CDNs: on a
machine without internet the front page shows no results at all (the result pages
themselves are plain HTML and fine). This list needs no script.
"""

from __future__ import annotations

import json
from html import escape
from pathlib import Path

MARK = '<section id="chatsales-latest-results"'


def _latest_results(results: Path) -> dict[tuple[str, str], Path]:
    """validations/<suite>/<run name>/<run time>/<datasource>-<table>.json, newest per pair."""
    latest: dict[tuple[str, str], Path] = {}
    for path in results.glob("*/*/*/*.json"):
        key = (path.parts[-4], path.stem)
        if key not in latest or path.stat().st_mtime > latest[key].stat().st_mtime:
            latest[key] = path
    return latest


def _item(suite: str, path: Path, results: Path) -> str:
    result = json.loads(path.read_text(encoding="utf-8"))
    batch = result["meta"]["active_batch_definition"]
    table = f"{batch['data_asset_name']} ({batch['datasource_name']})"
    page = Path("validations") / path.relative_to(results).with_suffix(".html")
    verdict = "passed" if result["success"] else "<strong>FAILED</strong>"
    when = escape(result["meta"]["run_id"]["run_time"][:19].replace("T", " "))
    return (
        f'<li><a href="{escape(page.as_posix())}">{escape(suite)} on {escape(table)}</a>'
        f" — {verdict}, {when} UTC"
        f' (<a href="expectations/{escape(suite)}.html">suite</a>)</li>'
    )


def add_latest_results(index: Path, results: Path) -> None:
    if not index.exists():
        return
    items = [
        _item(suite, path, results) for (suite, _), path in sorted(_latest_results(results).items())
    ]
    section = (
        f'{MARK} style="margin:1em">\n<h3>Latest validation of each suite</h3>\n<ul>\n'
        + "\n".join(items)
        + "\n</ul>\n</section>\n"
    )
    html = index.read_text(encoding="utf-8")
    if MARK not in html:
        index.write_text(html.replace("<body>", "<body>\n" + section, 1), encoding="utf-8")
