"""The plain records the store hands out and takes in: what callers outside ``store/`` see.

Frozen dataclasses (and the row mapping type), free of SQL and of any connection, so the
API, the engine and the dashboard can name them without importing a query module.
"""

from __future__ import annotations

import json
import os
import socket
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from onewatch import __version__
from onewatch.domain.statuses import EventStatus, NodeStatus

#: A row read from the store by column name: SQLAlchemy's ``RowMapping``, or a plain dict
#: where a statement went past SQLAlchemy's result objects (``store.sqlite.one_trip``).
StoredRow = Mapping[Any, Any]

#: How often a node refreshes its heartbeat (``Settings.node_heartbeat_seconds``).
HEARTBEAT_INTERVAL = timedelta(seconds=1)
#: A node silent for this long is stale, its leases taken over
#: (``Settings.node_takeover_seconds``).
STALE_AFTER = 3 * HEARTBEAT_INTERVAL


@dataclass(frozen=True)
class EventFilter:
    """What ``GET /v1/events`` narrows by; ``None`` means any."""

    service: str | None = None
    status: str | None = None
    action: str | None = None
    #: Case-insensitive text within the key or the title (the dashboard's search box).
    search: str | None = None


@dataclass(frozen=True)
class DueEvent:
    """What the scheduler needs of a due event to plan its fires."""

    id: int
    service: str
    key: str
    pattern: str
    timezone: str
    separation: int
    max_occurrences: int | None
    start_at: datetime | None
    end_at: datetime | None
    next_occurrence: datetime
    occurrences: int
    misfire_policy: str
    misfire_grace_seconds: int
    version: int
    overlap: str = "allow"
    jitter_seconds: int = 0
    #: The event's copy of its business calendar's rules, and how it follows them.
    calendar_rules: dict[str, Any] | None = None
    non_business_day: str | None = None
    business_day: int | None = None


@dataclass(frozen=True)
class Advance:
    """A due event's new state and the due instants of the deliveries it makes."""

    event: DueEvent
    fires: Sequence[datetime]
    next_occurrence: datetime | None
    occurrences: int

    @property
    def status(self) -> str:
        return EventStatus.ACTIVE if self.next_occurrence is not None else EventStatus.COMPLETED


@dataclass(frozen=True)
class HeldOccurrence:
    """A new occurrence its event's overlap policy did not send at once, as stored."""

    delivery_id: str
    service: str
    #: ``skipped`` or ``buffered``.
    status: str
    #: Why it was skipped (``domain.overlap.SkipCause``); None when buffered.
    skip_cause: str | None


@dataclass(frozen=True)
class FireBatch:
    events_advanced: int
    deliveries_created: int
    #: True when the batch was full: more may be due right now.
    full: bool
    #: The committed occurrences the overlap policy skipped or buffered, each once: a
    #: duplicate occurrence whose insert was a no-op is not among them.
    held: Sequence[HeldOccurrence] = field(default=())


@dataclass(frozen=True)
class ClaimedDelivery:
    """A delivery this dispatcher holds a lease on, with everything needed to send it."""

    id: str
    lease_token: str
    event_id: int
    service: str
    event_key: str
    kind: str
    scheduled_for: datetime
    next_attempt_at: datetime
    attempts: int
    attempt_base: int
    redriven_at: datetime | None
    params: dict[str, Any]
    target_type: str | None
    target: dict[str, Any] | None
    payload: dict[str, Any]
    event_retry_policy: dict[str, Any] | None
    action_retry_policy: dict[str, Any] | None

    @property
    def attempt_number(self) -> int:
        """The number of the attempt about to be made (1 for the first)."""
        return self.attempts + 1


@dataclass(frozen=True)
class Outcome:
    """One finished attempt and the delivery's state after it."""

    delivery_id: str
    lease_token: str
    attempt: int
    status: str
    next_attempt_at: datetime
    started_at: datetime
    latency_ms: int | None
    status_code: int | None
    attempt_outcome: str
    response_excerpt: str | None
    error: str | None
    finished_at: datetime | None


