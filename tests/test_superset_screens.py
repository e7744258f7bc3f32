"""What the head of sales sees: every dashboard rendered in headless Chromium with every
chart drawn, no error box and no empty chart. The PNGs stay in test-artifacts/superset/."""

from __future__ import annotations

import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from .support.browser import CHROMIUM, local_page
from .support.language_check import english_words
from .support.paths import REPO_ROOT
from .support.superset_server import DASHBOARDS, imported_in

pytestmark = [pytest.mark.superset, pytest.mark.browser]

ARTIFACTS = REPO_ROOT / "test-artifacts" / "superset"
HOLDER = '[data-test="dashboard-component-chart-holder"]'
# per chart: drawn (an svg, canvas or table), still loading, or what it says instead
CHART_STATES = f"""() => Array.from(document.querySelectorAll('{HOLDER}')).map(holder => {{
    const title = holder.querySelector('[data-test="editable-title"]')?.innerText ?? '?';
    const alert = holder.querySelector('[role="alert"], .ant-alert-error, [data-test*="error"]');
    if (alert) return [title, 'error: ' + alert.innerText.slice(0, 200)];
    const empty = /No results|No data|Нет результатов|Нет данных/i;
    if (empty.test(holder.innerText)) return [title, 'empty'];
    const loading = '[data-test="loading-indicator"], .loading';
    if (holder.querySelector(loading)) return [title, 'loading'];
    return [title, holder.querySelector('svg, canvas, table') ? 'drawn' : 'blank'];
}})"""


def _chart_counts(superset) -> dict[str, int]:
    session = superset.session()
    counts = {}
    for slug in DASHBOARDS:
        answer = session.get(f"{superset.url}/api/v1/dashboard/{slug}/charts", timeout=60)
        counts[slug] = len(answer.json()["result"])
    return counts


def _settled_states(page, expected: int, timeout: float = 120) -> dict[str, str]:
    deadline, states = time.monotonic() + timeout, {}
    while time.monotonic() < deadline:
        states = dict(page.evaluate(CHART_STATES))
        if len(states) >= expected and "loading" not in states.values():
            page.wait_for_timeout(1500)  # animations (bars growing, lines drawn)
            states = dict(page.evaluate(CHART_STATES))
            # a dashboard applying a filter from its URL may mount its charts again
            if len(states) >= expected and "loading" not in states.values():
                return states
        page.wait_for_timeout(1000)
    return states


# ECharts draws legends and axes on a canvas: keep every text drawn, to read them back
RECORD_CANVAS_TEXT = """(() => {
    window.__canvasText = [];
    const fillText = CanvasRenderingContext2D.prototype.fillText;
    CanvasRenderingContext2D.prototype.fillText = function (text, ...rest) {
        window.__canvasText.push(String(text));
        return fillText.call(this, text, ...rest);
    };
})()"""
# what the head of sales reads on a dashboard besides table cells: titles, the filter bar,
# table headers, big numbers' text, and the charts' legends and axes
SHOWN_TEXT = f"""() => [
    ...Array.from(document.querySelectorAll(
        '[data-test="editable-title"], [data-test="filter-bar"], th'
    )).map(node => node.innerText),
    ...Array.from(document.querySelectorAll('{HOLDER}'))
        .filter(holder => !holder.querySelector('table'))
        .map(holder => holder.innerText),
    ...window.__canvasText,
]"""

# a table header left empty (Superset blanks one whose label is its own word for "Main")
BLANK_HEADERS = (
    "() => Array.from(document.querySelectorAll('th')).filter(th => !th.innerText.trim()).length"
)


