"""The audit log, on SQLite and PostgreSQL: each change writes its entry in its own
transaction, a change that fails (or whose entry fails) leaves neither, secrets stay out."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from onewatch.application import action_ops, event_batch, event_ops, signing_secret_ops
from onewatch.application.audit import (
    REDACTED,
    Actor,
    audit_change,
    redact_document,
    redact_endpoint,
)
from onewatch.application.delivery_ops import redrive_delivery
from onewatch.application.event_ops import EventContext, EventRules
from onewatch.application.render import event_json
from onewatch.delivery.target_policy import TargetPolicy
from onewatch.domain.documents import ActionDocument, EventDocument
from onewatch.errors import Conflict, NotFound
from onewatch.importer import import_documents
from onewatch.security.secrets_crypto import Keyring
from onewatch.store.base import SqlStore
from onewatch.store.records import AuditFilter
from onewatch.store.schema import audit_log, deliveries, events
from tests.support.live import ManualClock

ALICE = Actor("alice", "service", "api")
ROOT = Actor("root", "admin", "ui")
POLICY = TargetPolicy()  # loopback is allowed by default
DOOMED = "doomed"
#: The database's refusal: SQLAlchemy's wrapper, or sqlite3's own where a statement went
#: to the driver directly (``store.sqlite.one_trip``).
REFUSED = (DBAPIError, sqlite3.Error)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def context(store: SqlStore, clock: ManualClock) -> EventContext:
    return EventContext(store, clock, rules=EventRules(policy=POLICY))


def _event(key: str = "nightly", **changes: Any) -> EventDocument:
    document: dict[str, Any] = {
        "key": key,
        "webhook": {
            "endpoint": "http://user:hunter2@127.0.0.1:9/hook?api_key=k3y&page=1",
            "headers": {"Authorization": "Bearer t0ken", "X-Team": "billing"},
        },
        "params": {"header": {"X-Api-Key": "s3cret", "X-Trace": "yes"}},
        "schedulingPattern": {"pattern": "0 2 * * *", "timezone": "Europe/Berlin"},
    }
    document.update(changes)
    return EventDocument.model_validate(document)


def _action(key: str = "notify", **changes: Any) -> ActionDocument:
    document: dict[str, Any] = {
        "key": key,
        "type": "webhook",
        "webhook": {"endpoint": "http://127.0.0.1:9/<id>", "headers": {"Cookie": "c=1"}},
    }
    document.update(changes)
    return ActionDocument.model_validate(document)


async def _entries(store: SqlStore, **where: Any) -> list[dict[str, Any]]:
    """Every entry, oldest first."""
    async with store.read() as tx:
        rows = await tx.list_audit(AuditFilter(**where), before_id=None, limit=1000)
    return [dict(row) for row in reversed(rows)]


async def _count(engine: AsyncEngine, table: Any) -> int:
    async with engine.connect() as connection:
        return int((await connection.execute(select(func.count()).select_from(table))).scalar())


async def test_every_change_of_an_event_is_audited_with_who_when_before_and_after(
    context: EventContext, clock: ManualClock, store: SqlStore
) -> None:
    created = await event_ops.create_event(context, "alpha", _event(), ALICE)
    clock.advance(seconds=1)
    await event_ops.update_event(
        context, "alpha", "nightly", lambda _row: _event(title="Nightly"), ROOT
    )
    clock.advance(seconds=1)
    paused = await event_ops.pause_event(context, "alpha", "nightly", ALICE)
    await event_ops.pause_event(context, "alpha", "nightly", ALICE)  # no change: no entry
    resumed = await event_ops.resume_event(context, "alpha", "nightly", ALICE)
    delivery_id, _ = await event_ops.trigger_event(context, "alpha", "nightly", ALICE)
    await event_ops.remove_event(context, "alpha", "nightly", ALICE)

    entries = await _entries(store)
    assert [e["action"] for e in entries] == [
        "create", "update", "pause", "resume", "trigger", "delete",
    ]  # fmt: skip
    assert {(e["service"], e["resource_type"], e["resource_key"]) for e in entries} == {
        ("alpha", "event", "nightly")
    }
    create, update, pause, resume, trigger, delete = entries
    assert (create["actor"], create["actor_scope"], create["via"]) == ("alice", "service", "api")
    assert (update["actor"], update["actor_scope"], update["via"]) == ("root", "admin", "ui")
    assert [e["at"] for e in entries[:3]] == [
        clock.current - timedelta(seconds=2),
        clock.current - timedelta(seconds=1),
        clock.current,
    ]
    assert create["before"] is None
    assert create["after"]["id"] == event_json(created.row)["id"]
    assert (update["before"]["title"], update["after"]["title"]) == (None, "Nightly")
    assert (pause["before"]["status"], pause["after"]["status"]) == ("active", "paused")
    assert pause["after"]["updatedAt"] == event_json(paused)["updatedAt"]
    assert (resume["before"]["status"], resume["after"]["status"]) == ("paused", "active")
    assert resume["after"]["nextOccurrence"] == event_json(resumed)["nextOccurrence"]
    assert trigger["after"]["deliveryId"] == delivery_id
    assert delete["before"]["title"] == "Nightly" and delete["after"] is None


async def test_secrets_in_headers_and_urls_never_reach_the_log(
    context: EventContext, store: SqlStore
) -> None:
    await action_ops.create_action(
        store, context.clock, "alpha", _action(), policy=POLICY, actor=ALICE
    )
    await event_ops.create_event(context, "alpha", _event(), ALICE)
    await event_ops.update_event(context, "alpha", "nightly", lambda _r: _event(title="x"), ALICE)
    entries = await _entries(store)
    logged = json.dumps([[e["before"], e["after"]] for e in entries])
    for secret in ("hunter2", "k3y", "t0ken", "s3cret", "c=1"):
        assert secret not in logged
    after = entries[-1]["after"]
    assert after["webhook"]["headers"] == {"Authorization": REDACTED, "X-Team": "billing"}
    assert after["params"]["header"] == {"X-Api-Key": REDACTED, "X-Trace": "yes"}
    assert after["webhook"]["endpoint"] == (
        f"http://user:{REDACTED}@127.0.0.1:9/hook?api_key={REDACTED}&page=1"
    )
    assert entries[0]["after"]["webhook"]["headers"] == {"Cookie": REDACTED}


def test_an_endpoint_without_credentials_is_shown_as_it_is() -> None:
    plain = "https://hooks.example.org/<id>/run?page=2&id=<id>"
    assert redact_endpoint(plain) is plain
    assert redact_endpoint("https://h.example.org/?id=<id>&token=t") == (
        f"https://h.example.org/?id=<id>&token={REDACTED}"
    )
    assert REDACTED in redact_endpoint("https://a:b@hooks.example.org/")
    assert "b@" not in redact_endpoint("https://a:b@hooks.example.org/")


async def test_actions_are_audited_and_an_unchanged_put_writes_nothing(
    store: SqlStore, clock: ManualClock
) -> None:
    await action_ops.create_action(store, clock, "alpha", _action(), policy=POLICY, actor=ALICE)
    await action_ops.replace_action(store, clock, "alpha", _action(), policy=POLICY, actor=ALICE)
    changed = _action(payload={"n": 1})
    await action_ops.replace_action(store, clock, "alpha", changed, policy=POLICY, actor=ALICE)
    await action_ops.remove_action(store, "alpha", "notify", clock=clock, actor=ROOT)
    entries = await _entries(store)
    assert [(e["action"], e["resource_type"], e["actor"]) for e in entries] == [
        ("create", "action", "alice"),
        ("update", "action", "alice"),
        ("delete", "action", "root"),
    ]
    assert (entries[1]["before"]["payload"], entries[1]["after"]["payload"]) == ({}, {"n": 1})


async def test_refused_changes_leave_no_entry(
    context: EventContext, store: SqlStore, clock: ManualClock
) -> None:
    await event_ops.create_event(context, "alpha", _event(), ALICE)
    before = await _count(store.engine, audit_log)
    with pytest.raises(Conflict):
        await event_ops.create_event(context, "alpha", _event(), ALICE)
    with pytest.raises(NotFound):
        await event_ops.pause_event(context, "alpha", "absent", ALICE)
    with pytest.raises(NotFound):
        await action_ops.remove_action(store, "alpha", "absent", clock=clock, actor=ALICE)
    await action_ops.create_action(store, clock, "alpha", _action(), policy=POLICY, actor=ALICE)
    with pytest.raises(Conflict):
        await action_ops.create_action(store, clock, "alpha", _action(), policy=POLICY, actor=ALICE)
    assert await _count(store.engine, audit_log) == before + 1  # the first action only


async def _doom_audit_entries_of(engine: AsyncEngine, key: str) -> None:
    """A trigger that makes the database refuse the audit entries of ``key`` and of every
    pause: the change must then be rolled back with it (a real failure, no mock)."""
    async with engine.begin() as connection:
        if engine.dialect.name == "sqlite":
            await connection.execute(
                text(
                    "CREATE TRIGGER doom BEFORE INSERT ON audit_log "
                    f"WHEN NEW.resource_key = '{key}' OR NEW.action = 'pause' "
                    "BEGIN SELECT RAISE(ABORT, 'audit refused'); END"
                )
            )
            return
        await connection.execute(
            text(
                "CREATE FUNCTION doom() RETURNS trigger AS $$ BEGIN "
                f"IF NEW.resource_key = '{key}' OR NEW.action = 'pause' THEN "
                "RAISE EXCEPTION 'audit refused'; END IF; "
                "RETURN NEW; END $$ LANGUAGE plpgsql"
            )
        )
        await connection.execute(
            text(
                "CREATE TRIGGER doom BEFORE INSERT ON audit_log "
                "FOR EACH ROW EXECUTE FUNCTION doom()"
            )
        )


@pytest.fixture
async def doomed(store: SqlStore) -> AsyncIterator[None]:
    await _doom_audit_entries_of(store.engine, DOOMED)
    yield


async def _event_keys(engine: AsyncEngine) -> list[str]:
    async with engine.connect() as connection:
        return list((await connection.scalars(select(events.c.key).order_by(events.c.key))).all())


@pytest.mark.usefixtures("doomed")
async def test_a_change_whose_entry_fails_is_rolled_back(
    context: EventContext, store: SqlStore, clock: ManualClock
) -> None:
    with pytest.raises(REFUSED):
        await event_ops.replace_event(context, "alpha", _event(DOOMED), ALICE)
    with pytest.raises(REFUSED):
        await action_ops.create_action(
            store, clock, "alpha", _action(DOOMED), policy=POLICY, actor=ALICE
        )
    assert await _event_keys(store.engine) == []
    assert await _count(store.engine, audit_log) == 0
    await event_ops.create_event(context, "alpha", _event("fine"), ALICE)
    with pytest.raises(REFUSED):
        await event_ops.pause_event(context, "alpha", "fine", ALICE)
    async with store.engine.connect() as connection:
        statuses = (await connection.execute(select(events.c.key, events.c.status))).all()
    assert [tuple(row) for row in statuses] == [("fine", "active")]
    assert [e["action"] for e in await _entries(store)] == ["create"]


@pytest.mark.usefixtures("doomed")
async def test_in_a_group_commit_only_the_create_whose_entry_fails_is_lost(
    context: EventContext, store: SqlStore
) -> None:
    keys = ["a", DOOMED, "b", "c"]
    outcomes = await asyncio.gather(
        *(event_ops.create_event(context, "alpha", _event(key), ALICE) for key in keys),
        return_exceptions=True,
    )
    assert [isinstance(outcome, Exception) for outcome in outcomes] == [
        False, True, False, False,
    ]  # fmt: skip
    assert await _event_keys(store.engine) == ["a", "b", "c"]
    entries = await _entries(store)
    assert sorted(e["resource_key"] for e in entries) == ["a", "b", "c"]
    assert {e["action"] for e in entries} == {"create"}


async def test_a_batch_audits_each_created_and_replaced_item(
    context: EventContext, store: SqlStore
) -> None:
    await event_ops.create_event(context, "alpha", _event("old"), ALICE)
    now = context.clock.now()
    items: list[event_batch.Prepared | Exception] = [
        event_batch.prepare("alpha", _event("old", title="new title"), now, context.rules),
        event_batch.prepare("alpha", _event("fresh"), now, context.rules),
    ]
    await event_batch.upsert_events(context, items, ROOT)
    entries = await _entries(store)
    assert [(e["resource_key"], e["action"], e["actor"]) for e in entries] == [
        ("old", "create", "alice"),
        ("old", "update", "root"),
        ("fresh", "create", "root"),
    ]


async def test_signing_secrets_are_audited_by_id_never_by_value(
    store: SqlStore, clock: ManualClock
) -> None:
    keyring = Keyring({"k1": b"k" * 32}, "k1")
    async with store.write() as tx:  # a first send makes one
        first = (await tx.active_secrets("alpha", clock.now(), keyring=keyring))[0]
    added, second = await signing_secret_ops.add_secret(store, keyring, "alpha", clock, ALICE)
    new, third, _ends = await signing_secret_ops.rotate(
        store, keyring, "alpha", clock, timedelta(hours=1), ALICE
    )
    await signing_secret_ops.revoke(store, "alpha", added.id, clock, ROOT)
    with pytest.raises(NotFound):
        await signing_secret_ops.revoke(store, "alpha", added.id, clock, ROOT)
    entries = await _entries(store)
    assert [(e["action"], e["actor"], e["via"]) for e in entries] == [
        ("create", "onewatch", "system"),
        ("create", "alice", "api"),
        ("rotate", "alice", "api"),
        ("revoke", "root", "ui"),
    ]
    assert {e["resource_type"] for e in entries} == {"signing_secret"}
    rotated = entries[2]
    assert rotated["resource_key"] == str(new.id)
    assert sorted(rotated["after"]["rotated"]) == sorted(
        [entries[0]["resource_key"], str(added.id)]
    )
    async with store.engine.connect() as connection:
        everything = json.dumps(
            [list(row) for row in await connection.execute(select(audit_log))], default=str
        )
    for plaintext in (first, second, third):
        assert plaintext not in everything


async def test_a_redrive_is_audited_on_its_event(
    context: EventContext, store: SqlStore, clock: ManualClock
) -> None:
    await event_ops.create_event(context, "alpha", _event(), ALICE)
    delivery_id, _ = await event_ops.trigger_event(context, "alpha", "nightly", ALICE)
    view = await store.get_delivery(delivery_id)
    assert view is not None
    assert not await redrive_delivery(store, view, clock.now(), ROOT)  # not dead
    async with store.engine.begin() as connection:
        await connection.execute(
            deliveries.update().where(deliveries.c.id == delivery_id).values(status="dead")
        )
    assert await redrive_delivery(store, view, clock.now(), ROOT)
    redrive = (await _entries(store))[-1]
    assert (redrive["action"], redrive["resource_key"], redrive["actor"]) == (
        "redrive",
        "nightly",
        "root",
    )
    assert redrive["before"] == {"deliveryId": delivery_id, "status": "dead"}


async def test_filters_pages_and_prune(
    context: EventContext, store: SqlStore, clock: ManualClock
) -> None:
    for key in ("a", "b"):
        await event_ops.create_event(context, "alpha", _event(key), ALICE)
        clock.advance(days=1)
    await event_ops.create_event(context, "beta", _event("a"), ALICE)
    assert [e["service"] for e in await _entries(store, service="beta")] == ["beta"]
    only_a = await _entries(store, service="alpha", resource_type="event", resource_key="a")
    assert [e["resource_key"] for e in only_a] == ["a"]
    start = clock.current - timedelta(days=1)
    assert [e["resource_key"] for e in await _entries(store, since=start)] == ["b", "a"]
    assert [e["resource_key"] for e in await _entries(store, until=start)] == ["a"]
    async with store.read() as tx:
        first = await tx.list_audit(AuditFilter(), before_id=None, limit=2)
        rest = await tx.list_audit(AuditFilter(), before_id=first[-1]["id"], limit=2)
    assert len(first) == 2 and len(rest) == 1
    assert first[0]["id"] > first[1]["id"] > rest[0]["id"]
    async with store.write() as tx:
        assert await tx.prune_audit(older_than=start, limit=10) == 1
    assert len(await _entries(store)) == 2


def test_a_document_without_secrets_is_not_copied_and_one_with_them_is() -> None:
    plain = {"graphql": {"endpoint": "https://h.example.org/q"}, "params": {"header": {"X": "1"}}}
    assert redact_document(plain) is plain
    secret = {"graphql": {"endpoint": "https://h.example.org/q?token=t"}}
    safe = redact_document(secret)
    assert safe == {"graphql": {"endpoint": f"https://h.example.org/q?token={REDACTED}"}}
    assert secret["graphql"]["endpoint"].endswith("token=t")  # the original is untouched


async def test_an_import_is_audited_as_the_operating_system_user(
    context: EventContext, store: SqlStore
) -> None:
    action = {**_action().model_dump(by_alias=True, exclude_none=True), "service": "alpha"}
    results = await import_documents(context, [action])
    assert [result.outcome for result in results] == ["created"]
    (logged,) = await _entries(store)
    assert (logged["action"], logged["via"], logged["actor_scope"]) == ("create", "cli", "admin")
    assert logged["actor"].startswith("os:")


async def test_audit_change_records_a_new_kind_of_resource_redacted(
    store: SqlStore, clock: ManualClock
) -> None:
    """What the calendars wire in: a document as the API shows it, in the change's
    transaction (rolled back with it)."""
    calendar = {"key": "br-sp", "holidays": {"country": "BR"}, "webhook": {"headers": {}}}
    async with store.write() as tx:
        await audit_change(
            tx, ALICE, clock.now(), ("alpha", "calendar", "br-sp"), "create", None, calendar
        )
    with pytest.raises(RuntimeError):
        async with store.write() as tx:
            await audit_change(tx, ALICE, clock.now(), ("alpha", "calendar", "x"), "delete")
            raise RuntimeError("the change failed after its entry was written")
    (logged,) = await _entries(store, resource_type="calendar")
    assert (logged["resource_key"], logged["after"]) == ("br-sp", calendar)
