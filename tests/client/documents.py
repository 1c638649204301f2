"""Documents the client tests send (the seed's shapes, pointed at the test's target)."""

from __future__ import annotations

from typing import Any

#: Far in the future, so no scheduled fire happens during a test: only triggers do.
YEARLY = {"pattern": "0 3 1 1 *", "timezone": "Europe/Berlin"}


def webhook_action(key: str, endpoint: str) -> dict[str, Any]:
    return {
        "key": key,
        "type": "webhook",
        "webhook": {"endpoint": endpoint, "method": "POST"},
        "payload": {},
    }


def event(key: str, action: str, **changes: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "key": key,
        "title": "Yearly report",
        "action": action,
        "params": {"body": {"report": key}},
        "schedulingPattern": dict(YEARLY),
    }
    document.update(changes)
    return document


def inline_event(key: str, endpoint: str) -> dict[str, Any]:
    return {
        "key": key,
        "webhook": {"endpoint": endpoint, "method": "POST"},
        "schedulingPattern": dict(YEARLY),
        "retryPolicy": {"maxAttempts": 1},
    }
