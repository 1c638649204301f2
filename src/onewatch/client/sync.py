"""``Client``: the blocking client. Each method sends one call described in ``calls``."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from types import TracebackType
from typing import Any, TypeVar

import httpx

from onewatch.client.calls import PAGE_SIZE, Call, Calls, Document, Listing
from onewatch.client.config import (
    DEFAULT_MAX_RETRIES,
    DEFAULT_MAX_RETRY_SECONDS,
    DEFAULT_TIMEOUT_SECONDS,
    ClientConfig,
)
from onewatch.client.models import (
    Action,
    AuditEntry,
    AuditResourceType,
    BatchResult,
    Calendar,
    Delivery,
    Event,
    Page,
    SchedulePreview,
    SchedulingPattern,
)

T = TypeVar("T")


class _Transport:
    """The one place this client does I/O: it sends ``Call``s and pages through listings."""

    def __init__(self, config: ClientConfig) -> None:
        self.config = config
        self.calls: Calls = config.calls()
        self.http = httpx.Client(
            base_url=config.root, headers=config.headers(), timeout=config.timeout
        )

    def send(self, call: Call[T]) -> T:
        """Send ``call``, waiting out 429s within the config's bounds (``RateLimitWaits``)."""
        waits = self.config.rate_limit_waits()
        while True:
            response = self._send_once(call)
            wait = waits.wait_before_resend(response)
            if wait is None:
                return call.result(response)
            time.sleep(wait)

    def _send_once(self, call: Call[T]) -> httpx.Response:
        try:
            return self.http.send(call.request(self.http))
        except httpx.TransportError as exc:
            raise self.config.connection_failed(exc) from exc

    def iterate(self, listing: Listing) -> Iterator[Any]:
        """Every item of a listing, fetching the next page when one runs out."""
        cursor: str | None = None
        while True:
            page = self.send(listing(cursor))
            yield from page.items
            cursor = page.next_cursor
            if cursor is None:
                return


class Actions:
    """``/v1/actions``: how a service's events call their targets."""

    def __init__(self, transport: _Transport) -> None:
        self._t = transport

    def create(self, document: Document) -> Action:
        """Register an action; ``Conflict`` when the key exists."""
        return self._t.send(self._t.calls.actions.create(document))

    def upsert(self, document: Document, *, service: str | None = None) -> Action:
        """Create or replace by key; the same document twice changes nothing."""
        return self._t.send(self._t.calls.actions.upsert(document, service))

    def get(self, key: str, *, service: str | None = None) -> Action:
        return self._t.send(self._t.calls.actions.get(key, service))

    def update(self, key: str, patch: Mapping[str, Any], *, service: str | None = None) -> Action:
        """A JSON merge patch: given fields replace, ``None`` removes."""
        return self._t.send(self._t.calls.actions.update(key, patch, service))

    def delete(self, key: str, *, service: str | None = None) -> None:
        """Remove an action; ``Conflict`` while events still use it."""
        self._t.send(self._t.calls.actions.delete(key, service))

    def list(self, *, service: str | None = None, page_size: int = PAGE_SIZE) -> Iterator[Action]:
        """Every action visible to the token, oldest first, a page at a time."""
        return self._t.iterate(self._t.calls.actions.listing(page_size, service=service))

    def page(
        self, cursor: str | None = None, *, service: str | None = None, limit: int = PAGE_SIZE
    ) -> Page[Action]:
        return self._t.send(self._t.calls.actions.listing(limit, service=service)(cursor))


class Calendars:
    """``/v1/calendars``: which days a service's events count as business days."""

    def __init__(self, transport: _Transport) -> None:
        self._t = transport

    def create(self, document: Document) -> Calendar:
        """Register a calendar; ``Conflict`` when the key exists."""
        return self._t.send(self._t.calls.calendars.create(document))

    def upsert(self, document: Document, *, service: str | None = None) -> Calendar:
        """Create or replace by key; the events that follow it get their next fire again."""
        return self._t.send(self._t.calls.calendars.upsert(document, service))

    def get(self, key: str, *, service: str | None = None) -> Calendar:
        return self._t.send(self._t.calls.calendars.get(key, service))

    def delete(self, key: str, *, service: str | None = None) -> None:
        """Remove a calendar; ``Conflict`` while events follow it."""
        self._t.send(self._t.calls.calendars.delete(key, service))

    def list(self, *, service: str | None = None, page_size: int = PAGE_SIZE) -> Iterator[Calendar]:
        """Every calendar visible to the token, oldest first, a page at a time."""
        return self._t.iterate(self._t.calls.calendars.listing(page_size, service=service))

    def page(
        self, cursor: str | None = None, *, service: str | None = None, limit: int = PAGE_SIZE
    ) -> Page[Calendar]:
        return self._t.send(self._t.calls.calendars.listing(limit, service=service)(cursor))