@contextmanager
def _logged_in_page(superset, username: str, language: str | None = None):
    # tall enough for a whole dashboard: charts out of view are not drawn
    with local_page(superset.url, 1600, 2400, RECORD_CANVAS_TEXT) as page:
        # The login form posts the CSRF token that its script fetches after the page has
        # loaded; a form sent before that fetch returns is refused (back to /login/), which
        # happens on a busy machine: try again.
        for attempt in range(3):
            page.goto(f"{superset.url}/login/", wait_until="networkidle")
            page.fill("[data-test=username-input]", username)
            page.fill("[data-test=password-input]", superset.password(username))
            page.keyboard.press("Enter")
            try:
                page.wait_for_url("**/superset/welcome/**", timeout=40_000)
                break
            except PlaywrightTimeout as timeout:
                if attempt == 2:
                    raise AssertionError(
                        f"{username} not logged in: at {page.url}\n{superset.log_tail()}"
                    ) from timeout
        if language:  # Superset's own words (menus, filter bar) for this session
            page.goto(f"{superset.url}/lang/{language}", wait_until="networkidle")
        yield page


def _render(page, superset, slug: str, expected: int, png: Path, query: str = "") -> dict:
    """Open a dashboard, wait for its charts, photograph it; the charts not drawn."""
    page.goto(f"{superset.url}/superset/dashboard/{slug}/?standalone=1{query}")
    states = _settled_states(page, expected)
    page.screenshot(path=str(png), full_page=True)
    bad = {title: state for title, state in states.items() if state != "drawn"}
    if len(states) != expected:
        bad["charts drawn"] = f"{len(states)} of {expected}"
    return bad


needs_chromium = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium")


@needs_chromium
@pytest.mark.parametrize("language", ["ru", "en"])
def test_every_dashboard_draws_every_chart_with_data(superset_duckdb, language):
    """In each language, one server: the bundle imported in it, the session's locale
    switched. A Russian dashboard shows no English beyond names (english_words)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    expected = _chart_counts(superset_duckdb)
    problems, english = {}, {}
    with (
        imported_in(superset_duckdb, language),
        _logged_in_page(superset_duckdb, "head", language) as page,
    ):
        for slug in DASHBOARDS:
            png = ARTIFACTS / f"{slug}.{language}.png"
            if bad := _render(page, superset_duckdb, slug, expected[slug], png):
                problems[slug] = bad
            shown = "\n".join(page.evaluate(SHOWN_TEXT))
            english[slug] = sorted(set(english_words(shown)))
            if blank := page.evaluate(BLANK_HEADERS):
                problems.setdefault(slug, {})["blank table headers"] = blank
    assert not problems, f"{problems}\n{superset_duckdb.log_tail()}"
    if language == "ru":
        assert not any(english.values()), english


@needs_chromium
def test_a_manager_sees_only_themselves_on_the_managers_dashboard(superset_duckdb):
    """Row-level security as a person sees it: the table of managers lists only m01."""
    rows = superset_duckdb.query("select manager_id, manager_name from marts.dim_managers")
    names = {row["manager_id"]: row["manager_name"] for row in rows}
    expected = _chart_counts(superset_duckdb)["managers"]
    with _logged_in_page(superset_duckdb, "m01") as page:
        png = ARTIFACTS / "managers_as_m01.png"
        assert not _render(page, superset_duckdb, "managers", expected, png)
        text = page.inner_text("body")
    others = [name for manager, name in names.items() if manager != "m01" and name in text]
    assert names["m01"] in text and not others


def _picked_channel(channel: str) -> str:
    """The dashboard URL's native filter state (rison) with the Conversion channel picked."""
    name = "NATIVE_FILTER-conversion-channel"
    state = (
        f"({name}:(extraFormData:(filters:!((col:channel,op:IN,val:!({channel})))),"
        f"filterState:(value:!({channel})),id:{name}))"
    )
    return f"&native_filters={quote(state, safe='')}"


