"""Creating, replacing and removing business calendars, one transaction each.

A calendar change rewrites, in the same transaction, the copy of the rules every event
that follows it keeps, and recomputes each live event's next fire from now (as a changed
schedule is): the scheduler never plans with rules older than the committed calendar.
Deliveries created already (the scheduler creates them up to its look-ahead early) are
not withdrawn. A calendar that events follow cannot be deleted (409 naming them).
Framework-free; callers have checked that the caller may act for ``service``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import RowMapping

from onewatch.application.action_ops import Written
from onewatch.application.audit import Actor, audit_change
from onewatch.application.event_ops import EventContext, resumed_state
from onewatch.application.races import retry_lost_race
from onewatch.application.render import calendar_json, event_as_input
from onewatch.domain.documents import CalendarDocument, SchedulingPattern
from onewatch.domain.schedule.business import holiday_rules_problem
from onewatch.domain.statuses import LIVE_EVENT_STATUSES, EventStatus
from onewatch.errors import Conflict, InUse, NotFound, ValidationFailed
from onewatch.ports import StoreTransaction

#: Event keys a refused delete names (the count says how many there are in all).
NAMED_USERS = 20


def check_holidays(document: CalendarDocument) -> None:
    """422 naming ``holidays.country`` or ``holidays.subdivision`` the package lacks."""
    rules = document.holidays
    if rules is None:
        return
    problem = holiday_rules_problem(rules.country, rules.subdivision)
    if problem is not None:
        field, reason = problem
        raise ValidationFailed(reason, field=f"holidays.{field}")


async def create_calendar(
    context: EventContext, service: str, document: CalendarDocument, *, actor: Actor
) -> Written:
    """POST: a new calendar; 409 when the service has one with this key."""
    check_holidays(document)
    async with context.store.write() as tx:
        return await _insert(tx, context, service, document, actor)


async def replace_calendar(
    context: EventContext, service: str, document: CalendarDocument, *, actor: Actor
) -> Written:
    """PUT: create the calendar, or make it say what ``document`` says (and its events follow)."""
    check_holidays(document)

    async def attempt() -> Written:
        async with context.store.write() as tx:
            current = await tx.lock_calendar(service, document.key)
            if current is None:
                return await _insert(tx, context, service, document, actor)
            return await _overwrite(tx, context, current, document.rules(), actor)

    written = await retry_lost_race(attempt)
    if written.changed and not written.created:
        context.on_change(None)
    return written


async def _insert(
    tx: StoreTransaction,
    context: EventContext,
    service: str,
    document: CalendarDocument,
    actor: Actor,
) -> Written:
    now = context.clock.now()
    values = {
        "service": service,
        "key": document.key,
        "rules": document.rules(),
        "created_at": now,
        "updated_at": now,
    }
    await tx.insert_calendar(values)
    row = await _reload(tx, service, document.key)
    target = (service, "calendar", document.key)
    await audit_change(tx, actor, now, target, "create", after=calendar_json(row))
    return Written(row, created=True)


async def _reload(tx: StoreTransaction, service: str, key: str) -> RowMapping:
    row = await tx.get_calendar(service, key)
    assert row is not None
    return row


async def _overwrite(
    tx: StoreTransaction,
    context: EventContext,
    current: RowMapping,
    rules: dict[str, Any],
    actor: Actor,
) -> Written:
    if current["rules"] == rules:
        return Written(current, changed=False)
    now = context.clock.now()
    values = {"rules": rules, "updated_at": now}
    if not await tx.update_calendar(current["id"], current["version"], values):
        raise Conflict("the calendar changed while this request ran; retry")
    await _events_follow(tx, context, current["service"], current["key"], rules)
    row = await _reload(tx, current["service"], current["key"])
    target = (current["service"], "calendar", current["key"])
    before, after = calendar_json(current), calendar_json(row)
    await audit_change(tx, actor, now, target, "update", before=before, after=after)
    return Written(row)


async def _events_follow(
    tx: StoreTransaction,
    context: EventContext,
    service: str,
    key: str,
    rules: Mapping[str, Any],
) -> None:
    """Every event of the calendar takes the new rules; a live one, its next fire from now."""
    now = context.clock.now()
    for event in await tx.events_using_calendar(service, key):
        values: dict[str, Any] = {"calendar_rules": dict(rules), "updated_at": now}
        if event["status"] in LIVE_EVENT_STATUSES:
            values.update(_next_state(event, rules, now=now))
        if not await tx.update_event(event["id"], event["version"], values):
            raise Conflict(f"event {service}/{event['key']} changed while this ran; retry")


def _next_state(event: RowMapping, rules: Mapping[str, Any], *, now: datetime) -> dict[str, Any]:
    """nextOccurrence (and completed, when none is left) under the new rules; a paused
    event stays paused and keeps the recomputed time for display."""
    pattern = SchedulingPattern.model_validate(event_as_input(event)["schedulingPattern"])
    state = resumed_state(event, pattern, now, rules)
    if event["status"] != EventStatus.ACTIVE and state["next_occurrence"] is not None:
        state["status"] = event["status"]
    return state


async def remove_calendar(context: EventContext, service: str, key: str, *, actor: Actor) -> None:
    """Delete a calendar no event follows (an event's calendar must always exist)."""
    async with context.store.write() as tx:
        current = await tx.lock_calendar(service, key)
        if current is None:
            raise NotFound(f"no calendar {service}/{key}")
        count, keys = await tx.keys_of_events_using_calendar(service, key, limit=NAMED_USERS)
        if count:
            raise InUse(
                f"{count} event(s) follow this calendar ({', '.join(keys)}"
                f"{', ...' if count > len(keys) else ''}); change or delete them first",
                users=keys,
                user_count=count,
            )
        await tx.delete_calendar(current["id"])
        target = (service, "calendar", key)
        before = calendar_json(current)
        await audit_change(tx, actor, context.clock.now(), target, "delete", before=before)
