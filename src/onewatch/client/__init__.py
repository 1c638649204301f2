"""A Python client for Onewatch's HTTP API: ``Client`` (blocking) and ``AsyncClient``.

::

    from onewatch.client import Client

    with Client("http://127.0.0.1:8080", token) as onewatch:
        event = onewatch.events.upsert({"key": "nightly", ...})
        for delivery in onewatch.deliveries.list(status="dead"):
            onewatch.deliveries.redrive(delivery.id)

Answers are typed models (``Event``, ``Action``, ``Delivery``, ``AuditEntry``...); refusals
are typed errors (``NotFound``, ``InvalidRequest``...) carrying the server's message and
fields; listings are iterators that follow ``nextCursor`` page after page.
"""

from onewatch.client.aio import AsyncClient
from onewatch.client.errors import (
    ApiError,
    AuthenticationFailed,
    ClientError,
    Conflict,
    ConnectionFailed,
    FieldError,
    InvalidRequest,
    NotFound,
    PermissionDenied,
    RateLimited,
    ServerError,
    UnexpectedAnswer,
)
from onewatch.client.models import (
    Action,
    ActionDocument,
    Attempt,
    AuditActor,
    AuditEntry,
    BatchResult,
    Calendar,
    CalendarDocument,
    DayOff,
    Delivery,
    Event,
    EventDocument,
    Page,
    SchedulePreview,
    SchedulingPattern,
)
from onewatch.client.sync import Client

__all__ = [
    "Action",
    "ActionDocument",
    "ApiError",
    "AsyncClient",
    "Attempt",
    "AuditActor",
    "AuditEntry",
    "AuthenticationFailed",
    "BatchResult",
    "Calendar",
    "CalendarDocument",
    "Client",
    "ClientError",
    "Conflict",
    "ConnectionFailed",
    "DayOff",
    "Delivery",
    "Event",
    "EventDocument",
    "FieldError",
    "InvalidRequest",
    "NotFound",
    "Page",
    "PermissionDenied",
    "RateLimited",
    "SchedulePreview",
    "SchedulingPattern",
    "ServerError",
    "UnexpectedAnswer",
]
