"""The create/edit form <-> the API's event document.

Inputs are named by the API's field paths (``schedulingPattern.pattern``,
``webhook.endpoint``...), so every error the API's validation reports lands next to the
input it names, with the API's own words. JSON-valued inputs that do not parse are
reported the same way, before the document is validated at all.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import RowMapping

from onewatch.application.render import event_json
from onewatch.domain.schedule import InvalidPattern
from onewatch.domain.schedule.zones import zone_info
from onewatch.domain.statuses import SETTABLE_EVENT_STATUSES

SCHEDULE_FIELDS = (
    "pattern",
    "timezone",
    "separation",
    "maxOccurrences",
    "startAt",
    "endAt",
    "jitterSeconds",
    "calendar",
    "nonBusinessDay",
    "businessDay",
)
RETRY_FIELDS = ("maxAttempts", "minBackoffSeconds", "maxBackoffSeconds", "maxAgeSeconds")

Errors = list[dict[str, str]]


def _text(form: Mapping[str, str], name: str) -> str:
    return str(form.get(name, "")).strip()


def _local_instant(text: str, zone: str) -> str:
    """A date-time without an offset is read in the event's zone (what a person means)."""
    try:
        moment = datetime.fromisoformat(text)
        if moment.tzinfo is None:
            return moment.replace(tzinfo=zone_info(zone)).isoformat()
    except (ValueError, InvalidPattern):
        pass  # left as typed: the document's validation names the field and the reason
    return text


def schedule_fields(form: Mapping[str, str]) -> dict[str, str]:
    """The ``schedulingPattern`` object from the filled-in ``schedulingPattern.*`` inputs."""
    values = {name: _text(form, f"schedulingPattern.{name}") for name in SCHEDULE_FIELDS}
    zone = values["timezone"] or "UTC"
    for name in ("startAt", "endAt"):
        values[name] = _local_instant(values[name], zone) if values[name] else ""
    return {name: value for name, value in values.items() if value}


def _json(form: Mapping[str, str], name: str, errors: Errors) -> Any:
    text = _text(form, name)
    if not text:
        return {}
    try:
        return json.loads(text)
    except ValueError as exc:
        errors.append({"field": name, "reason": f"not valid JSON: {exc}"})
        return {}


def _target(form: Mapping[str, str], errors: Errors) -> dict[str, Any]:
    kind = _text(form, "target")
    if kind == "webhook":
        webhook = {
            "endpoint": _text(form, "webhook.endpoint"),
            "method": _text(form, "webhook.method") or "POST",
            "headers": _json(form, "webhook.headers", errors),
        }
        if _text(form, "webhook.timeout"):
            webhook["timeout"] = _text(form, "webhook.timeout")
        return {"type": "webhook", "webhook": webhook}
    if kind == "graphql":
        graphql = {
            "endpoint": _text(form, "graphql.endpoint"),
            "query": _text(form, "graphql.query"),
        }
        return {"type": "graphql", "graphql": graphql}
    if kind in ("lambda", "sqs"):
        return _aws_target(form, kind)
    return {"action": _text(form, "action") or None}


def _aws_target(form: Mapping[str, str], kind: str) -> dict[str, Any]:
    if kind == "sqs":
        return {"type": "sqs", "sqs": {"queueUrl": _text(form, "sqs.queueUrl")}}
    target = {
        "function": _text(form, "lambda.function"),
        "invocationType": _text(form, "lambda.invocationType") or "RequestResponse",
    }
    if _text(form, "lambda.timeout"):
        target["timeout"] = _text(form, "lambda.timeout")
    return {"type": "lambda", "lambda": target}


def _optional(form: Mapping[str, str], names: tuple[str, ...], prefix: str) -> dict[str, str]:
    values = {name: _text(form, f"{prefix}{name}") for name in names}
    return {name: value for name, value in values.items() if value}


def document_from_form(form: Mapping[str, str]) -> tuple[dict[str, Any], Errors]:
    """The event document the form describes, and the inputs that are not even JSON."""
    errors: Errors = []
    document: dict[str, Any] = {
        "key": _text(form, "key"),
        "title": _text(form, "title") or None,
        **_target(form, errors),
        "params": {
            "url": _json(form, "params.url", errors),
            "body": _json(form, "params.body", errors),
            "header": _json(form, "params.header", errors),
        },
        "schedulingPattern": schedule_fields(form),
        "status": _text(form, "status") or None,
        "misfirePolicy": _text(form, "misfirePolicy") or "fire_once",
        "overlap": _text(form, "overlap") or "allow",
    }
    if _text(form, "service"):
        document["service"] = _text(form, "service")
    retry = _optional(form, RETRY_FIELDS, "retryPolicy.")
    if retry:
        document["retryPolicy"] = retry
    if _text(form, "misfireGraceSeconds"):
        document["misfireGraceSeconds"] = _text(form, "misfireGraceSeconds")
    return document, errors


def _dumped(value: Any) -> str:
    return "" if value in (None, {}) else json.dumps(value, indent=2, ensure_ascii=False)


def _target_values(document: dict[str, Any]) -> dict[str, str]:
    if document.get("action"):
        return {"target": "action", "action": document["action"]}
    kind = document["type"]
    target = document[kind] or {}
    if kind in ("lambda", "sqs"):
        return _aws_target_values(kind, target)
    values = {"target": kind, f"{kind}.endpoint": target.get("endpoint", "")}
    if kind == "graphql":
        return {**values, "graphql.query": target.get("query", "")}
    timeout = target.get("timeout")
    return {
        **values,
        "webhook.method": target.get("method", "POST"),
        "webhook.headers": _dumped(target.get("headers")),
        "webhook.timeout": "" if timeout is None else str(timeout),
    }


def _aws_target_values(kind: str, target: dict[str, Any]) -> dict[str, str]:
    if kind == "sqs":
        return {"target": "sqs", "sqs.queueUrl": target.get("queueUrl", "")}
    timeout = target.get("timeout")
    return {
        "target": "lambda",
        "lambda.function": target.get("function", ""),
        "lambda.invocationType": target.get("invocationType", "RequestResponse"),
        "lambda.timeout": "" if timeout is None else str(timeout),
    }


def form_from_event(row: RowMapping) -> dict[str, str]:
    """The edit form's values for a stored event."""
    document = event_json(row)
    pattern = document["schedulingPattern"]
    values = {
        "key": document["key"],
        "service": document["service"],
        "title": document["title"] or "",
        "status": document["status"] if document["status"] in SETTABLE_EVENT_STATUSES else "",
        "misfirePolicy": document["misfirePolicy"],
        "misfireGraceSeconds": str(document["misfireGraceSeconds"]),
        "overlap": document["overlap"],
        **_target_values(document),
        **{
            f"params.{name}": _dumped(document["params"].get(name))
            for name in ("url", "body", "header")
        },
        **{f"schedulingPattern.{name}": _plain(pattern.get(name)) for name in SCHEDULE_FIELDS},
        **{
            f"retryPolicy.{name}": _plain((document["retryPolicy"] or {}).get(name))
            for name in RETRY_FIELDS
        },
    }
    return values


def _plain(value: Any) -> str:
    return "" if value is None else str(value)
