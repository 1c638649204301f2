"""Deliveries the overlap policy held back, in the dashboard: each status has its own
badge, and a skipped delivery says why it was not sent (event history and deliveries
page), in a real browser (Debian's Chromium, headless)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.async_api import Browser, Locator, Page, expect

from onewatch.domain.statuses import DELIVERY_STATUSES, EVENT_STATUSES
from onewatch.engine.scheduler import Scheduler
from tests.support.live import LiveApp, ManualClock
from tests.ui.chromium import DEADLINE, needs_chromium

APP_CSS = Path(__file__).resolve().parents[2] / "src/onewatch/ui/static/app.css"


def test_every_status_has_a_badge_style() -> None:
    styled = set(re.findall(r"\.status-([a-z_]+)", APP_CSS.read_text()))
    missing = sorted({*DELIVERY_STATUSES, *EVENT_STATUSES} - styled)
    assert not missing, f"no .status-<name> rule in app.css for {missing}"


async def _skipped_behind_a_pending_one(live: LiveApp, clock: ManualClock) -> tuple[str, str]:
    """An every-minute event with overlap ``skip``, fired twice with no dispatcher: the
    second occurrence is skipped behind the first; (first id, skipped id)."""
    document = {
        "key": "sync",
        "overlap": "skip",
        "webhook": {"endpoint": "http://127.0.0.1:9/hook"},
        "schedulingPattern": {"pattern": "* * * * *"},
    }
    async with live.client("shop") as api:
        assert (await api.post("/v1/events", json=document)).status_code == 201
        for _ in range(2):
            clock.advance(minutes=1)
            await Scheduler(live.runtime).fire_once()
        listed = (await api.get("/v1/events/shop/sync/deliveries")).json()
    by_status = {item["status"]: item["id"] for item in listed["items"]}
    assert set(by_status) == {"pending", "skipped"}, listed
    return by_status["pending"], by_status["skipped"]


async def _sign_in(page: Page, live: LiveApp) -> None:
    await page.goto(f"{live.base_url}/ui/login")
    await page.get_by_label("API token").fill(live.token("shop"))
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("heading", name="Overview")).to_be_visible()


async def _border_style(badge: Locator) -> str:
    return str(await badge.evaluate("element => getComputedStyle(element).borderTopStyle"))


async def _expect_badges(page: Page, item: str) -> None:
    """The skipped badge, dashed, beside a pending one drawn solid."""
    skipped = page.locator(f'{item}[data-status="skipped"] .status')
    await expect(skipped).to_have_text("skipped")
    await expect(skipped).to_have_class(re.compile(r"\bstatus-skipped\b"))
    pending = page.locator(f'{item}[data-status="pending"] .status')
    assert (await _border_style(skipped), await _border_style(pending)) == ("dashed", "solid")


@needs_chromium
@pytest.mark.slow
@pytest.mark.timeout(240)
async def test_a_skipped_delivery_shows_its_badge_and_reason(
    chromium: Browser, live: LiveApp, clock: ManualClock
) -> None:
    first, skipped = await _skipped_behind_a_pending_one(live, clock)
    reason = f"overlap skip: delivery {first} is still unfinished"
    context = await chromium.new_context()
    page = await context.new_page()
    page.set_default_timeout(DEADLINE * 1000)
    try:
        await _sign_in(page, live)
        await page.goto(f"{live.base_url}/ui/events/shop/sync")
        await _expect_badges(page, '[data-testid="delivery"]')
        history_reason = page.locator('[data-testid="delivery"][data-status="skipped"]')
        await expect(history_reason.get_by_test_id("skip-reason")).to_have_text(
            f"Not sent: {reason}"
        )
        await expect(page.get_by_test_id("skip-reason")).to_have_count(1)

        await page.goto(f"{live.base_url}/ui/deliveries")
        await _expect_badges(page, '[data-testid="delivery-row"]')
        row = page.locator('[data-testid="delivery-row"][data-status="skipped"]')
        await expect(row.get_by_test_id("skip-reason")).to_have_text(f"Not sent: {reason}")
        assert skipped != first
    finally:
        await context.close()
