"""/docs in a real browser with every other host cut off: Swagger UI renders and calls the API.

Debian's Chromium, as in ``test_browser``; requests to anywhere but the node are aborted
and recorded, and the page's Content-Security-Policy must not refuse anything it loads.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.async_api import (
    Browser,
    ConsoleMessage,
    Page,
    Route,
    expect,
)

from tests.support.live import LiveApp, live_app
from tests.ui.chromium import DEADLINE, needs_chromium

pytestmark = [
    needs_chromium,
    pytest.mark.slow,
    pytest.mark.timeout(120),
]


@pytest.fixture
async def node(tmp_path: Path) -> AsyncIterator[LiveApp]:
    async with live_app(tmp_path) as live:
        yield live


async def _authorize(page: Page, token: str) -> None:
    """The bearer scheme in the document gives Swagger UI its Authorize dialog."""
    await page.locator(".btn.authorize").first.click()
    dialog = page.locator(".auth-container")
    await dialog.locator("input").first.fill(token)
    await dialog.locator("button.authorize").click()
    await page.locator("button.btn-done").click()


async def _try_listing_events(page: Page) -> None:
    """Try it out: the page calls the API with the token, and shows its 200."""
    operation = page.locator(".opblock-get", has_text="/v1/events").first
    await operation.locator(".opblock-summary").click()
    await operation.locator(".try-out__btn").click()
    await operation.locator(".execute").click()
    status = operation.locator(".live-responses-table tbody .response-col_status").first
    await expect(status).to_have_text("200", timeout=DEADLINE * 1000)


async def test_swagger_ui_renders_every_operation_offline(chromium: Browser, node: LiveApp) -> None:
    own = urlsplit(node.base_url).netloc
    blocked: list[str] = []
    refusals: list[str] = []
    context = await chromium.new_context()

    async def only_the_node(route: Route) -> None:
        if urlsplit(route.request.url).netloc == own:
            await route.continue_()
        else:
            blocked.append(route.request.url)
            await route.abort()

    def note_refusal(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text or message.type == "error":
            refusals.append(message.text)

    await context.route("**/*", only_the_node)
    page = await context.new_page()
    page.on("console", note_refusal)
    page.on("pageerror", lambda error: refusals.append(str(error)))
    try:
        await page.goto(f"{node.base_url}/docs")
        operations = page.locator(".opblock")
        await expect(operations.first).to_be_visible(timeout=DEADLINE * 1000)
        await expect(
            page.locator(".opblock-summary-path", has_text="/v1/events").first
        ).to_be_visible()
        assert await operations.count() >= 20
        await _authorize(page, node.token("billing"))
        await _try_listing_events(page)
    finally:
        await context.close()
    assert blocked == []
    assert refusals == []
