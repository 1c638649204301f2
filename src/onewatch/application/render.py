"""Stored rows -> the camelCase JSON documents the API answers with (and PATCH merges into)."""

from __future__ import annotations

from typing import Any

from onewatch.domain.documents import utc_text
from onewatch.domain.statuses import SETTABLE_EVENT_STATUSES
from onewatch.store.records import StoredRow


def action_json(row: StoredRow) -> dict[str, Any]:
    return {
        "id": str(row["id"]),
        "service": row["service"],
        "key": row["key"],
        "type": row["type"],
        row["type"]: row["target"],
        "payload": row["payload"],
        "retryPolicy": row["retry_policy"],
        "createdAt": utc_text(row["created_at"]),
        "updatedAt": utc_text(row["updated_at"]),
    }


def scheduling_pattern_json(row: StoredRow) -> dict[str, Any]:
    return {
        "pattern": row["pattern"],
        "timezone": row["timezone"],
        "separation": row["separation"],
        "maxOccurrences": row["max_occurrences"],
        "startAt": utc_text(row["start_at"]),
        "endAt": utc_text(row["end_at"]),
    }


def _event_target_json(row: StoredRow) -> dict[str, Any]:
    if row["action_key"] is not None:
        return {"action": row["action_key"]}
    return {"type": row["target_type"], row["target_type"]: row["target"]}


def event_json(row: StoredRow) -> dict[str, Any]:
    return {
        "id": str(row["id"]),
        "service": row["service"],
        "key": row["key"],
        "title": row["title"],
        **_event_target_json(row),
        "params": row["params"],
        "schedulingPattern": scheduling_pattern_json(row),
        "status": row["status"],
        "nextOccurrence": utc_text(row["next_occurrence"]),
        "occurrences": row["occurrences"],
        "retryPolicy": row["retry_policy"],
        "misfirePolicy": row["misfire_policy"],
        "misfireGraceSeconds": row["misfire_grace_seconds"],
        "createdAt": utc_text(row["created_at"]),
        "updatedAt": utc_text(row["updated_at"]),
    }


def event_as_input(row: StoredRow) -> dict[str, Any]:
    """The event as a client would send it: the base a PATCH is merged into."""
    document = event_json(row)
    if document["status"] not in SETTABLE_EVENT_STATUSES:
        del document["status"]
    return document


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch: objects merge recursively, ``null`` removes a member."""
    if not isinstance(patch, dict):
        return patch
    merged = dict(target) if isinstance(target, dict) else {}
    for name, value in patch.items():
        if value is None:
            merged.pop(name, None)
        else:
            merged[name] = merge_patch(merged.get(name), value)
    return merged
