"""PostgreSQL's batch statements, as reviewed SQL text.

asyncpg reports no row count for an executemany, so a batch of conditional updates
cannot be checked by count as on SQLite. Each batch is instead one ``UPDATE ... FROM
unnest(...)`` that names the rows it changed (``RETURNING``): the caller keeps exactly
those, in the same transaction. Status words are bound from ``domain.statuses``, so the
text names no status of its own.
"""

from __future__ import annotations

from sqlalchemy import text

from onewatch.domain.statuses import DeliveryStatus, EventStatus

#: Advance each due event only from the version (and the active status) it was read at.
ADVANCE_EVENTS = text(
    """
    UPDATE events AS e
    SET next_occurrence = v.next_occurrence, occurrences = v.occurrences, status = v.status,
        version = e.version + 1, updated_at = :now
    FROM unnest(
        CAST(:ids AS BIGINT[]), CAST(:versions AS INTEGER[]),
        CAST(:next_occurrences AS TIMESTAMPTZ[]), CAST(:occurrences AS INTEGER[]),
        CAST(:statuses AS VARCHAR[])
    ) AS v(id, version, next_occurrence, occurrences, status)
    WHERE e.id = v.id AND e.version = v.version AND e.status = :active
    RETURNING e.id
    """
).bindparams(active=EventStatus.ACTIVE.value)

#: Record each outcome only where the row is still running under the lease that sent it.
RECORD_OUTCOMES = text(
    """
    UPDATE deliveries AS d
    SET status = v.status, attempts = v.attempt, next_attempt_at = v.next_attempt_at,
        last_status_code = v.status_code, last_error = v.error, finished_at = v.finished_at,
        locked_until = NULL, lease_token = NULL, leased_by = NULL, updated_at = :now
    FROM unnest(
        CAST(:ids AS VARCHAR[]), CAST(:tokens AS VARCHAR[]), CAST(:statuses AS VARCHAR[]),
        CAST(:attempts AS INTEGER[]), CAST(:next_attempts AS TIMESTAMPTZ[]),
        CAST(:status_codes AS INTEGER[]), CAST(:errors AS TEXT[]),
        CAST(:finished AS TIMESTAMPTZ[])
    ) AS v(id, token, status, attempt, next_attempt_at, status_code, error, finished_at)
    WHERE d.id = v.id AND d.lease_token = v.token AND d.status = :running
    RETURNING d.id
    """
).bindparams(running=DeliveryStatus.RUNNING.value)

#: Held while migrating ("onewatch" in ASCII, as a number): nodes starting at once take
#: turns, and the later ones find the schema current.
MIGRATION_LOCK = text("SELECT pg_advisory_xact_lock(:key)")
MIGRATION_LOCK_KEY = 0x6F6E657761746368
