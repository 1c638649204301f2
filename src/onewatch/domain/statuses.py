"""The status words, one enum per kind of thing, so a misspelt status is a type error.

``StrEnum`` members are the very strings kept in the database and shown in the JSON
(``EventStatus.ACTIVE == "active"``), so naming them here changes no stored row and no
response; the schema's check constraints are built from these enums.
"""

from __future__ import annotations

from enum import StrEnum


class EventStatus(StrEnum):
    """Where an event stands: only an active one fires."""

    ACTIVE = "active"
    PAUSED = "paused"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


#: Every event status, in the order the schema's check constraint lists them.
EVENT_STATUSES = tuple(EventStatus)
#: Events that count against a service's quota: they may still fire.
LIVE_EVENT_STATUSES = (EventStatus.ACTIVE, EventStatus.PAUSED)
#: The statuses a client may ask for when it writes an event.
SETTABLE_EVENT_STATUSES = LIVE_EVENT_STATUSES
#: Statuses an event does not leave.
FINAL_EVENT_STATUSES = (EventStatus.COMPLETED, EventStatus.CANCELLED)


class DeliveryStatus(StrEnum):
    """Where one delivery (one firing of an event) stands."""

    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    RETRYING = "retrying"
    DEAD = "dead"
    #: Waiting for the event's previous delivery to finish (overlap ``buffer_one``).
    BUFFERED = "buffered"
    #: Never sent: it came due while the event's previous delivery was unfinished
    #: (overlap ``skip``, or ``buffer_one`` with one already waiting); ``skip_reason`` says why.
    SKIPPED = "skipped"


#: Every delivery status, in the order the schema's check constraint lists them.
DELIVERY_STATUSES = tuple(DeliveryStatus)
#: Deliveries a dispatcher may claim once their ``next_attempt_at`` has come.
READY_STATUSES = (DeliveryStatus.PENDING, DeliveryStatus.RETRYING)
#: Deliveries not yet finished: waiting, held by a dispatcher, or buffered behind another.
UNFINISHED_STATUSES = (*READY_STATUSES, DeliveryStatus.RUNNING, DeliveryStatus.BUFFERED)
#: Deliveries that reached their end: nothing more happens to them (unless redriven).
FINISHED_STATUSES = (DeliveryStatus.SUCCEEDED, DeliveryStatus.DEAD, DeliveryStatus.SKIPPED)


class DeliveryKind(StrEnum):
    """Why a delivery exists: the schedule made it, or someone fired the event by hand."""

    SCHEDULED = "scheduled"
    MANUAL = "manual"


class AttemptOutcome(StrEnum):
    """How one attempt of a delivery ended."""

    SUCCEEDED = "succeeded"
    FAILED = "failed"
    #: Its dispatcher died or lost the lease before it recorded a result.
    ABANDONED = "abandoned"


class NodeStatus(StrEnum):
    """A node as its heartbeat shows it (computed, not stored)."""

    ALIVE = "alive"
    STALE = "stale"
    STOPPED = "stopped"
