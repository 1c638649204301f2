"""The events list in a real browser: it refreshes itself, never under the viewer's hands,
and its bulk form pauses the chosen events, which the audit page then shows."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Locator, Page, expect

from tests.support.live import LiveApp, live_app
from tests.ui.chromium import DEADLINE, needs_chromium

pytestmark = [needs_chromium, pytest.mark.slow, pytest.mark.timeout(240)]
#: How long to wait for something the list's next self-refresh brings (milliseconds).
TICK_WAIT = DEADLINE * 1000


@pytest.fixture
async def node(tmp_path: Path) -> AsyncIterator[LiveApp]:
    async with live_app(tmp_path) as live:
        yield live


async def _create(live: LiveApp, *keys: str) -> None:
    async with live.client("shop") as api:
        for key in keys:
            document = {
                "key": key,
                "webhook": {"endpoint": "http://127.0.0.1:9/hook"},
                "schedulingPattern": {"pattern": "0 9 * * *", "timezone": "Europe/Berlin"},
            }
            assert (await api.post("/v1/events", json=document)).status_code == 201


async def _api(live: LiveApp, path: str) -> None:
    async with live.client("shop") as api:
        assert (await api.post(path)).status_code == 200


def _status_of(page: Page, key: str) -> Locator:
    return page.locator(f'[data-testid="event-row"][data-key="{key}"] [data-testid="event-status"]')


async def _sign_in(page: Page, live: LiveApp) -> None:
    await page.goto(f"{live.base_url}/ui/login")
    await page.get_by_label("API token").fill(live.token("shop"))
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("heading", name="Overview")).to_be_visible()


async def test_the_list_refreshes_itself_but_not_while_rows_are_chosen(
    chromium: Browser, node: LiveApp
) -> None:
    await _create(node, "a", "b")
    context = await chromium.new_context()
    page = await context.new_page()
    page.set_default_timeout(DEADLINE * 1000)
    problems: list[str] = []
    page.on("console", lambda message: message.type == "error" and problems.append(message.text))
    page.on("pageerror", lambda error: problems.append(str(error)))
    try:
        await _sign_in(page, node)
        await page.goto(f"{node.base_url}/ui/events")
        search = page.get_by_label("Search key or title")
        await search.fill("typed, not sent")
        await _api(node, "/v1/events/shop/a/pause")
        # A refresh comes every 5 s, as long as expect's own default wait: wait a tick more.
        await expect(_status_of(page, "a")).to_have_text("paused", timeout=TICK_WAIT)
        await expect(search).to_have_value("typed, not sent")  # the filter form kept

        await page.get_by_label("Choose b").check()
        await _api(node, "/v1/events/shop/a/resume")
        held = page.locator("#events-live")
        await expect(held).to_have_attribute("data-live-held", "true", timeout=TICK_WAIT)
        await expect(page.get_by_label("Choose b")).to_be_checked()
        await expect(_status_of(page, "a")).to_have_text("paused")  # not swapped under us

        await page.get_by_role("button", name="Pause the chosen").click()
        await expect(page.get_by_role("status")).to_have_text("1 event(s) paused, 0 skipped.")
        await expect(_status_of(page, "b")).to_have_text("paused")
        await expect(_status_of(page, "a")).to_have_text("active")

        await page.get_by_role("link", name="Audit log").click()
        first = page.get_by_test_id("audit-entry").first
        await expect(first).to_have_attribute("data-action", "pause")
        await expect(first.get_by_test_id("audit-actor")).to_have_text(re.compile(r"shop.*via ui"))
        assert problems == []
    finally:
        await context.close()