@dataclass(frozen=True)
class AttemptView:
    attempt: int
    started_at: datetime
    latency_ms: int | None
    status_code: int | None
    outcome: str
    response_excerpt: str | None
    error: str | None


@dataclass(frozen=True)
class DeliveryView:
    id: str
    service: str
    event_key: str
    kind: str
    scheduled_for: datetime
    status: str
    attempt_count: int
    next_attempt_at: datetime
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    finished_at: datetime | None
    attempts: list[AttemptView]
    #: Why it was not sent (a skipped delivery, by the event's overlap policy).
    skip_reason: str | None = None


@dataclass(frozen=True)
class DeliveryFilter:
    service: str | None = None
    status: str | None = None
    event_id: int | None = None
    #: Only ids before this one (the previous page's last id): newest first.
    before: str | None = None
    limit: int = 50


def new_node_id() -> str:
    """A fresh identity for one node process (also its Redis consumer name)."""
    return uuid.uuid4().hex


@dataclass(frozen=True)
class NodeInfo:
    """One row of ``nodes``."""

    id: str
    hostname: str
    pid: int
    roles: tuple[str, ...]
    version: str
    started_at: datetime
    heartbeat_at: datetime
    stopped_at: datetime | None = None

    def status(self, now: datetime, stale_after: timedelta = STALE_AFTER) -> NodeStatus:
        if self.stopped_at is not None:
            return NodeStatus.STOPPED
        return NodeStatus.STALE if now - self.heartbeat_at > stale_after else NodeStatus.ALIVE


def this_node(node_id: str, roles: Sequence[str], now: datetime) -> NodeInfo:
    """The row describing the current process."""
    return NodeInfo(
        id=node_id,
        hostname=socket.gethostname()[:255],
        pid=os.getpid(),
        roles=tuple(roles),
        version=__version__,
        started_at=now,
        heartbeat_at=now,
    )


@dataclass(frozen=True)
class SigningSecretRecord:
    """What may be shown of a stored secret: never its value."""

    id: int
    service: str
    created_at: datetime
    expires_at: datetime | None

    def active_at(self, now: datetime) -> bool:
        return self.expires_at is None or self.expires_at > now


class JsonText(str):
    """A document already serialized (``json_text``): stored as it is, not serialized again.

    A create's answer and its audit entry are the same document: serialized once for both.
    """


#: One encoder for every ``json_text``: ``json.dumps`` with options builds a new one per call.
_COMPACT_JSON = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def json_text(document: Any) -> JsonText:
    """``document`` as compact JSON, exactly as the API's answers serialize it."""
    return JsonText(_COMPACT_JSON.encode(document))


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One change: of what (service, resource type and key), how, by whom, when."""

    service: str
    resource_type: str
    resource_key: str
    #: create, update, delete, pause, resume, trigger, redrive, rotate, revoke...
    action: str
    #: The token's subject (``sub``).
    actor: str
    #: ``service`` or ``admin``: the scope the actor spoke with.
    actor_scope: str
    #: The front door: ``api``, ``ui``, ``cli`` or ``system``.
    via: str
    at: datetime
    #: The documents: mappings, or ``JsonText`` already serialized.
    before: Mapping[str, Any] | JsonText | None = None
    after: Mapping[str, Any] | JsonText | None = None


@dataclass(frozen=True)
class AuditFilter:
    """What ``GET /v1/audit`` narrows by; ``None`` means any."""

    service: str | None = None
    resource_type: str | None = None
    resource_key: str | None = None
    #: Entries at or after ``since`` and strictly before ``until``.
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True)
class Failing:
    """The ids of the events whose last result failed, and whether the scan saw everything."""

    event_ids: list[int]
    complete: bool
