"""Every API call described once, without I/O: the sync and async clients only send them.

A ``Call`` knows its method, path, query and body, and how to turn the answer into a
typed result (or a typed error). ``Client`` and ``AsyncClient`` differ only in how they
send a request, so paths, serialization, parsing and error mapping live here alone.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar
from urllib.parse import quote

import httpx
import jwt
from pydantic import BaseModel

from onewatch.client.errors import ClientError, UnexpectedAnswer, error_from_response
from onewatch.client.models import (
    Action,
    AuditEntry,
    BatchResult,
    Calendar,
    Delivery,
    Event,
    Page,
    SchedulePreview,
    SchedulingPattern,
    batch_results,
)

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)
Document = BaseModel | Mapping[str, Any]

#: Items per page when iterating a listing (the server allows up to 500).
PAGE_SIZE = 100
#: Items per ``POST /v1/events/batch`` (the server allows up to 1,000).
BATCH_SIZE = 1000
#: Bytes of documents per batch, under the server's 8 MiB body limit for the route.
BATCH_BYTES = 8 * 1024 * 1024 - 4096


@dataclass(frozen=True)
class Call(Generic[T]):
    """One HTTP request and how to read its answer."""

    method: str
    path: str
    read: Callable[[Any], T]
    params: Mapping[str, Any] = field(default_factory=dict)
    body: Any = None

    def request(self, http: httpx.Client | httpx.AsyncClient) -> httpx.Request:
        params = {name: value for name, value in self.params.items() if value is not None}
        return http.build_request(self.method, self.path, params=params, json=self.body)

    def result(self, response: httpx.Response) -> T:
        """The typed result, or the typed error the server's answer describes."""
        if response.is_error:
            raise error_from_response(response)
        try:
            return self.read(response.json() if response.content else None)
        except ValueError as exc:  # not JSON, or not the expected document (pydantic)
            raise UnexpectedAnswer(
                response.status_code,
                "unexpected_answer",
                f"{self.method} {self.path}: the answer is not what the API sends ({exc})",
            ) from exc


#: A listing: the call for the page after a cursor (``None``: the first page).
Listing = Callable[[str | None], Call[Page[Any]]]


def _instant(moment: datetime | None) -> str | None:
    """An instant as a query value (the server refuses one without a time zone, by name)."""
    return moment.isoformat() if moment is not None else None


def _segment(text: str) -> str:
    return quote(text, safe="")


def _nothing(_body: Any) -> None:
    return None


def as_json(document: Document) -> dict[str, Any]:
    """A document to send: a model as camelCase JSON (unset fields left out), or a mapping."""
    if isinstance(document, BaseModel):
        return document.model_dump(mode="json", by_alias=True, exclude_none=True)
    return dict(document)


def service_of_token(token: str | None) -> str | None:
    """The ``sub`` of a JWT, read without checking it (the server checks; this only addresses)."""
    if not token:
        return None
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return None
    sub = claims.get("sub")
    return sub if isinstance(sub, str) and sub else None


def _key_of(document: dict[str, Any]) -> str:
    key = document.get("key")
    if not isinstance(key, str) or not key:
        raise ClientError("the document has no key", field="key")
    return key


def _batch_call(items: list[dict[str, Any]]) -> Call[list[BatchResult]]:
    return Call("POST", "/v1/events/batch", batch_results, body={"items": items})


class KeyedCalls(Generic[M]):
    """The calls actions and events answer alike: each is addressed as (service, key)."""

    def __init__(self, calls: Calls, kind: str, model: type[M], page: type[Page[M]]) -> None:
        self._calls = calls
        self.kind = kind
        self.read = model.model_validate
        self.page = page

    def create(self, document: Document) -> Call[M]:
        return Call("POST", f"/v1/{self.kind}", self.read, body=as_json(document))

    def upsert(self, document: Document, service: str | None) -> Call[M]:
        body = as_json(document)
        path = self._calls.item_path(
            self.kind, self._calls.service_for(service, body), _key_of(body)
        )
        return Call("PUT", path, self.read, body=body)

    def get(self, key: str, service: str | None) -> Call[M]:
        return Call("GET", self._calls.item_path(self.kind, service, key), self.read)

    def update(self, key: str, patch: Mapping[str, Any], service: str | None) -> Call[M]:
        path = self._calls.item_path(self.kind, service, key)
        return Call("PATCH", path, self.read, body=dict(patch))

    def delete(self, key: str, service: str | None) -> Call[None]:
        return Call("DELETE", self._calls.item_path(self.kind, service, key), _nothing)

    def listing(self, limit: int, **query: str | None) -> Listing:
        """The pages of ``GET /v1/<kind>``; ``query`` holds the filters (``None``: unset)."""

        def page(cursor: str | None) -> Call[Page[Any]]:
            params = {**query, "cursor": cursor, "limit": limit}
            return Call("GET", f"/v1/{self.kind}", self.page.model_validate, params=params)

        return page


