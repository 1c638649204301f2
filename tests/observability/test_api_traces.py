"""API requests, the fast create path included, are SERVER spans named after their route,
children of the caller's ``traceparent``; a node without tracing is not wrapped at all."""

from __future__ import annotations

from pathlib import Path

import pytest

from onewatch.api.app import create_app
from onewatch.api.fast_create import FastCreate
from onewatch.runtime import Runtime
from onewatch.store import open_store
from tests.api.samples import event, webhook_action
from tests.support.live import live_app, node_settings
from tests.support.otlp_receiver import SERVER, OtlpReceiver, ReceivedSpan
from tests.support.waiting import wait_for

CALLER_TRACE = 0x4BF92F3577B34DA6A3CE929D0E0E4736
CALLER_SPAN = 0x00F067AA0BA902B7


async def _server_spans(receiver: OtlpReceiver, name: str, count: int) -> list[ReceivedSpan]:
    def found() -> list[ReceivedSpan]:
        return [span for span in receiver.named(name) if span.kind == SERVER]

    await wait_for(lambda: len(found()) >= count, what=f"{count} {name} span(s) exported")
    return sorted(found(), key=lambda span: span.start_ns)


async def test_api_requests_are_server_spans_named_after_their_route(
    otel_environment: OtlpReceiver, tmp_path: Path
) -> None:
    caller = {"traceparent": f"00-{CALLER_TRACE:032x}-{CALLER_SPAN:016x}-01"}
    async with live_app(tmp_path, traced=True) as live, live.client("billing") as http:
        assert (await http.post("/v1/actions", json=webhook_action())).status_code == 201
        created = await http.post("/v1/events", json=event(), headers=caller)
        assert created.status_code == 201
        assert (await http.get("/v1/events/billing/monthly")).status_code == 200
        assert (await http.get("/v1/events/billing/absent")).status_code == 404
        (create,) = await _server_spans(otel_environment, "POST /v1/events", 1)
        read, absent = await _server_spans(otel_environment, "GET /v1/events/{service}/{key}", 2)

    assert create.attributes["http.route"] == "/v1/events"
    assert create.attributes["http.request.method"] == "POST"
    assert create.attributes["http.response.status_code"] == 201
    assert (create.trace_id, create.parent_span_id) == (CALLER_TRACE, CALLER_SPAN)
    assert read.attributes["url.path"] == "/v1/events/billing/monthly"
    assert read.attributes["http.response.status_code"] == 200
    assert read.parent_span_id is None
    assert absent.attributes["url.path"] == "/v1/events/billing/absent"
    assert absent.attributes["http.response.status_code"] == 404
    assert "error.type" not in absent.attributes  # a 4xx is the client's error
    assert read.attributes["server.port"] == int(live.base_url.rsplit(":", 1)[1])
    assert read.attributes["client.address"] == "127.0.0.1"


async def test_excluded_paths_make_no_span_and_queries_are_redacted(
    otel_environment: OtlpReceiver, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_PYTHON_EXCLUDED_URLS", "healthz,^/readyz$")
    async with live_app(tmp_path, traced=True) as live, live.client("billing") as http:
        assert (await http.get("/healthz")).status_code == 200
        assert (await http.get("/v1/events", params={"limit": "5"})).status_code == 200
        (listed,) = await _server_spans(otel_environment, "GET /v1/events", 1)
    assert listed.attributes["url.query"] == "limit=REDACTED"
    assert not [span for span in otel_environment.spans if "/healthz" in span.name]
    assert all(span.attributes.get("url.path") != "/healthz" for span in otel_environment.spans)


def test_without_tracing_the_front_door_is_the_fast_create_itself(tmp_path: Path) -> None:
    settings = node_settings(tmp_path, ["api"])
    runtime = Runtime(settings=settings, store=open_store(settings.resolved_database_url))
    app = create_app(runtime)
    assert isinstance(app.front_door, FastCreate)  # type: ignore[attr-defined]
