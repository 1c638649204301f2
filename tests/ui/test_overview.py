"""The overview's "next 24 hours" chart: whole, truthful, and computed off the event loop."""

from __future__ import annotations

import asyncio
import importlib
import re
import threading
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import RowMapping

from onewatch.ui import upcoming
from tests.support.live import LiveApp, ManualClock
from tests.support.waiting import wait_for
from tests.ui.support import browser

#: ``onewatch.ui`` re-exports the route module under this name; the figures module itself.
overview = importlib.import_module("onewatch.ui.overview")

GATE_SECONDS = 20.0


def _event(key: str, pattern: str, **schedule: Any) -> dict[str, Any]:
    return {
        "key": key,
        "webhook": {"endpoint": "http://127.0.0.1:9/hook"},
        "schedulingPattern": {"pattern": pattern, "timezone": "UTC", **schedule},
    }


async def _create(live: LiveApp, service: str, *documents: dict[str, Any]) -> None:
    """One batch request: 120 single creates could outrun the request quota's burst."""
    async with live.client(service) as api:
        answer = await api.post("/v1/events/batch", json={"items": list(documents)})
        assert answer.status_code == 200, answer.text
        assert [item["status"] for item in answer.json()["items"]] == [201] * len(documents)


def _bars(html: str) -> list[int]:
    return [int(n) for n in re.findall(r": (\d+) fire\(s\)</title>", html)]


async def test_a_dense_event_is_charted_over_the_whole_day(live: LiveApp) -> None:
    """Every 30 s is 2,880 fires a day: the chart used to stop counting at +12 h."""
    await _create(live, "alpha", _event("dense", "@every 30s"))
    async with browser(live, "alpha") as http:
        html = (await http.get("/ui/")).text
    # From 2030-01-01T00:00Z: 00:00:30, 00:01:00, ... 23:59:30.
    assert _bars(html) == [119] + [120] * 23
    assert 'data-testid="chart-incomplete"' not in html


async def test_separation_limits_and_end_are_honoured(live: LiveApp) -> None:
    await _create(
        live,
        "alpha",
        _event("every-minute", "* * * * *"),
        _event("every-other", "@every 1m", separation=2),
        _event("twenty", "@every 30s", maxOccurrences=20),
        _event("ends", "@every 10m", endAt="2030-01-01T03:00:00Z"),
    )
    async with browser(live, "alpha") as http:
        bars = _bars((await http.get("/ui/")).text)
    # From 2030-01-01T00:00Z: every minute from 00:01 (59 in hour 0, then 60), every other
    # minute from 00:01 (30), 20 fires 30 s apart in hour 0, every 10 minutes from 00:10
    # to 03:00 inclusive (5 in hour 0, 6 in hours 1 and 2, 1 in hour 3).
    assert bars[0] == 59 + 30 + 20 + 5
    assert bars[1] == bars[2] == 60 + 30 + 6
    assert bars[3] == 60 + 30 + 1
    assert bars[4:] == [90] * 20


async def test_an_overdue_event_counts_what_the_scheduler_would_fire(
    live: LiveApp, clock: ManualClock
) -> None:
    """Six hours behind on an every-minute event: fire_once delivers one, then on time."""
    await _create(live, "alpha", _event("late", "* * * * *"))
    clock.advance(hours=6)
    async with browser(live, "alpha") as http:
        bars = _bars((await http.get("/ui/")).text)
    # One catch-up fire for the span missed (older than now - 60 s of grace), the minute
    # before now and now itself are on time, then 59 more in the first hour.
    assert bars[0] == 1 + 2 + 59
    assert bars[1:] == [60] * 23


async def test_a_chart_past_its_budget_says_its_bars_are_lower_bounds(live: LiveApp) -> None:
    """Distinct every-minute schedules cost a walk each; past the budget the page says so."""
    distinct = upcoming.STEP_BUDGET // 1440 + 5
    ends = [f"2031-01-01T00:{n // 60:02d}:{n % 60:02d}Z" for n in range(distinct)]
    await _create(
        live, "alpha", *[_event(f"e{n}", "* * * * *", endAt=end) for n, end in enumerate(ends)]
    )
    async with browser(live, "alpha") as http:
        html = (await http.get("/ui/")).text
    assert 'data-testid="chart-incomplete"' in html
    bars = [int(n) for n in re.findall(r": at least (\d+) fire\(s\)</title>", html)]
    assert len(bars) == 24
    assert all(distinct * 60 > bar >= 60 for bar in bars)


async def test_the_event_loop_answers_while_the_overview_is_computed(
    live: LiveApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A gate holds the chart's computation until /healthz has answered.

    Computed on the event loop (as it was), the held chart blocks everything, /healthz
    included, until the gate gives up; computed in a worker thread, /healthz answers
    while the overview is still being computed.
    """
    await _create(live, "alpha", *[_event(f"e{n}", f"{n % 60} * * * *") for n in range(120)])
    started, release = threading.Event(), threading.Event()
    real = overview.hourly_fires

    def held(groups: Sequence[RowMapping], now: datetime, **options: Any) -> Any:
        started.set()
        release.wait(GATE_SECONDS)
        return real(groups, now, **options)

    monkeypatch.setattr(overview, "hourly_fires", held)
    async with browser(live, "alpha") as http:
        page = asyncio.create_task(http.get("/ui/"))
        await wait_for(started.is_set, seconds=GATE_SECONDS * 2, what="the chart computing")
        health = await http.get("/healthz")
        still_computing = not page.done()
        release.set()
        html = (await page).text
    assert health.status_code == 200
    assert still_computing, "/healthz waited for the overview: the loop was blocked"
    # Two events per minute of the hour; the one at :00 next fires at 01:00 (23 in the day).
    assert sum(_bars(html)) == 2 * (23 + 59 * 24)
