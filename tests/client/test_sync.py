"""``Client`` against a real ``onewatch serve`` process: every method, answers and errors."""

from __future__ import annotations

import socket
from datetime import UTC, datetime

import pytest

from onewatch.client import (
    Action,
    AuthenticationFailed,
    Client,
    ClientError,
    Conflict,
    ConnectionFailed,
    Delivery,
    Event,
    EventDocument,
    InvalidRequest,
    NotFound,
    PermissionDenied,
    SchedulingPattern,
    UnexpectedAnswer,
)
from onewatch.errors import OnewatchError
from tests.client.documents import event, inline_event, webhook_action
from tests.support.server_process import ServerProcess, Target, wait_for

DEADLINE = 30.0


def _settled(onewatch: Client, delivery_id: str, status: str) -> Delivery:
    return wait_for(
        lambda: (d := onewatch.deliveries.get(delivery_id)).status == status and d,
        within=DEADLINE,
        what=f"delivery {delivery_id} {status}",
    )


def test_actions_every_method(server: ServerProcess, target: Target) -> None:
    with Client(server.base_url, server.token("s-actions")) as onewatch:
        assert onewatch.service == "s-actions"
        made = onewatch.actions.create(webhook_action("a1", target.url()))
        assert isinstance(made, Action) and made.service == "s-actions"
        assert made.webhook is not None and made.webhook.endpoint == target.url()
        with pytest.raises(Conflict) as taken:
            onewatch.actions.create(webhook_action("a1", target.url()))
        assert taken.value.status_code == 409 and taken.value.code == "conflict"

        again = onewatch.actions.upsert(webhook_action("a1", target.url()))
        assert again.updated_at == made.updated_at  # the same document changes nothing
        patched = onewatch.actions.update("a1", {"payload": {"n": 1}})
        assert patched.payload == {"n": 1} and onewatch.actions.get("a1").payload == {"n": 1}

        for key in ("a2", "a3"):
            onewatch.actions.upsert(webhook_action(key, target.url()))
        first = onewatch.actions.page(limit=2)
        assert [a.key for a in first.items] == ["a1", "a2"] and first.next_cursor
        assert [a.key for a in onewatch.actions.page(first.next_cursor, limit=2).items] == ["a3"]
        assert [a.key for a in onewatch.actions.list(page_size=1)] == ["a1", "a2", "a3"]

        onewatch.actions.delete("a3")
        with pytest.raises(NotFound):
            onewatch.actions.get("a3")


def test_events_every_method(server: ServerProcess, target: Target) -> None:
    with Client(server.base_url, server.token("s-events")) as onewatch:
        onewatch.actions.create(webhook_action("hook", target.url()))
        made = onewatch.events.create(event("e1", "hook"))
        assert isinstance(made, Event) and made.status == "active"
        assert made.next_occurrence is not None and made.next_occurrence.tzinfo is not None
        assert made.scheduling_pattern.timezone == "Europe/Berlin"

        typed = EventDocument.model_validate(event("e2", "hook"))
        assert onewatch.events.upsert(typed).key == "e2"
        same = onewatch.events.upsert(event("e1", "hook"))
        assert same.updated_at == made.updated_at
        assert onewatch.events.update("e1", {"title": "Renamed"}).title == "Renamed"
        assert onewatch.events.get("e1").title == "Renamed"

        assert onewatch.events.pause("e1").status == "paused"
        assert [e.key for e in onewatch.events.list(status="paused")] == ["e1"]
        assert onewatch.events.resume("e1").status == "active"
        assert [e.key for e in onewatch.events.list(page_size=1)] == ["e1", "e2"]
        assert onewatch.events.page(action="hook", limit=1).next_cursor is not None

        fired = onewatch.events.trigger("e1")
        assert fired.kind == "manual" and fired.event_key == "e1"
        done = _settled(onewatch, fired.id, "succeeded")
        assert done.attempts[0].status_code == 200
        assert [d.id for d in onewatch.deliveries.list(event="e1")] == [fired.id]
        with pytest.raises(Conflict, match="only a dead delivery"):
            onewatch.deliveries.redrive(fired.id)

        onewatch.events.delete("e1")
        with pytest.raises(NotFound) as gone:
            onewatch.events.get("e1")
        assert gone.value.status_code == 404 and "e1" in str(gone.value)


def test_preview(server: ServerProcess) -> None:
    with Client(server.base_url, server.token("s-preview")) as onewatch:
        after = datetime(2030, 3, 30, tzinfo=UTC)
        pattern = SchedulingPattern(pattern="30 2 * * *", timezone="Europe/Berlin")
        preview = onewatch.events.preview(pattern, count=2, after=after)
    # 02:30 does not exist on 31 March 2030 in Berlin: it fires once, at 03:00 CEST.
    assert preview.next_fires == [
        datetime(2030, 3, 30, 1, 30, tzinfo=UTC),
        datetime(2030, 3, 31, 1, 0, tzinfo=UTC),
    ]
    assert preview.timezone == "Europe/Berlin" and preview.description


