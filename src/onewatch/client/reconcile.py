"""Make the server hold exactly the given calendars, actions and events: schedules as code.

Each document is written as a PUT (create, or make the stored one equal), calendars and
actions before the events that name them: calendars and actions one PUT each, events
1,000 per ``POST /v1/events/batch`` (each item a PUT of its own). What happened is read
by comparing the item before and after: the addressed services' events are listed first
(500 a page), and the server leaves an item that already matches untouched (its
``updatedAt`` stays), so applying the same documents twice reports, and changes, nothing
the second time. With ``prune``, items of the services the documents address that they
do not mention are deleted (events first, then the actions and calendars no event uses
any more).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel

from onewatch.client.calls import BATCH_SIZE
from onewatch.client.errors import ClientError, NotFound
from onewatch.client.models import Action, BatchResult, Calendar, Event
from onewatch.client.sync import Client
from onewatch.domain.documents import kind_of
from onewatch.errors import OnewatchError

Kind = Literal["calendar", "action", "event"]
#: ``document``: one that is neither a calendar, an action nor an event.
Reported = Literal["calendar", "action", "event", "document"]
Outcome = Literal["created", "updated", "unchanged", "deleted", "failed"]

#: Fields the server computes: a change in them is a consequence, not a difference.
_DERIVED = frozenset({"id", "createdAt", "updatedAt", "nextOccurrence", "occurrences"})
#: The largest page the server lists.
_LISTING_PAGE = 500


@dataclass(frozen=True)
class Applied:
    """What applying one document (or pruning one item) did."""

    kind: Reported
    service: str
    key: str
    outcome: Outcome
    changed: tuple[str, ...] = ()
    error: OnewatchError | None = None

    @property
    def name(self) -> str:
        return f"{self.service}/{self.key}"


def _flat(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict) and value:
        flat: dict[str, Any] = {}
        for name, item in value.items():
            flat.update(_flat(item, f"{prefix}.{name}" if prefix else name))
        return flat
    return {prefix: value}


def changed_fields(before: BaseModel, after: BaseModel) -> tuple[str, ...]:
    """The dotted paths whose values differ, server-computed fields left out."""
    old, new = (_flat(m.model_dump(mode="json", by_alias=True)) for m in (before, after))
    paths = {path for path in old.keys() | new.keys() if path.split(".")[0] not in _DERIVED}
    return tuple(sorted(path for path in paths if old.get(path) != new.get(path)))


class _Applier:
    """Writes and prunes through one client, for the service documents fall back to."""

    def __init__(self, client: Client, service: str | None) -> None:
        self.client = client
        self.service = service or client.service

    def service_of(self, document: Mapping[str, Any]) -> str:
        named = document.get("service") or self.service
        if not isinstance(named, str) or not named:
            raise ClientError("the document names no service and none was given", field="service")
        return named

    def _resource(self, kind: Kind) -> Any:
        return {
            "calendar": self.client.calendars,
            "action": self.client.actions,
            "event": self.client.events,
        }[kind]

    def write(self, kind: Kind, document: Mapping[str, Any]) -> Applied:
        service, key = str(document.get("service") or self.service or "?"), document.get("key")
        if not isinstance(key, str) or not key:
            return Applied(kind, service, "?", "failed", error=ClientError("no key", field="key"))
        try:
            service = self.service_of(document)
            resource = self._resource(kind)
            before = _current(lambda: resource.get(key, service=service))
            after: Action | Calendar | Event = resource.upsert(document, service=service)
        except OnewatchError as exc:
            return Applied(kind, service, key, "failed", error=exc)
        if before is None:
            return Applied(kind, service, key, "created")
        if after.updated_at == before.updated_at:
            return Applied(kind, service, key, "unchanged")
        return Applied(kind, service, key, "updated", changed_fields(before, after))

    def write_events(self, documents: Sequence[Mapping[str, Any]]) -> Iterator[Applied]:
        """Every event document, in order, written a batch at a time."""
        addressed = [self._addressed(document) for document in documents]
        before: dict[tuple[str, str], Event] = {}
        for service in sorted({item.service for item in addressed if item.body}):
            try:
                before.update(self._events_of(service))
            except OnewatchError as exc:  # that service's documents fail, not the others
                addressed = [
                    item.refused(exc) if item.service == service else item for item in addressed
                ]
        for start in range(0, len(addressed), BATCH_SIZE):
            yield from self._write_batch(addressed[start : start + BATCH_SIZE], before)

    def _addressed(self, document: Mapping[str, Any]) -> _Addressed:
        service, key = str(document.get("service") or self.service or "?"), document.get("key")
        if not isinstance(key, str) or not key:
            return _Addressed(service, "?", error=ClientError("no key", field="key"))
        try:
            service = self.service_of(document)
        except OnewatchError as exc:
            return _Addressed(service, key, error=exc)
        return _Addressed(service, key, body={**document, "service": service})

    def _events_of(self, service: str) -> dict[tuple[str, str], Event]:
        listing = self.client.events.list(service=service, page_size=_LISTING_PAGE)
        return {(service, event.key): event for event in listing}

    def _write_batch(
        self, items: Sequence[_Addressed], before: Mapping[tuple[str, str], Event]
    ) -> Iterator[Applied]:
        bodies = [item.body for item in items if item.body is not None]
        try:
            results = iter(self.client.events.batch(bodies) if bodies else [])
        except OnewatchError as exc:
            yield from (item.failed(exc) for item in items)
            return
        for item in items:
            if item.body is None:
                yield item.failed(item.error)
                continue
            yield item.outcome(next(results), before.get((item.service, item.key)))

    def prune(self, kind: Kind, service: str, keep: set[str]) -> list[Applied]:
        resource = self._resource(kind)
        done: list[Applied] = []
        # The whole listing first: deleting while paging would move the cursor's ground.
        for item in list(resource.list(service=service)):
            if item.key in keep:
                continue
            try:
                resource.delete(item.key, service=service)
                done.append(Applied(kind, service, item.key, "deleted"))
            except OnewatchError as exc:
                done.append(Applied(kind, service, item.key, "failed", error=exc))
        return done


@dataclass(frozen=True)
class _Addressed:
    """An event document with its service and key resolved (or why they could not be)."""

    service: str
    key: str
    body: dict[str, Any] | None = None
    error: OnewatchError | None = None

    def refused(self, error: OnewatchError) -> _Addressed:
        return _Addressed(self.service, self.key, error=error)

    def failed(self, error: OnewatchError | None) -> Applied:
        return Applied("event", self.service, self.key, "failed", error=self.error or error)

    def outcome(self, result: BatchResult, before: Event | None) -> Applied:
        if result.error is not None or result.event is None:
            return self.failed(result.error)
        if result.status == 201:
            return Applied("event", self.service, self.key, "created")
        if before is not None and result.event.updated_at == before.updated_at:
            return Applied("event", self.service, self.key, "unchanged")
        changed = changed_fields(before, result.event) if before is not None else ()
        return Applied("event", self.service, self.key, "updated", changed)


def _current(read: Callable[[], Any]) -> Any:
    try:
        return read()
    except NotFound:
        return None


def _unknown(number: int, document: Mapping[str, Any], service: str | None) -> Applied:
    error = ClientError(
        f"document #{number} is neither an action (type), an event (schedulingPattern) "
        "nor a calendar (holidays, exclude, include or weekend)"
    )
    named = str(document.get("service") or service or "?")
    return Applied("document", named, str(document.get("key", "?")), "failed", error=error)


def apply_documents(
    client: Client,
    documents: Iterable[Mapping[str, Any]],
    *,
    service: str | None = None,
    prune: bool = False,
    on_result: Callable[[Applied], None] = lambda _applied: None,
) -> list[Applied]:
    """Write every calendar, then every action, then every event (which may name both);
    with ``prune``, delete what they do not name."""
    applier = _Applier(client, service)
    numbered = list(enumerate(documents, 1))
    results: list[Applied] = []

    def record(applied: Applied) -> None:
        results.append(applied)
        on_result(applied)

    kinds = [(number, document, kind_of(dict(document))) for number, document in numbered]
    for _number, document, kind in kinds:
        if kind == "calendar":
            record(applier.write("calendar", document))
    for number, document, kind in kinds:
        if kind == "unknown":
            record(_unknown(number, document, applier.service))
        elif kind == "action":
            record(applier.write("action", document))
    for applied in applier.write_events([doc for _, doc, kind in kinds if kind == "event"]):
        record(applied)
    if prune:
        for applied in _pruned(applier, results):
            record(applied)
    return results


def _pruned(applier: _Applier, written: list[Applied]) -> list[Applied]:
    """Prune only when every document applied: never delete on a partial picture."""
    if any(applied.outcome == "failed" for applied in written):
        return []
    services = {applied.service for applied in written}
    if not services and applier.service:
        services = {applier.service}
    done: list[Applied] = []
    kinds: tuple[Kind, ...] = ("event", "action", "calendar")
    for kind in kinds:
        for service in sorted(services):
            keep = {a.key for a in written if a.kind == kind and a.service == service}
            done.extend(applier.prune(kind, service, keep))
    return done