class Events:
    """``/v1/events``: what to fire and when."""

    def __init__(self, transport: _Transport) -> None:
        self._t = transport

    def create(self, document: Document) -> Event:
        """Register an event; ``Conflict`` when the key exists."""
        return self._t.send(self._t.calls.events.create(document))

    def upsert(self, document: Document, *, service: str | None = None) -> Event:
        """Create or replace by key; the same document twice changes nothing."""
        return self._t.send(self._t.calls.events.upsert(document, service))

    def batch(
        self, documents: Iterable[Document], *, service: str | None = None
    ) -> list[BatchResult]:
        """Upsert many events, 1,000 per request (``POST /v1/events/batch``): one result
        per document, in order; a refused document is its result's ``error``, not raised.

        What the requests raise (``RateLimited`` past the waits, ``ConnectionFailed``...)
        is raised, and the chunks sent before it stay stored.
        """
        results: list[BatchResult] = []
        for call in self._t.calls.event_batches(documents, service):
            answered: list[BatchResult] = self._t.send(call)
            results.extend(answered)
        return results

    def get(self, key: str, *, service: str | None = None) -> Event:
        return self._t.send(self._t.calls.events.get(key, service))

    def update(self, key: str, patch: Mapping[str, Any], *, service: str | None = None) -> Event:
        """A JSON merge patch: given fields replace, ``None`` removes."""
        return self._t.send(self._t.calls.events.update(key, patch, service))

    def delete(self, key: str, *, service: str | None = None) -> None:
        self._t.send(self._t.calls.events.delete(key, service))

    def pause(self, key: str, *, service: str | None = None) -> Event:
        return self._t.send(self._t.calls.event_command(key, "pause", service))

    def resume(self, key: str, *, service: str | None = None) -> Event:
        """Fire again from now on; fires missed while paused are not made up."""
        return self._t.send(self._t.calls.event_command(key, "resume", service))

    def trigger(self, key: str, *, service: str | None = None) -> Delivery:
        """Fire now, once, outside the schedule; the new delivery is returned."""
        return self._t.send(self._t.calls.trigger_event(key, service))

    def list(
        self,
        *,
        service: str | None = None,
        status: str | None = None,
        action: str | None = None,
        page_size: int = PAGE_SIZE,
    ) -> Iterator[Event]:
        """Every matching event, oldest first, a page at a time."""
        return self._t.iterate(
            self._t.calls.events.listing(page_size, service=service, status=status, action=action)
        )

    def page(
        self,
        cursor: str | None = None,
        *,
        service: str | None = None,
        status: str | None = None,
        action: str | None = None,
        limit: int = PAGE_SIZE,
    ) -> Page[Event]:
        listing = self._t.calls.events.listing(limit, service=service, status=status, action=action)
        return self._t.send(listing(cursor))

    def preview(
        self,
        scheduling_pattern: SchedulingPattern | Mapping[str, Any],
        *,
        count: int = 5,
        after: datetime | None = None,
    ) -> SchedulePreview:
        """A pattern's next ``count`` fires after ``after`` (default: now), nothing stored."""
        return self._t.send(self._t.calls.preview(scheduling_pattern, count, after))


class Deliveries:
    """Deliveries: each due occurrence of an event, its attempts, and redriving dead ones."""

    def __init__(self, transport: _Transport) -> None:
        self._t = transport

    def list(
        self,
        *,
        service: str | None = None,
        status: str | None = None,
        event: str | None = None,
        page_size: int = PAGE_SIZE,
    ) -> Iterator[Delivery]:
        """Newest first; ``event`` (a key) narrows to one event of ``service``."""
        return self._t.iterate(self._t.calls.list_deliveries(service, status, event, page_size))

    def page(
        self,
        cursor: str | None = None,
        *,
        service: str | None = None,
        status: str | None = None,
        event: str | None = None,
        limit: int = PAGE_SIZE,
    ) -> Page[Delivery]:
        return self._t.send(self._t.calls.list_deliveries(service, status, event, limit)(cursor))

    def get(self, delivery_id: str) -> Delivery:
        return self._t.send(self._t.calls.get_delivery(delivery_id))

    def redrive(self, delivery_id: str) -> Delivery:
        """Send a dead delivery again with a fresh retry budget; ``Conflict`` if not dead."""
        return self._t.send(self._t.calls.redrive_delivery(delivery_id))


class Audit:
    """``/v1/audit``: who changed which action, event, calendar or signing secret, and how.

    A service's token reads its own service's entries only (naming another raises
    ``PermissionDenied``); an admin token reads every service's, or one's with ``service``.
    """

    def __init__(self, transport: _Transport) -> None:
        self._t = transport

    def list(
        self,
        *,
        service: str | None = None,
        resource_type: AuditResourceType | None = None,
        key: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        page_size: int = PAGE_SIZE,
    ) -> Iterator[AuditEntry]:
        """Newest first; ``resource_type`` and ``key`` narrow to one kind or one item,
        ``since`` (inclusive) and ``until`` (exclusive) to a span of time."""
        listing = self._t.calls.list_audit(service, resource_type, key, since, until, page_size)
        return self._t.iterate(listing)

    def page(
        self,
        cursor: str | None = None,
        *,
        service: str | None = None,
        resource_type: AuditResourceType | None = None,
        key: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = PAGE_SIZE,
    ) -> Page[AuditEntry]:
        listing = self._t.calls.list_audit(service, resource_type, key, since, until, limit)
        return self._t.send(listing(cursor))


class Client:
    """A blocking Onewatch client::

        with Client("http://127.0.0.1:8080", token) as onewatch:
            onewatch.events.upsert({...})

    Calls address the ``service`` given, or else the one the token's subject names. A
    call answered 429 is sent again after the ``Retry-After`` the server gives, at most
    ``max_retries`` times and ``max_retry_seconds`` of waiting in all, then raises
    ``RateLimited``.
    """

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        *,
        service: str | None = None,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        max_retries: int = DEFAULT_MAX_RETRIES,
        max_retry_seconds: float = DEFAULT_MAX_RETRY_SECONDS,
    ) -> None:
        config = ClientConfig(base_url, token, service, timeout, max_retries, max_retry_seconds)
        self._transport = _Transport(config)
        self.actions = Actions(self._transport)
        self.calendars = Calendars(self._transport)
        self.events = Events(self._transport)
        self.deliveries = Deliveries(self._transport)
        self.audit = Audit(self._transport)

    @property
    def service(self) -> str | None:
        """The service calls address when they name none."""
        return self._transport.calls.service

    def close(self) -> None:
        self._transport.http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
