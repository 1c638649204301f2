"""``onewatch import``: load a ``mongoexport`` dump of the original system's documents.

A dump is JSON lines or one JSON array. Each document is an action (it has ``type``), an
event (it has ``schedulingPattern``) or a calendar (``holidays``, ``exclude``, ``include``
or ``weekend``). Actions and calendars go first, so events can name them. Each one
is written as a PUT would (create, or make the stored one equal), through the same rules
as the API; a document that breaks one is reported and skipped, the rest still load.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError

from onewatch.application.action_ops import Written, replace_action
from onewatch.application.audit import Actor, cli_actor
from onewatch.application.calendar_ops import replace_calendar
from onewatch.application.event_ops import EventContext, replace_event
from onewatch.domain.documents import ActionDocument, CalendarDocument, EventDocument, kind_of
from onewatch.errors import OnewatchError, ValidationFailed

Outcome = Literal["created", "updated", "unchanged", "failed"]


@dataclass(frozen=True)
class ImportResult:
    """What happened to one document (``number`` counts from 1 in the file)."""

    number: int
    kind: str
    name: str
    outcome: Outcome
    reason: str = ""


def read_dump(path: Path) -> list[Any]:
    """The documents of a JSON array file or a JSON-lines file."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ValidationFailed(f"cannot read {path}: {exc.strerror}", field="FILE") from exc
    if text.lstrip().startswith("["):
        return _parse(text, path, "the JSON array")  # type: ignore[no-any-return]
    lines = [(number, line) for number, line in enumerate(text.splitlines(), 1) if line.strip()]
    return [_parse(line, path, f"line {number}") for number, line in lines]


def _parse(text: str, path: Path, where: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationFailed(f"{path}: {where} is not valid JSON: {exc}", field="FILE") from exc


def _name(document: Any) -> str:
    if not isinstance(document, dict):
        return "?"
    return f"{document.get('service', '?')}/{document.get('key', '?')}"


def _reason(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(
            f"{'.'.join(str(part) for part in error['loc'] if part != '[key]') or 'document'}: "
            f"{str(error['msg']).removeprefix('Value error, ')}"
            for error in exc.errors()
        )
    return str(exc)


def _outcome(written: Written) -> Outcome:
    if written.created:
        return "created"
    return "updated" if written.changed else "unchanged"


async def _write(context: EventContext, kind: str, document: Any, actor: Actor) -> Written:
    if kind == "action":
        action = ActionDocument.model_validate(document)
        service = _service_of(action.service)
        return await replace_action(
            context.store,
            context.clock,
            service,
            action,
            policy=context.rules.policy,
            actor=actor,
        )
    if kind == "calendar":
        calendar = CalendarDocument.model_validate(document)
        service = _service_of(calendar.service)
        return await replace_calendar(context, service, calendar, actor=actor)
    if kind == "event":
        event = EventDocument.model_validate(document)
        return await replace_event(context, _service_of(event.service), event, actor)
    raise ValidationFailed(
        "neither an action (type), an event (schedulingPattern) nor a calendar "
        "(holidays, exclude, include or weekend)"
    )


def _service_of(service: str | None) -> str:
    if not service:
        raise ValidationFailed("a dump document must name its service", field="service")
    return service


async def import_documents(
    context: EventContext,
    documents: Iterable[Any],
    on_result: Callable[[ImportResult], None] = lambda _result: None,
    *,
    actor: Actor | None = None,
) -> list[ImportResult]:
    """Import actions and calendars, then events; one result per document, in that order.

    Each write is audited as ``actor`` (by default the operating-system user, via ``cli``).
    """
    actor = actor or cli_actor()
    numbered = list(enumerate(documents, 1))
    ordered = sorted(numbered, key=lambda item: kind_of(item[1]) not in ("action", "calendar"))
    results: list[ImportResult] = []
    for number, document in ordered:
        kind = kind_of(document)
        try:
            outcome = _outcome(await _write(context, kind, document, actor))
            result = ImportResult(number, kind, _name(document), outcome)
        except (OnewatchError, ValidationError) as exc:
            result = ImportResult(number, kind, _name(document), "failed", _reason(exc))
        results.append(result)
        on_result(result)
    return results