class Calls:
    """The calls of the API, addressed to ``service`` unless a call names another."""

    def __init__(self, service: str | None) -> None:
        self.service = service
        self.actions = KeyedCalls(self, "actions", Action, Page[Action])
        self.events = KeyedCalls(self, "events", Event, Page[Event])
        self.calendars = KeyedCalls(self, "calendars", Calendar, Page[Calendar])

    def service_for(self, service: str | None, document: Mapping[str, Any] | None = None) -> str:
        """The service named by the call, else by the document, else the client's own."""
        named = service or (document or {}).get("service") or self.service
        if not named:
            raise ClientError(
                "no service: pass service=..., or use a token whose subject names one",
                field="service",
            )
        return str(named)

    def item_path(self, kind: str, service: str | None, key: str, *rest: str) -> str:
        parts = [kind, self.service_for(service), key, *rest]
        return "/v1/" + "/".join(_segment(part) for part in parts)

    # -- events ----------------------------------------------------------------------

    def event_batches(
        self, documents: Iterable[Document], service: str | None, size: int = BATCH_SIZE
    ) -> Iterator[Call[list[BatchResult]]]:
        """``POST /v1/events/batch`` calls for ``documents``, at most ``size`` items and
        ``BATCH_BYTES`` each; a document naming no service is addressed to ``service``,
        else the client's (else the server takes the token's)."""
        named = service or self.service
        items: list[dict[str, Any]] = []
        used = 0
        for document in documents:
            body = as_json(document)
            if named and not body.get("service"):
                body["service"] = named
            length = len(json.dumps(body)) + 2
            if items and (len(items) >= size or used + length > BATCH_BYTES):
                yield _batch_call(items)
                items, used = [], 0
            items.append(body)
            used += length
        if items:
            yield _batch_call(items)

    def event_command(self, key: str, command: str, service: str | None) -> Call[Event]:
        """``pause`` or ``resume``."""
        return Call("POST", self.item_path("events", service, key, command), Event.model_validate)

    def trigger_event(self, key: str, service: str | None) -> Call[Delivery]:
        path = self.item_path("events", service, key, "trigger")
        return Call("POST", path, Delivery.model_validate)

    def preview(
        self, pattern: SchedulingPattern | Mapping[str, Any], count: int, after: datetime | None
    ) -> Call[SchedulePreview]:
        body = {
            "schedulingPattern": as_json(pattern),
            "count": count,
            "after": _instant(after),
        }
        return Call("POST", "/v1/schedules/preview", SchedulePreview.model_validate, body=body)

    # -- deliveries ------------------------------------------------------------------

    def list_deliveries(
        self,
        service: str | None,
        status: str | None = None,
        event: str | None = None,
        limit: int = PAGE_SIZE,
    ) -> Listing:
        """All deliveries visible to the token, or one event's (``event`` is its key)."""
        path = self.item_path("events", service, event, "deliveries") if event else "/v1/deliveries"
        scope = None if event else service

        def page(cursor: str | None) -> Call[Page[Any]]:
            query = {"service": scope, "status": status, "cursor": cursor, "limit": limit}
            return Call("GET", path, Page[Delivery].model_validate, params=query)

        return page

    def get_delivery(self, delivery_id: str) -> Call[Delivery]:
        path = f"/v1/deliveries/{_segment(delivery_id)}"
        return Call("GET", path, Delivery.model_validate)

    def redrive_delivery(self, delivery_id: str) -> Call[Delivery]:
        path = f"/v1/deliveries/{_segment(delivery_id)}/redrive"
        return Call("POST", path, Delivery.model_validate)

    # -- audit -----------------------------------------------------------------------

    def list_audit(
        self,
        service: str | None,
        resource_type: str | None = None,
        key: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = PAGE_SIZE,
    ) -> Listing:
        """``GET /v1/audit``, newest first: the entries of ``service`` (a service's token:
        its own only), of one resource type and key, at or after ``since``, before ``until``."""
        filters = {
            "service": service,
            "resourceType": resource_type,
            "key": key,
            "since": _instant(since),
            "until": _instant(until),
        }

        def page(cursor: str | None) -> Call[Page[Any]]:
            query = {**filters, "cursor": cursor, "limit": limit}
            return Call("GET", "/v1/audit", Page[AuditEntry].model_validate, params=query)

        return page
