"""Creating, replacing, pausing, resuming and triggering events, one transaction each.

Framework-free so that ``onewatch import`` runs exactly the same rules as the HTTP API.
Every change of a stored event is conditional on its ``version`` (the scheduler advances
the same rows), and each committed change wakes the scheduler.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import RowMapping

from onewatch.application.action_ops import Written
from onewatch.application.audit import Actor, entry, event_document, redact_document
from onewatch.application.races import retry_lost_race
from onewatch.application.render import event_as_input, event_json
from onewatch.application.scheduling import compile_pattern, first_fire, next_fire
from onewatch.clock import Clock
from onewatch.delivery.request import fill_endpoint
from onewatch.delivery.target_policy import TargetPolicy, policy_from_settings
from onewatch.domain.documents import (
    AWS_TARGET_KINDS,
    EventDocument,
    GraphqlTarget,
    SchedulingPattern,
    WebhookTarget,
    placeholders,
    utc_text,
)
from onewatch.domain.schedule import Schedule, normalize_timezone
from onewatch.domain.schedule.business import SEARCH_YEARS
from onewatch.domain.statuses import FINAL_EVENT_STATUSES, LIVE_EVENT_STATUSES, EventStatus
from onewatch.errors import Conflict, NotFound, OnewatchError, ValidationFailed
from onewatch.ports import Store, StoreTransaction
from onewatch.security.quotas import check_event_quota
from onewatch.settings import Settings
from onewatch.store.records import AuditEntry, StoredRow, json_text

#: Columns that decide when an event fires: changing one recomputes ``nextOccurrence``.
SCHEDULE_COLUMNS = (
    "pattern",
    "timezone",
    "separation",
    "max_occurrences",
    "start_at",
    "end_at",
    "calendar_key",
    "calendar_rules",
    "non_business_day",
    "business_day",
)


@dataclass(frozen=True)
class EventRules:
    """The operator's limits an event must keep: where it may call, how many per service."""

    policy: TargetPolicy = field(default_factory=TargetPolicy)
    #: Active and paused events per service (0: unlimited).
    max_events: int = 0

    @classmethod
    def from_settings(cls, settings: Settings) -> EventRules:
        return cls(policy_from_settings(settings), settings.quota_max_events)


def _nobody_listens(_due: datetime | None) -> None:
    """The default ``on_change``: no scheduler in this process to wake (``onewatch import``)."""


@dataclass(frozen=True)
class EventContext:
    """What every event operation needs from the node."""

    store: Store
    clock: Clock
    #: Called after each committed change (``runtime.wakeup.notify``), with the changed
    #: event's next due time when there is one.
    on_change: Callable[[datetime | None], None] = _nobody_listens
    rules: EventRules = field(default_factory=EventRules)


