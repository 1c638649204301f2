"""The event form carries overlap and jitter: editing an event through the dashboard must
not quietly put them back to their defaults."""

from __future__ import annotations

from tests.support.live import LiveApp
from tests.ui.support import browser, csrf_of, post_form

FIELDS = {
    "key": "nightly",
    "target": "webhook",
    "webhook.endpoint": "http://127.0.0.1:9/hook",
    "webhook.method": "POST",
    "schedulingPattern.pattern": "0 2 * * *",
    "schedulingPattern.jitterSeconds": "120",
    "overlap": "buffer_one",
}


async def test_overlap_and_jitter_survive_an_edit_through_the_form(live: LiveApp) -> None:
    async with browser(live, "alpha") as http:
        created = await post_form(http, "/ui/events/new", "/ui/events/new", **FIELDS)
        assert created.status_code == 303, created.text
        edit_page = (await http.get("/ui/events/alpha/nightly/edit")).text
        assert 'value="120"' in edit_page
        assert 'value="buffer_one" selected' in edit_page
        # The edit page's own values, sent back with one change (the pattern).
        changed = {
            **FIELDS,
            "schedulingPattern.pattern": "0 3 * * *",
            "csrf_token": csrf_of(edit_page),
        }
        saved = await http.post("/ui/events/alpha/nightly/edit", data=changed)
        assert saved.status_code == 303, saved.text
    async with live.client("alpha") as api:
        stored = (await api.get("/v1/events/alpha/nightly")).json()
    assert (stored["overlap"], stored["schedulingPattern"]["jitterSeconds"]) == ("buffer_one", 120)
    assert stored["schedulingPattern"]["pattern"] == "0 3 * * *"