@needs_chromium
def test_the_conversion_dashboard_follows_a_picked_channel(superset_duckdb):
    """Telegram picked: every chart draws Telegram's rows. Instagram picked: its chats link
    to no CRM contact, so the won-deals table says no_contact_link where a cohort
    conversion would be, and the cohort line has nothing to draw rather than a 0."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    expected = _chart_counts(superset_duckdb)["conversion"]
    with _logged_in_page(superset_duckdb, "head") as page:
        png = ARTIFACTS / "conversion_telegram.png"
        bad = _render(
            page, superset_duckdb, "conversion", expected, png, _picked_channel("telegram")
        )
        assert not bad, f"{bad}\n{superset_duckdb.log_tail()}"
        png = ARTIFACTS / "conversion_instagram.png"
        query = _picked_channel("instagram")
        bad = _render(page, superset_duckdb, "conversion", expected, png, query)
        assert not [state for state in bad.values() if state.startswith("error")], bad
        assert "no_contact_link" in page.inner_text("body")


def _chart_holder(page, title_start: str):
    holders = page.locator(HOLDER).filter(
        has=page.locator('[data-test="editable-title"]', has_text=title_start)
    )
    return holders.first


def _column(holder, header: str) -> list[str]:
    """The texts of one column of a table chart's shown page ([] while it loads)."""
    holder.scroll_into_view_if_needed()  # a chart out of view is not drawn
    headers = [h.strip() for h in holder.locator("thead th").all_inner_texts()]
    index = next((i for i, h in enumerate(headers) if h.startswith(header)), None)
    if index is None:
        return []
    cells = holder.locator(f"tbody tr td:nth-child({index + 1})")
    return [text.strip() for text in cells.all_inner_texts()]


def _wait_for(page, condition, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("the dashboard did not follow the click")
        page.wait_for_timeout(500)


# per dashboard: the table a manager is clicked in, and that manager's column in it
MANAGER_TABLES = {
    "anomalies": ("Which managers were off", 2),
    "managers": ("How does each manager do each month", 1),
}


@needs_chromium
@pytest.mark.parametrize("slug", list(MANAGER_TABLES))
def test_a_managers_row_leads_to_their_dialogs_and_one_dialogs_messages(superset_duckdb, slug):
    """A click on a manager (an anomaly, a month of the manager table) narrows the dialogs
    table to that manager's dialogs; a click on a dialog shows its messages, oldest first."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    expected = _chart_counts(superset_duckdb)[slug]
    title, column = MANAGER_TABLES[slug]
    with _logged_in_page(superset_duckdb, "head") as page:
        page.goto(f"{superset_duckdb.url}/superset/dashboard/{slug}/?standalone=1")
        _settled_states(page, expected)
        managers = _chart_holder(page, title)
        dialogs = _chart_holder(page, "Which dialogs did this manager")
        messages = _chart_holder(page, "Which messages were written")
        managers.scroll_into_view_if_needed()
        manager = managers.locator("tbody tr").first.locator("td").nth(column)
        name = manager.inner_text().strip()
        manager.click()
        _wait_for(page, lambda: set(_column(dialogs, "Manager")) == {name})
        dialogs.scroll_into_view_if_needed()
        dialogs.screenshot(path=str(ARTIFACTS / f"{slug}_dialogs_of_a_manager.png"))

        dialog = dialogs.locator("tbody tr").first.locator("td").last
        dialog_id = dialog.inner_text().strip()
        dialog.click()
        _wait_for(page, lambda: set(_column(messages, "Dialog id")) == {dialog_id})
        messages.scroll_into_view_if_needed()
        page.wait_for_timeout(1000)
        messages.screenshot(path=str(ARTIFACTS / f"{slug}_messages_of_a_dialog.png"))
        shown = _column(messages, "Sent")
        texts = _column(messages, "Text")
    (owner,) = superset_duckdb.query(
        "SELECT d.manager_name, COUNT(*) AS n FROM marts.fct_messages AS m "
        "JOIN marts.fct_dialogs AS dl ON dl.dialog_id = m.dialog_id "
        "JOIN marts.dim_managers AS d ON d.manager_id = dl.owner_manager_id "
        f"WHERE m.dialog_id = '{dialog_id}' GROUP BY d.manager_name"
    )
    assert owner["manager_name"] == name
    assert shown == sorted(shown) and 0 < len(shown) <= owner["n"]  # a page of them, in order
    assert any(texts)
