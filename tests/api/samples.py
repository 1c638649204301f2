"""Valid documents the API tests start from (and break one field at a time)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

#: Byte-for-byte copies of the original system's exported documents (shared/examples).
SEED = Path(__file__).resolve().parent / "seed"


def webhook_action(key: str = "notify", **changes: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "key": key,
        "type": "webhook",
        "webhook": {
            "endpoint": "http://127.0.0.1:9/hooks/<id>",
            "method": "POST",
            "headers": {"X-Team": "billing"},
            "timeout": 5,
        },
        "retryPolicy": {
            "maxAttempts": 3,
            "minBackoffSeconds": 1,
            "maxBackoffSeconds": 60,
            "maxAgeSeconds": 3600,
        },
    }
    document.update(changes)
    return document


def graphql_action(key: str = "mutate", **changes: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "key": key,
        "type": "graphql",
        "payload": {"limit": 10},
        "graphql": {"endpoint": "https://graphql.example.org/graphql", "query": "mutation { x }"},
    }
    document.update(changes)
    return document


def event(key: str = "monthly", action: str = "notify", **changes: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "key": key,
        "title": "Monthly report",
        "action": action,
        "params": {"url": {"id": "42"}, "body": {"hello": "world"}, "header": {"X-A": "b"}},
        "schedulingPattern": {
            "pattern": "0 1 15 * *",
            "timezone": "America/Sao_Paulo",
            "separation": 1,
            "maxOccurrences": 12,
        },
    }
    document.update(changes)
    return document


def inline_event(key: str = "inline", **changes: Any) -> dict[str, Any]:
    document = event(key, **changes)
    del document["action"]
    document.setdefault("webhook", {"endpoint": "https://hooks.example.org/x/{id}"})
    return document


def load_seed(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((SEED / name).read_text())
    return loaded
