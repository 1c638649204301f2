"""The status enums are the stored words: renaming a member must not change a row."""

from __future__ import annotations

import json

from sqlalchemy import CheckConstraint, Table

from onewatch.domain.statuses import (
    DELIVERY_STATUSES,
    EVENT_STATUSES,
    AttemptOutcome,
    DeliveryStatus,
    EventStatus,
)
from onewatch.store.schema import deliveries, delivery_attempts, events


def _check_texts(table: Table) -> set[str]:
    return {str(c.sqltext) for c in table.constraints if isinstance(c, CheckConstraint)}


def test_the_words_are_the_ones_already_stored() -> None:
    assert EVENT_STATUSES == ("active", "paused", "completed", "cancelled")
    assert DELIVERY_STATUSES == (
        "pending",
        "running",
        "succeeded",
        "retrying",
        "dead",
        "buffered",
        "skipped",
    )
    assert tuple(AttemptOutcome) == ("succeeded", "failed", "abandoned")
    assert json.dumps({"status": EventStatus.PAUSED}) == '{"status": "paused"}'


def test_the_check_constraints_are_built_from_the_enums() -> None:
    assert "status IN ('active', 'paused', 'completed', 'cancelled')" in _check_texts(events)
    assert (
        "status IN ('pending', 'running', 'succeeded', 'retrying', 'dead', 'buffered', 'skipped')"
        in _check_texts(deliveries)
    )
    assert "outcome IN ('succeeded', 'failed', 'abandoned')" in _check_texts(delivery_attempts)
    assert DeliveryStatus.RUNNING == "running"