def test_dead_delivery_is_listed_and_redriven(server: ServerProcess, target: Target) -> None:
    with Client(server.base_url, server.token("s-dead")) as onewatch:
        onewatch.events.create(inline_event("failing", target.url(400)))
        fired = onewatch.events.trigger("failing")
        dead = _settled(onewatch, fired.id, "dead")
        assert dead.last_status_code == 400
        assert [d.id for d in onewatch.deliveries.list(status="dead")] == [fired.id]
        assert onewatch.deliveries.page(status="succeeded").items == []
        redriven = onewatch.deliveries.redrive(fired.id)
        assert redriven.id == fired.id and redriven.status in ("pending", "running", "retrying")
        assert len(_settled(onewatch, fired.id, "dead").attempts) == 2  # sent once more


def test_errors_carry_the_servers_field_and_message(server: ServerProcess) -> None:
    with Client(server.base_url, server.token("s-errors")) as onewatch:
        bad = event("bad", "nothing", schedulingPattern={"pattern": "61 * * * *"})
        with pytest.raises(InvalidRequest) as refused:
            onewatch.events.create(bad)
        assert refused.value.status_code == 422
        assert refused.value.field == "schedulingPattern.pattern"
        assert "out of range" in refused.value.errors[0].reason
        assert isinstance(refused.value, OnewatchError)
        with pytest.raises(InvalidRequest) as unknown:
            onewatch.events.create({**event("bad", "nothing"), "schedulingPatern": {}})
        assert "schedulingPatern" in {item.field for item in unknown.value.errors}
        with pytest.raises(PermissionDenied):
            onewatch.events.page(service="someone-else")
        with pytest.raises(NotFound):
            onewatch.deliveries.get("no-such-delivery")
    with Client(server.base_url, "not-a-token", service="s-errors") as anonymous:
        with pytest.raises(AuthenticationFailed) as refused_token:
            anonymous.events.get("x")
        assert refused_token.value.status_code == 401
    with Client(server.base_url, "not-a-token") as nameless, pytest.raises(ClientError):
        nameless.events.get("x")


def test_an_unreachable_server_is_one_clear_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    unreachable = f"http://127.0.0.1:{port}"
    with (
        Client(unreachable, "t", service="s") as onewatch,
        pytest.raises(ConnectionFailed, match=f"{port} could not be reached"),
    ):
        onewatch.events.get("x")


def test_an_answer_that_is_not_the_apis_is_a_clear_error(target: Target) -> None:
    # The target answers every path with 200 {"status": 200}: not an event.
    with (
        Client(target.base_url, "t", service="s") as onewatch,
        pytest.raises(UnexpectedAnswer, match="GET /v1/events/s/x: the answer is not"),
    ):
        onewatch.events.get("x")


def test_calendars_every_method(server: ServerProcess, target: Target) -> None:
    with Client(server.base_url, server.token("s-calendars")) as onewatch:
        made = onewatch.calendars.create(
            {"key": "br", "holidays": {"country": "BR"}, "exclude": ["2031-01-02"]}
        )
        assert made.service == "s-calendars" and made.holidays is not None
        assert made.holidays.country == "BR"
        with pytest.raises(Conflict):
            onewatch.calendars.create({"key": "br"})
        with pytest.raises(InvalidRequest) as refused:
            onewatch.calendars.create({"key": "zz", "holidays": {"country": "ZZ"}})
        assert [error.field for error in refused.value.errors] == ["holidays.country"]
        onewatch.actions.create(webhook_action("a1", target.url()))
        pattern = {"pattern": "0 9 * * *", "calendar": "br", "businessDay": -1}
        onewatch.events.create({**event("e1", "a1"), "schedulingPattern": pattern})
        with pytest.raises(Conflict):
            onewatch.calendars.delete("br")
        changed = onewatch.calendars.upsert({"key": "br", "weekend": ["FRI", "SAT"]})
        assert changed.weekend == ["FRI", "SAT"] and changed.holidays is None
        assert [c.key for c in onewatch.calendars.list()] == ["br"]
        assert onewatch.calendars.get("br") == changed
        preview = onewatch.events.preview(
            SchedulingPattern(pattern="0 9 * * *", calendar="br"), count=7
        )
        assert preview.calendar == "br" and preview.days_off[0].reason.startswith("weekend")
        onewatch.events.delete("e1")
        onewatch.calendars.delete("br")
        with pytest.raises(NotFound):
            onewatch.calendars.get("br")
