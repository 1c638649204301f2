"""Many event upserts in one call (``POST /v1/events/batch``): a result per item, in order.

Each item is a PUT of its (service, key): created when absent, else made to say what
the document says, under exactly PUT's rules. An item's refusal is that item's answer
only. Items are written a chunk per transaction (the writer is held for one chunk, then
the scheduler gets its turn): in each, one query reads the chunk's stored events, one
the actions its new events name, one count per service checks the event quota, and the
new events go in one multi-row insert (``StoreTransaction.insert_new_events``). Every answer
is a row the database returned after the write, so it is exactly what was stored.

Framework-free, like ``event_ops``, whose rules it shares.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import RowMapping

from onewatch.application.action_ops import Written
from onewatch.application.audit import Actor
from onewatch.application.event_ops import (
    EventContext,
    EventRules,
    calendar_rules_from,
    check_action_target,
    created_entry,
    overwrite,
    settle_calendar,
    unchecked_row,
)
from onewatch.application.races import PUT_ATTEMPTS
from onewatch.domain.documents import EventDocument
from onewatch.domain.statuses import LIVE_EVENT_STATUSES
from onewatch.errors import Conflict, OnewatchError
from onewatch.ports import StoreTransaction
from onewatch.security.quotas import check_live_count

log = structlog.get_logger("onewatch.api")

#: The most items one batch may hold.
MAX_ITEMS = 1000
#: Items written per transaction (as ``store.group_commit.MAX_BATCH`` bounds a flush).
CHUNK_ITEMS = 250

#: What became of one item: its stored row, or why it was not stored.
Outcome = Written | Exception


@dataclass(frozen=True)
class Prepared:
    """An item that passed every check needing no store, and the row it would insert."""

    document: EventDocument
    row: dict[str, Any]

    @property
    def identity(self) -> tuple[str, str]:
        return self.row["service"], self.document.key


def prepare(service: str, document: EventDocument, now: datetime, rules: EventRules) -> Prepared:
    """Check the pattern and an inline target (``ValidationFailed``); done before the
    transaction, so the writer is held only for the checks that read the store."""
    return Prepared(document, unchecked_row(service, document, now, rules))


async def upsert_events(
    context: EventContext, items: Sequence[Prepared | Exception], actor: Actor
) -> list[Outcome]:
    """Write the prepared items (an ``Exception`` is an item refused already, kept as is);
    each write is audited in its chunk's transaction."""
    outcomes: list[Outcome | None] = [
        item if isinstance(item, Exception) else None for item in items
    ]
    prepared = [(index, item) for index, item in enumerate(items) if isinstance(item, Prepared)]
    for start in range(0, len(prepared), CHUNK_ITEMS):
        chunk = prepared[start : start + CHUNK_ITEMS]
        written = await _write_chunk(context, [item for _, item in chunk], actor)
        for (index, _), outcome in zip(chunk, written, strict=True):
            outcomes[index] = outcome
    answered = [outcome for outcome in outcomes if outcome is not None]
    _notify(context, answered)
    return answered


def _notify(context: EventContext, outcomes: Sequence[Outcome]) -> None:
    """Wake the scheduler once: for the earliest new event, and for any replaced one."""
    written = [outcome for outcome in outcomes if isinstance(outcome, Written)]
    due = [w.row["next_occurrence"] for w in written if w.created and w.row["next_occurrence"]]
    if due:
        context.on_change(min(due))
    if any(w.changed and not w.created for w in written):
        context.on_change(None)


async def _write_chunk(
    context: EventContext, chunk: Sequence[Prepared], actor: Actor
) -> list[Outcome]:
    """Write a chunk; items that lost a race (``Conflict``) are read and written again."""
    outcomes: list[Outcome] = [Conflict("not written")] * len(chunk)
    pending = list(range(len(chunk)))
    for _attempt in range(PUT_ATTEMPTS):
        answers = await _in_transaction(context, [chunk[index] for index in pending], actor)
        for index, outcome in zip(pending, answers, strict=True):
            outcomes[index] = outcome
        pending = [index for index in pending if _lost_race(outcomes[index])]
        if not pending:
            break
    return outcomes


def _lost_race(outcome: Outcome) -> bool:
    return isinstance(outcome, Conflict)