def event_definition(
    service: str,
    document: EventDocument,
    timezone: str,
    calendar_rules: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The columns a client's document decides (not status, counters, ids or timestamps),
    with ``calendar_rules``, the copy of the named calendar's rules."""
    target = document.inline_target
    pattern = document.scheduling_pattern
    policy = document.retry_policy
    return {
        "service": service,
        "key": document.key,
        "title": document.title,
        "action_key": document.action,
        "target_type": document.inline_kind,
        "target": None if target is None else target.model_dump(by_alias=True, exclude_none=True),
        "params": document.params.model_dump(by_alias=True),
        "pattern": pattern.pattern,
        "timezone": timezone,
        "separation": max(pattern.separation, 1),
        "max_occurrences": pattern.max_occurrences,
        "start_at": pattern.start_at,
        "end_at": pattern.end_at,
        "retry_policy": policy.model_dump(by_alias=True) if policy else None,
        "misfire_policy": document.misfire_policy,
        "misfire_grace_seconds": document.misfire_grace_seconds,
        "overlap": document.overlap,
        "jitter_seconds": pattern.jitter_seconds,
        "calendar_key": pattern.calendar,
        "calendar_rules": calendar_rules,
        "non_business_day": pattern.non_business_day,
        "business_day": pattern.business_day,
    }


async def _check_target(
    tx: StoreTransaction, service: str, doc: EventDocument, policy: TargetPolicy
) -> None:
    if doc.action is None:
        check_inline_target(service, doc, policy)
        return
    action = await tx.get_action(service, doc.action)
    check_action_target(service, doc, action, policy)


def check_inline_target(service: str, doc: EventDocument, policy: TargetPolicy) -> None:
    """The policy lets the inline target out: its endpoint, or its Lambda function or
    SQS queue (granted to ``service``)."""
    kind, target = doc.inline_kind, doc.inline_target
    assert kind is not None and target is not None  # an event without an action has one
    if kind in AWS_TARGET_KINDS:
        policy.aws.check(service, kind, target.model_dump(by_alias=True))
        return
    assert isinstance(target, WebhookTarget | GraphqlTarget)
    check_filled_destination(doc, target.endpoint, f"{kind}.endpoint", policy)


def check_action_target(
    service: str, doc: EventDocument, action: RowMapping | None, policy: TargetPolicy
) -> None:
    """The action the event names exists (its row, None when there is none: refused), and
    the policy still lets its target out (a grant may have been withdrawn since)."""
    if action is None:
        raise ValidationFailed(f"no action {doc.action!r} in service {service!r}", field="action")
    if action["type"] in AWS_TARGET_KINDS:
        policy.aws.check(service, action["type"], action["target"], field="action")
        return
    check_filled_destination(doc, str(action["target"]["endpoint"]), "action", policy)


def check_filled_destination(
    doc: EventDocument, endpoint: str, where: str, policy: TargetPolicy
) -> None:
    """``params.url`` fills every placeholder, and the outbound policy lets the call out."""
    missing = placeholders(endpoint) - set(doc.params.url)
    if missing:
        raise ValidationFailed(
            f"the endpoint of {where} needs {', '.join(sorted(missing))}, not given in params.url",
            field="params.url",
        )
    check_destination(policy, endpoint, where, doc.params.url)


def check_destination(
    policy: TargetPolicy, endpoint: str, where: str, url_values: Mapping[str, Any]
) -> None:
    """The outbound policy on the endpoint as written, then as ``params.url`` fills it.

    Names are not resolved here (see ``delivery.target_policy``): the dispatcher checks
    the address it connects to, and a refusal there fails the delivery.
    """
    policy.check_endpoint(endpoint, field=where)
    if placeholders(endpoint):
        policy.check_endpoint(fill_endpoint(endpoint, url_values), field="params.url")


def _schedule_state(
    document: EventDocument,
    now: datetime,
    occurrences: int,
    status: str,
    schedule: Schedule | None = None,
    calendar_rules: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """nextOccurrence and status of a newly (re)scheduled event (``schedule``: compiled)."""
    if schedule is None:
        schedule = compile_pattern(document.scheduling_pattern, now, calendar_rules)
    upcoming = first_fire(schedule, now, occurrences, document.misfire_grace_seconds)
    return {
        "next_occurrence": upcoming,
        "status": status if upcoming is not None else EventStatus.COMPLETED,
    }


async def _definition(
    tx: StoreTransaction,
    service: str,
    document: EventDocument,
    now: datetime,
    rules: EventRules,
) -> dict[str, Any]:
    """Validate the schedule and the target; the columns to store."""
    calendar_rules = await calendar_rules_of(tx, service, document)
    compile_pattern(document.scheduling_pattern, now, calendar_rules)
    await _check_target(tx, service, document, rules.policy)
    timezone = normalize_timezone(document.scheduling_pattern.timezone)
    return event_definition(service, document, timezone, calendar_rules)


async def calendar_rules_of(
    tx: StoreTransaction, service: str, document: EventDocument
) -> dict[str, Any] | None:
    """The rules of the calendar the event names, held until the transaction ends (so a
    calendar change waits for this event, then rewrites its copy); 422 when unknown."""
    key = document.scheduling_pattern.calendar
    if key is None:
        return None
    row = await tx.get_calendar(service, key, share=True)
    return calendar_rules_from(service, key, row)


def calendar_rules_from(service: str, key: str, row: RowMapping | None) -> dict[str, Any]:
    """A named calendar's rules from its row (None when there is none: refused)."""
    if row is None:
        raise ValidationFailed(
            f"no calendar {key!r} in service {service!r}", field="schedulingPattern.calendar"
        )
    return dict(row["rules"])


def settle_calendar(
    row: dict[str, Any], document: EventDocument, calendar_rules: Mapping[str, Any]
) -> None:
    """A new event's row, checked with a stand-in calendar, now follows the real one."""
    wanted = document.status or EventStatus.ACTIVE
    state = _schedule_state(document, row["created_at"], 0, wanted, None, calendar_rules)
    if state["next_occurrence"] is None:
        raise ValidationFailed(
            f"no business day of calendar {document.scheduling_pattern.calendar!r} matches "
            f"this schedule (in the next {SEARCH_YEARS} years, or inside startAt/endAt)",
            field="schedulingPattern.calendar",
        )
    row.update(state, calendar_rules=dict(calendar_rules))


async def _reload(tx: StoreTransaction, service: str, key: str) -> RowMapping:
    row = await tx.get_event(service, key)
    assert row is not None
    return row


def _audited(row: StoredRow) -> tuple[str, str, str]:
    return row["service"], "event", row["key"]


def created_entry(actor: Actor, row: StoredRow) -> AuditEntry:
    """The audit entry of a new event (``row``: as stored)."""
    return entry(actor, row["created_at"], _audited(row), "create", None, event_document(row))


def created(actor: Actor, row: StoredRow) -> tuple[Written, AuditEntry]:
    """A grouped create's answer and audit entry, the event serialized once for both
    (unless something in it must be redacted for the entry)."""
    document = event_json(row)
    text = json_text(document)
    safe = redact_document(document)
    after = text if safe is document else safe
    change = entry(actor, row["created_at"], _audited(row), "create", None, after)
    return Written(row, created=True, body=text.encode()), change


def changed_entry(
    actor: Actor, action: str, before: StoredRow, after: StoredRow | None, at: datetime
) -> AuditEntry:
    """The audit entry of a change of a stored event (``after`` None: deleted)."""
    document = None if after is None else event_document(after)
    return entry(actor, at, _audited(before), action, event_document(before), document)


def unchecked_row(
    service: str, document: EventDocument, now: datetime, rules: EventRules
) -> dict[str, Any]:
    """A new event's row, after every check that needs no store (the pattern, an inline
    target); ``_store_checks`` does the rest.

    A create does this in its own task before it joins a batch, so that the shared
    transaction holds the writer only for the checks that read the store and the insert.
    """
    schedule = compile_pattern(document.scheduling_pattern, anchor=now)
    if document.action is None:
        check_inline_target(service, document, rules.policy)
    timezone = normalize_timezone(document.scheduling_pattern.timezone)
    definition = event_definition(service, document, timezone)
    state = _schedule_state(document, now, 0, document.status or EventStatus.ACTIVE, schedule)
    return {**definition, **state, "occurrences": 0, "created_at": now, "updated_at": now}


async def _store_checks(
    tx: StoreTransaction,
    row: dict[str, Any],
    document: EventDocument,
    rules: EventRules,
    live_before: int = 0,
) -> None:
    """A new event's checks that read the store: its named action and calendar, its
    service's quota (``live_before``: live events of the service inserted earlier in the
    same batch)."""
    service = row["service"]
    calendar_rules = await calendar_rules_of(tx, service, document)
    if calendar_rules is not None:
        settle_calendar(row, document, calendar_rules)
    if document.action is not None:
        action = await tx.get_action(service, document.action)
        check_action_target(service, document, action, rules.policy)
    if row["status"] in LIVE_EVENT_STATUSES:
        await check_event_quota(tx, service, rules.max_events, adding=1 + live_before)


async def _insert(
    tx: StoreTransaction,
    service: str,
    document: EventDocument,
    now: datetime,
    rules: EventRules,
    actor: Actor,
) -> Written:
    row = unchecked_row(service, document, now, rules)
    await _store_checks(tx, row, document, rules)
    await tx.insert_event(row)
    stored = await _reload(tx, service, document.key)
    await tx.record_audits([created_entry(actor, stored)])
    return Written(stored, created=True)


@dataclass(frozen=True)
class _Create:
    document: EventDocument
    rules: EventRules
    #: The row to insert, built before the create joins a batch (``unchecked_row``).
    row: dict[str, Any]
    actor: Actor

    @property
    def identity(self) -> tuple[str, str]:
        return self.row["service"], self.document.key


def _exists(identity: tuple[str, str]) -> Conflict:
    return Conflict(f"event {identity[0]}/{identity[1]} exists already", field="key")


async def _insert_many(
    tx: StoreTransaction, creates: Sequence[_Create]
) -> list[Written | Exception]:
    """Validate each create, insert the valid ones in one statement, answer each; their
    audit entries go in one more statement of the same transaction."""
    outcomes: list[Written | Exception] = [_exists(c.identity) for c in creates]
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    live: dict[str, int] = {}  # per service, live events accepted earlier in this batch
    for index, create in enumerate(creates):
        if create.identity in rows:
            continue  # the same key twice in one batch: the first one wins
        service = create.row["service"]
        try:
            await _store_checks(tx, create.row, create.document, create.rules, live.get(service, 0))
        except OnewatchError as exc:
            outcomes[index] = exc
            continue
        rows[create.identity] = create.row
        if create.row["status"] in LIVE_EVENT_STATUSES:
            live[service] = live.get(service, 0) + 1
    stored = await tx.insert_new_events(list(rows.values()))
    audited: list[AuditEntry] = []
    for index, create in enumerate(creates):
        row = stored.pop(create.identity, None)
        if row is not None:
            outcomes[index], change = created(create.actor, row)
            audited.append(change)
    await tx.record_audits(audited)
    return outcomes


async def create_event(
    context: EventContext, service: str, document: EventDocument, actor: Actor
) -> Written:
    """POST: store a new event; answered once committed, with concurrent creates grouped."""
    row = unchecked_row(service, document, context.clock.now(), context.rules)
    create = _Create(document, context.rules, row, actor)
    # The store keeps one group commit per apply function: every create joins it.
    written = await context.store.group_commit(_insert_many).submit(create)
    context.on_change(written.row["next_occurrence"])
    return written


async def replace_event(
    context: EventContext, service: str, document: EventDocument, actor: Actor
) -> Written:
    """PUT: create the event, or make the stored one say what ``document`` says."""

    async def attempt() -> Written:
        now = context.clock.now()
        rules = context.rules
        async with context.store.write() as tx:
            current = await tx.get_event(service, document.key)
            if current is None:
                return await _insert(tx, service, document, now, rules, actor)
            return await overwrite(tx, current, service, document, now, rules, actor)

    written = await retry_lost_race(attempt)
    if written.changed:
        context.on_change(None)
    return written


async def update_event(
    context: EventContext,
    service: str,
    key: str,
    build: Callable[[RowMapping], EventDocument],
    actor: Actor,
) -> Written:
    """PATCH: ``build(current_row)`` returns the merged, validated document."""
    now = context.clock.now()
    async with context.store.write() as tx:
        current = await _existing(tx, service, key)
        document = build(current)
        if document.key != key:
            raise ValidationFailed("the key of an event cannot change", field="key")
        written = await overwrite(tx, current, service, document, now, context.rules, actor)
    if written.changed:
        context.on_change(None)
    return written


def _next_state(
    current: RowMapping, definition: dict[str, Any], document: EventDocument, now: datetime
) -> dict[str, Any]:
    """Status and nextOccurrence after an update.

    A changed schedule is recomputed from now (keeping the count of fires so far); an
    unchanged one keeps its place, and only an explicit active/paused switch acts on it.
    """
    rescheduled = any(current[name] != definition[name] for name in SCHEDULE_COLUMNS)
    wanted = document.status
    calendar_rules = definition["calendar_rules"]
    if rescheduled:
        paused = current["status"] == EventStatus.PAUSED
        status = wanted or (EventStatus.PAUSED if paused else EventStatus.ACTIVE)
        return _schedule_state(
            document, now, current["occurrences"], status, calendar_rules=calendar_rules
        )
    if current["status"] in FINAL_EVENT_STATUSES or wanted in (None, current["status"]):
        return {}
    if wanted == EventStatus.PAUSED.value:
        return {"status": EventStatus.PAUSED}
    return resumed_state(current, document.scheduling_pattern, now, calendar_rules)


def resumed_state(
    current: RowMapping,
    pattern: SchedulingPattern,
    now: datetime,
    calendar_rules: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """nextOccurrence and status of a stored event asked to fire again from ``now``."""
    schedule = compile_pattern(pattern, current["created_at"], calendar_rules)
    upcoming = next_fire(schedule, now, current["occurrences"])
    status = EventStatus.ACTIVE if upcoming else EventStatus.COMPLETED
    return {"next_occurrence": upcoming, "status": status}


async def overwrite(
    tx: StoreTransaction,
    current: RowMapping,
    service: str,
    document: EventDocument,
    now: datetime,
    rules: EventRules,
    actor: Actor,
) -> Written:
    """Make a stored event say what ``document`` says; audited as an update."""
    definition = await _definition(tx, service, document, now, rules)
    state = _next_state(current, definition, document, now)
    if current["status"] not in LIVE_EVENT_STATUSES and state.get("status") in LIVE_EVENT_STATUSES:
        await check_event_quota(tx, service, rules.max_events)  # brought back to life
    unchanged = all(current[name] == value for name, value in {**definition, **state}.items())
    if unchanged:
        return Written(current, changed=False)
    values = {**definition, **state, "updated_at": now}
    if not await tx.update_event(current["id"], current["version"], values):
        raise Conflict("the event changed while this request ran; retry")
    row = await _reload(tx, service, document.key)
    await tx.record_audits([changed_entry(actor, "update", current, row, now)])
    return Written(row)


async def _existing(tx: StoreTransaction, service: str, key: str) -> RowMapping:
    row = await tx.get_event(service, key)
    if row is None:
        raise NotFound(f"no event {service}/{key}")
    return row


async def remove_event(context: EventContext, service: str, key: str, actor: Actor) -> None:
    """Delete an event and, with it, its delivery history."""
    async with context.store.write() as tx:
        current = await _existing(tx, service, key)
        await tx.delete_event(current["id"])
        deleted = changed_entry(actor, "delete", current, None, context.clock.now())
        await tx.record_audits([deleted])
    context.on_change(None)


async def pause_event(context: EventContext, service: str, key: str, actor: Actor) -> RowMapping:
    """Stop firing; idempotent. A completed or cancelled event cannot be paused."""
    async with context.store.write() as tx:
        current = await _existing(tx, service, key)
        if current["status"] == EventStatus.PAUSED:
            return current
        if current["status"] != EventStatus.ACTIVE:
            raise Conflict(f"the event is {current['status']}; only an active one can pause")
        now = context.clock.now()
        values = {"status": EventStatus.PAUSED, "updated_at": now}
        if not await tx.update_event(current["id"], current["version"], values):
            raise Conflict("the event changed while this request ran; retry")
        row = await _reload(tx, service, key)
        await tx.record_audits([changed_entry(actor, "pause", current, row, now)])
    context.on_change(None)
    return row


async def resume_event(context: EventContext, service: str, key: str, actor: Actor) -> RowMapping:
    """Fire again from now on (missed fires while paused are not made up); idempotent."""
    now = context.clock.now()
    async with context.store.write() as tx:
        current = await _existing(tx, service, key)
        if current["status"] == EventStatus.ACTIVE:
            return current
        if current["status"] != EventStatus.PAUSED:
            raise Conflict(f"the event is {current['status']}; only a paused one can resume")
        # Only the schedule: a row stored under older rules (a header now refused) resumes.
        pattern = SchedulingPattern.model_validate(event_as_input(current)["schedulingPattern"])
        values = {
            **resumed_state(current, pattern, now, current["calendar_rules"]),
            "updated_at": now,
        }
        if not await tx.update_event(current["id"], current["version"], values):
            raise Conflict("the event changed while this request ran; retry")
        row = await _reload(tx, service, key)
        await tx.record_audits([changed_entry(actor, "resume", current, row, now)])
    context.on_change(None)
    return row


async def trigger_event(
    context: EventContext, service: str, key: str, actor: Actor
) -> tuple[str, datetime]:
    """Run now: one extra delivery, due at once; the schedule and its count stay put.

    Audited (``trigger``, the new delivery's id in ``after``): the event does not change,
    but its target is called outside the schedule, on someone's say.
    """
    now = context.clock.now()
    async with context.store.write() as tx:
        current = await _existing(tx, service, key)
        delivery_id = await tx.insert_manual_delivery(current, now)
        ran = {"deliveryId": delivery_id, "kind": "manual", "scheduledFor": utc_text(now)}
        await tx.record_audits([entry(actor, now, _audited(current), "trigger", None, ran)])
    return delivery_id, now
