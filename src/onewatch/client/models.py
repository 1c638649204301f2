"""What the API answers with, as typed objects: the same camelCase JSON, snake_case in Python.

The nested shapes (targets, params, scheduling pattern, retry policy) are the API's own
input models from ``onewatch.domain.documents`` (pure, shared with the server, which
validates with them too), so what a client reads is exactly what it may send back. The
top-level answers ignore fields they do not know, so an older client keeps working
against a newer server that adds one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from onewatch.client.errors import ApiError, error_from_body
from onewatch.domain.documents import (
    ActionDocument,
    CalendarDocument,
    EventDocument,
    EventParams,
    GraphqlTarget,
    HolidayRules,
    LambdaTarget,
    RetryPolicy,
    SchedulingPattern,
    SqsTarget,
    TargetKind,
    WebhookTarget,
)

EventStatus = Literal["active", "paused", "completed", "cancelled"]
DeliveryStatus = Literal["pending", "running", "succeeded", "retrying", "dead"]
#: What an audit entry is about (``GET /v1/audit?resourceType=``).
AuditResourceType = Literal["action", "event", "calendar", "signing_secret"]

Item = TypeVar("Item", bound=BaseModel)


class Answer(BaseModel):
    """A response document: camelCase on the wire, unknown (newer) fields ignored."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")


class Action(Answer):
    """A stored action: how a service's events call one target."""

    id: str
    service: str
    key: str
    type: TargetKind
    webhook: WebhookTarget | None = None
    graphql: GraphqlTarget | None = None
    lambda_: LambdaTarget | None = Field(default=None, alias="lambda")
    sqs: SqsTarget | None = None
    payload: dict[str, Any] = Field(default_factory=dict)
    retry_policy: RetryPolicy | None = None
    created_at: datetime
    updated_at: datetime


class Calendar(Answer):
    """A stored business calendar: which days a service's events count as business days."""

    id: str
    service: str
    key: str
    holidays: HolidayRules | None = None
    exclude: list[date] = Field(default_factory=list)
    include: list[date] = Field(default_factory=list)
    weekend: list[str] = Field(default_factory=list)
    created_at: datetime
    updated_at: datetime


class Event(Answer):
    """A stored event: what to fire and when, with its schedule state."""

    id: str
    service: str
    key: str
    title: str | None = None
    action: str | None = None
    type: TargetKind | None = None
    webhook: WebhookTarget | None = None
    graphql: GraphqlTarget | None = None
    lambda_: LambdaTarget | None = Field(default=None, alias="lambda")
    sqs: SqsTarget | None = None
    params: EventParams = Field(default_factory=EventParams)
    scheduling_pattern: SchedulingPattern
    status: EventStatus
    next_occurrence: datetime | None = None
    occurrences: int = 0
    retry_policy: RetryPolicy | None = None
    misfire_policy: str = "fire_once"
    misfire_grace_seconds: int = 60
    overlap: str = "allow"
    created_at: datetime
    updated_at: datetime


def destination_of(item: Action | Event) -> str | None:
    """What the item's own target calls: an endpoint, a Lambda function or a queue URL."""
    http = item.webhook or item.graphql
    if http is not None:
        return http.endpoint
    if item.lambda_ is not None:
        return item.lambda_.function
    return item.sqs.queue_url if item.sqs is not None else None


class Attempt(Answer):
    """One HTTP call made for a delivery."""

    attempt: int
    started_at: datetime | None = None
    latency_ms: float | None = None
    status_code: int | None = None
    outcome: str | None = None
    response_excerpt: str | None = None
    error: str | None = None


class Delivery(Answer):
    """One due occurrence of an event and the attempts made to send it."""

    id: str
    service: str
    event_key: str | None = None
    kind: str
    scheduled_for: datetime
    status: DeliveryStatus
    attempt_count: int
    next_attempt_at: datetime | None = None
    last_status_code: int | None = None
    last_error: str | None = None
    created_at: datetime
    finished_at: datetime | None = None
    attempts: list[Attempt] = Field(default_factory=list)
    skip_reason: str | None = None


class DayOff(Answer):
    """An occurrence of the pattern alone on a day off: why, and where it moved (or None)."""

    occurrence: datetime
    day: date = Field(alias="date")
    reason: str
    moved_to: date | None = None


class SchedulePreview(Answer):
    """A pattern read in plain English, and its next fire instants (UTC)."""

    description: str
    timezone: str
    after: datetime
    next_fires: list[datetime]
    #: With a calendar: its key, and the pattern's own occurrences that fell on a day off.
    calendar: str | None = None
    days_off: list[DayOff] = Field(default_factory=list)


class AuditActor(Answer):
    """Who made a change: the token's subject, its scope (``service`` or ``admin``) and the
    front door it came through (``api``, ``ui``, ``cli`` or ``system``)."""

    subject: str
    scope: str
    via: str


class AuditEntry(Answer):
    """One change to an action, event, calendar or signing secret, and who made it.

    ``action`` is what was done (``create``, ``update``, ``delete``, ``pause``...);
    ``before``/``after`` are the documents as the API shows them, secrets redacted.
    """

    id: str
    service: str
    resource_type: AuditResourceType
    key: str
    action: str
    actor: AuditActor
    at: datetime
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None


@dataclass(frozen=True)
class BatchResult:
    """One item of ``events.batch``: ``status`` 201 created, 200 replaced or unchanged
    (``event`` is what was stored), else ``error``, the error a PUT of it alone raises."""

    status: int
    event: Event | None = None
    error: ApiError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def batch_results(body: Any) -> list[BatchResult]:
    """A ``POST /v1/events/batch`` answer's items."""
    if not isinstance(body, dict) or not isinstance(body.get("items"), list):
        raise ValueError("no items list")
    try:
        return [_batch_result(item) for item in body["items"]]
    except (KeyError, TypeError) as exc:
        raise ValueError(f"an item without a status ({exc})") from exc


def _batch_result(item: Any) -> BatchResult:
    status = int(item["status"])
    if item.get("event") is not None:
        return BatchResult(status, Event.model_validate(item["event"]))
    return BatchResult(status, error=error_from_body(status, dict(item.get("error") or {})))


class Page(Answer, Generic[Item]):
    """One page of a listing; ``next_cursor`` fetches the next (``None``: the last page)."""

    items: list[Item]
    next_cursor: str | None = None


__all__ = [
    "Action",
    "ActionDocument",
    "Attempt",
    "AuditActor",
    "AuditEntry",
    "AuditResourceType",
    "BatchResult",
    "Calendar",
    "CalendarDocument",
    "DayOff",
    "Delivery",
    "DeliveryStatus",
    "Event",
    "EventDocument",
    "EventParams",
    "EventStatus",
    "GraphqlTarget",
    "Page",
    "RetryPolicy",
    "SchedulePreview",
    "SchedulingPattern",
    "WebhookTarget",
]