async def _in_transaction(
    context: EventContext, items: Sequence[Prepared], actor: Actor
) -> list[Outcome]:
    """The items in one transaction; if it fails as a whole (a database error, not an
    item's refusal), each item alone, so only an item that fails by itself fails."""
    try:
        async with context.store.write() as tx:
            return await _write(tx, items, context.clock.now(), context.rules, actor)
    except Exception as exc:
        if len(items) == 1:
            # One line: a rendered traceback (with its locals) took seconds per item.
            service, key = items[0].identity
            log.error("event batch item failed", service=service, key=key, error=repr(exc))
            return [exc]
    return [(await _in_transaction(context, [item], actor))[0] for item in items]


async def _write(
    tx: StoreTransaction,
    items: Sequence[Prepared],
    now: datetime,
    rules: EventRules,
    actor: Actor,
) -> list[Outcome]:
    """Replace the stored ones (PUT's way, one by one), then insert the new ones at once."""
    stored = await tx.get_events_by_identity([item.identity for item in items])
    outcomes: dict[int, Outcome] = {}
    new: list[int] = []
    for index, item in enumerate(items):
        current = stored.get(item.identity)
        if current is None:
            new.append(index)
        else:
            outcomes[index] = await _replace(tx, current, item, now, rules, actor)
    inserted = await _insert(tx, [items[index] for index in new], rules, actor)
    outcomes.update(zip(new, inserted, strict=True))
    return [outcomes[index] for index in range(len(items))]


async def _replace(
    tx: StoreTransaction,
    current: RowMapping,
    item: Prepared,
    now: datetime,
    rules: EventRules,
    actor: Actor,
) -> Outcome:
    service = item.identity[0]
    try:
        return await overwrite(tx, current, service, item.document, now, rules, actor)
    except OnewatchError as exc:
        return exc


async def _insert(
    tx: StoreTransaction, items: Sequence[Prepared], rules: EventRules, actor: Actor
) -> list[Outcome]:
    """Check each new event against the store (its action, the quota); insert the valid."""
    actions = await tx.get_actions_by_identity(_named_actions(items))
    calendars = await tx.get_calendars_by_identity(_named_calendars(items))
    live = await _live_counts(tx, items, rules.max_events)
    refusals: dict[int, Exception] = {}
    for index, item in enumerate(items):
        try:
            _check_new(item, actions, calendars, live, rules)
        except OnewatchError as exc:
            refusals[index] = exc
    accepted = [item.row for index, item in enumerate(items) if index not in refusals]
    rows = await tx.insert_new_events(accepted)
    await tx.record_audits([created_entry(actor, row) for row in rows.values()])
    return [refusals.get(index) or _inserted(rows, item) for index, item in enumerate(items)]


def _inserted(rows: Mapping[tuple[str, str], Any], item: Prepared) -> Outcome:
    row = rows.get(item.identity)
    if row is None:  # another request created it meanwhile: read and replace it
        return Conflict(f"event {item.identity[0]}/{item.identity[1]} was created meanwhile")
    return Written(row, created=True)


def _named_actions(items: Sequence[Prepared]) -> list[tuple[str, str]]:
    named = {(item.identity[0], item.document.action) for item in items if item.document.action}
    return sorted((service, action) for service, action in named if action is not None)


def _named_calendars(items: Sequence[Prepared]) -> list[tuple[str, str]]:
    named = {(item.identity[0], item.document.scheduling_pattern.calendar) for item in items}
    return sorted((service, key) for service, key in named if key is not None)


async def _live_counts(
    tx: StoreTransaction, items: Sequence[Prepared], max_events: int
) -> dict[str, int]:
    """Live events per service of the new live items (none needed when unlimited)."""
    if max_events <= 0:
        return {}
    services = {item.identity[0] for item in items if item.row["status"] in LIVE_EVENT_STATUSES}
    return {service: await tx.count_live_events(service) for service in sorted(services)}


def _check_new(
    item: Prepared,
    actions: Mapping[tuple[str, str], RowMapping],
    calendars: Mapping[tuple[str, str], RowMapping],
    live: dict[str, int],
    rules: EventRules,
) -> None:
    """A new event's checks that need the store, against what this chunk read and added."""
    service, document = item.identity[0], item.document
    calendar = document.scheduling_pattern.calendar
    if calendar is not None:
        found = calendars.get((service, calendar))
        settle_calendar(item.row, document, calendar_rules_from(service, calendar, found))
    if document.action is not None:
        action = actions.get((service, document.action))
        check_action_target(service, document, action, rules.policy)
    if service in live and item.row["status"] in LIVE_EVENT_STATUSES:
        check_live_count(service, live[service], rules.max_events)
        live[service] += 1
