"""The dashboard in a real browser: Debian's Chromium, headless, driven by Playwright.

One story, as an operator lives it: sign in, create an event through the form (the
preview follows the pattern; a bad pattern is explained next to its input), run it now
against a local sink, see the delivery succeed, make the target fail until the delivery
is dead, redrive it. Screenshots of every page land in ``screenshots/`` (git-ignored);
README shows two of them (see "Screenshots" there to regenerate).
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect

from tests.engine.support import Sink
from tests.support.live import LiveApp, live_app
from tests.ui.chromium import DEADLINE, needs_chromium

SCREENSHOTS = Path(
    os.environ.get("ONEWATCH_SCREENSHOTS", Path(__file__).resolve().parents[2] / "screenshots")
)

pytestmark = [
    needs_chromium,
    pytest.mark.slow,
    pytest.mark.timeout(240),
]


@pytest.fixture
async def sink() -> AsyncIterator[Sink]:
    target = await Sink().start()
    try:
        yield target
    finally:
        await target.stop()


@pytest.fixture
async def node(tmp_path: Path) -> AsyncIterator[LiveApp]:
    async with live_app(tmp_path, roles=("api", "scheduler", "dispatcher")) as live:
        yield live


async def shot(page: Page, name: str) -> None:
    """Save the whole page as ``screenshots/<name>.png`` (Playwright makes the folder)."""
    await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


async def reload_until(page: Page, selector: str, count: int, what: str) -> None:
    """Reload until ``selector`` matches ``count`` elements (the page is not live)."""
    deadline = time.monotonic() + DEADLINE
    while await page.locator(selector).count() != count:
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not show within {DEADLINE} s")
        await page.wait_for_timeout(200)
        await page.reload()


async def sign_in(page: Page, live: LiveApp) -> None:
    await page.goto(f"{live.base_url}/ui/")
    await expect(page).to_have_url(re.compile(r"/ui/login"))
    await shot(page, "sign-in")
    await page.get_by_label("API token").fill(live.token("shop"))
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("heading", name="Overview")).to_be_visible()


async def fill_form_and_preview(page: Page, sink: Sink) -> None:
    await page.get_by_role("link", name="New event").first.click()
    await page.get_by_role("textbox", name="Key", exact=True).fill("nightly-report")
    await page.get_by_label("Title", exact=True).fill("Nightly sales report")
    pattern = page.get_by_role("textbox", name="Pattern", exact=True)
    preview = page.get_by_test_id("preview")
    await page.get_by_label("Time zone", exact=True).fill("Europe/Berlin")
    await pattern.fill("0 9 1 * *")
    await expect(preview).to_contain_text("At 09:00, on day 1 of the month")
    await expect(preview).to_contain_text("(+0")  # fires listed in the zone, with offsets
    await pattern.fill("*/15 * * * *")
    await expect(preview).to_contain_text("Every 15 minutes")
    await pattern.fill("61 * * * *")
    await expect(page.get_by_test_id("preview-error")).to_contain_text(
        "minute field: 61 is out of range 0-59"
    )
    await page.get_by_label("Webhook URL").fill(f"{sink.base}/hook")
    await page.get_by_label("Body (JSON)").fill('{"report": "sales"}')
    await page.get_by_label("Max attempts").fill("2")
    await page.get_by_label("Min backoff (s)").fill("0")
    await page.get_by_label("Max backoff (s)").fill("0")


async def refused_then_created(page: Page) -> None:
    await page.get_by_role("button", name="Create event").click()
    error = page.locator("#f-schedulingPattern-pattern-error")
    await expect(error).to_have_text("minute field: 61 is out of range 0-59")
    await expect(page.get_by_role("textbox", name="Pattern", exact=True)).to_have_attribute(
        "aria-invalid", "true"
    )
    await expect(page.get_by_test_id("error-summary")).to_be_focused()
    await page.get_by_role("textbox", name="Pattern", exact=True).fill("0 9 1 * *")
    await expect(page.get_by_test_id("preview-description")).to_have_text(
        "At 09:00, on day 1 of the month"
    )
    await shot(page, "event-form")
    await page.get_by_role("button", name="Create event").click()
    await expect(page.get_by_role("heading", name=re.compile("nightly-report"))).to_be_visible()
    await expect(page.get_by_role("status")).to_have_text("Event created.")


async def check_event_page(page: Page) -> None:
    await expect(page.get_by_test_id("description")).to_have_text("At 09:00, on day 1 of the month")
    # Ten monthly fires always span a change of Berlin's clocks (March or October).
    await expect(page.get_by_test_id("next-fires").locator("tr.dst").first).to_contain_text(
        re.compile(r"Clocks go (forward|back) in Europe/Berlin")
    )
    # The viewer's zone (the browser's, New York) is shown beside the event's and UTC.
    await expect(page.get_by_test_id("next-fires")).to_contain_text("Your time (America/New_York)")


async def run_now_succeeds(page: Page, sink: Sink) -> None:
    sink.delays["/hook"] = 3.0  # long enough to see the delivery in flight first
    await page.get_by_role("button", name="Run now").click()
    await expect(page.get_by_role("status")).to_have_text("Run now: a delivery was queued.")
    succeeded = page.locator("[data-testid=delivery][data-status=succeeded]")
    await expect(page.get_by_test_id("delivery")).to_have_count(1)
    await expect(succeeded).to_have_count(0)
    # No reload: the history refreshes itself (htmx) while a delivery is in flight.
    await page.evaluate("window.sameDocument = true")
    await expect(succeeded).to_have_count(1)
    assert await page.evaluate("window.sameDocument === true")
    sink.delays.clear()
    assert [item.json() for item in sink.on("/hook")] == [{"report": "sales"}]
    first = page.locator("[data-testid=delivery][data-status=succeeded]")
    await expect(first.locator("table.attempts tbody tr")).to_have_count(1)
    await expect(first.locator("table.attempts")).to_contain_text("200")


async def fails_until_dead(page: Page, sink: Sink) -> None:
    sink.script["/hook"] = [(500, {}, "down for maintenance")] * 2
    await page.get_by_role("button", name="Run now").click()
    await expect(page.locator("[data-testid=delivery][data-status=dead]")).to_have_count(1)
    dead = page.locator("[data-testid=delivery][data-status=dead]")
    await expect(dead.locator("table.attempts tbody tr")).to_have_count(2)
    await expect(dead.locator("table.attempts")).to_contain_text("down for maintenance")
    await shot(page, "event")


async def redrive_from_dead_letters(page: Page) -> None:
    await page.get_by_role("link", name="Dead letters").click()
    rows = page.get_by_test_id("dead-letter")
    await expect(rows).to_have_count(1)
    await expect(rows).to_contain_text("HTTP 500")
    await shot(page, "dead-letters")
    await rows.get_by_role("checkbox").check()
    await page.get_by_role("button", name="Redrive the chosen ones").click()
    await expect(page.get_by_role("status")).to_have_text("Redrive queued.")
    await expect(page.get_by_test_id("no-dead")).to_be_visible()
    await page.goto(page.url.split("/ui/")[0] + "/ui/events/shop/nightly-report")
    await reload_until(page, "[data-testid=delivery][data-status=succeeded]", 2, "the redrive")
    await expect(page.locator("[data-testid=delivery][data-status=dead]")).to_have_count(0)


async def other_pages(page: Page, live: LiveApp) -> None:
    action = {"key": "notify", "type": "webhook", "webhook": {"endpoint": "http://127.0.0.1:9/n"}}
    async with live.client("shop") as api:
        assert (await api.post("/v1/actions", json=action)).status_code == 201
        weekly = {
            "key": "weekly-digest",
            "action": "notify",
            "schedulingPattern": {"pattern": "*/20 8-18 * * *", "timezone": "Asia/Tokyo"},
        }
        assert (await api.post("/v1/events", json=weekly)).status_code == 201
    await page.get_by_role("link", name="Events", exact=True).click()
    await expect(page.get_by_role("link", name="weekly-digest")).to_be_visible()
    await shot(page, "events")
    await page.get_by_role("link", name="Actions").click()
    await page.get_by_role("link", name="notify").click()
    await expect(page.get_by_test_id("action-users")).to_contain_text("weekly-digest")
    await shot(page, "action")
    await page.get_by_role("link", name="Actions").click()
    await shot(page, "actions")
    await page.get_by_role("link", name="Overview").click()
    await expect(page.get_by_test_id("count-active")).to_have_text("2")
    await expect(page.get_by_test_id("dead")).to_have_text("0")
    await shot(page, "overview")


async def usable_by_keyboard_and_on_a_phone(page: Page, live: LiveApp) -> None:
    await page.goto(f"{live.base_url}/ui/events/new")
    unlabelled = await page.evaluate(
        """() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
              .filter(el => el.labels.length === 0 && !el.getAttribute('aria-label'))
              .map(el => el.name)"""
    )
    assert unlabelled == []
    await page.keyboard.press("Tab")
    await expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    await page.set_viewport_size({"width": 390, "height": 844})
    await page.goto(f"{live.base_url}/ui/events/shop/nightly-report")
    overflow = await page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0
    await shot(page, "event-phone")


async def test_an_operator_creates_runs_and_redrives_an_event(
    chromium: Browser, node: LiveApp, sink: Sink
) -> None:
    context = await chromium.new_context(
        timezone_id="America/New_York", viewport={"width": 1280, "height": 900}
    )
    page = await context.new_page()
    page.set_default_timeout(DEADLINE * 1000)
    problems: list[str] = []  # script errors, CSP refusals, missing files show up here
    page.on("console", lambda message: message.type == "error" and problems.append(message.text))
    expected = "the server responded with a status of 422"  # the refused form, on purpose
    page.on("pageerror", lambda error: problems.append(str(error)))
    try:
        await sign_in(page, node)
        await fill_form_and_preview(page, sink)
        await refused_then_created(page)
        await check_event_page(page)
        await run_now_succeeds(page, sink)
        await fails_until_dead(page, sink)
        await redrive_from_dead_letters(page)
        assert len(sink.on("/hook")) == 4  # success, two failures, the redriven success
        await other_pages(page, node)
        await usable_by_keyboard_and_on_a_phone(page, node)
        assert [text for text in problems if expected not in text] == []
    finally:
        await context.close()
