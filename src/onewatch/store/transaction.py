"""``ports.StoreTransaction`` on one SQLAlchemy connection, shared by both stores.

Each method is one query of the dialect-neutral modules (``store.events``,
``store.actions``, ``store.calendars``, ``store.dashboard``, ``store.last_results``,
``store.audit``, ``store.signing_secrets``) on the transaction's connection; the batch
inserts whose fast path differs by database ask the store that opened the transaction
(``SqlStore.insert_event_rows``, ``SqlStore.insert_audit_rows``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from onewatch.security.secrets_crypto import Keyring
from onewatch.store import (
    actions,
    audit,
    backfill,
    calendars,
    dashboard,
    deliveries,
    events,
    last_results,
    signing_secrets,
)
from onewatch.store.records import (
    AuditEntry,
    AuditFilter,
    EventFilter,
    Failing,
    SigningSecretRecord,
    StoredRow,
)

if TYPE_CHECKING:
    from onewatch.store.base import SqlStore


class SqlTransaction:
    """One open transaction of a ``SqlStore`` (see ``ports.StoreTransaction``)."""

    __slots__ = ("_store", "connection")

    def __init__(self, store: SqlStore, connection: AsyncConnection) -> None:
        self._store = store
        #: For the store's own modules only: callers outside ``store/`` use the methods.
        self.connection = connection

    # --- events ---------------------------------------------------------------------
    async def get_event(self, service: str, key: str) -> RowMapping | None:
        return await events.get_event(self.connection, service, key)

    async def get_events_by_identity(
        self, identities: Sequence[tuple[str, str]]
    ) -> dict[tuple[str, str], RowMapping]:
        return await events.get_events_by_identity(self.connection, identities)

    async def list_events(
        self, where: EventFilter, *, after_id: int | None, limit: int
    ) -> Sequence[RowMapping]:
        return await events.list_events(self.connection, where, after_id=after_id, limit=limit)

    async def count_live_events(self, service: str) -> int:
        return await events.count_live_events(self.connection, service)

    async def insert_event(self, values: Mapping[str, Any]) -> int:
        return await events.insert_event(self.connection, values)

    async def insert_new_events(
        self, rows: Sequence[Mapping[str, Any]]
    ) -> dict[tuple[str, str], StoredRow]:
        if not rows:
            return {}
        stored = await self._store.insert_event_rows(self.connection, rows)
        return {(row["service"], row["key"]): row for row in stored}

    async def update_event(
        self, event_id: int, expected_version: int, values: Mapping[str, Any]
    ) -> bool:
        return await events.update_event(self.connection, event_id, expected_version, values)

    async def delete_event(self, event_id: int) -> bool:
        return await events.delete_event(self.connection, event_id)

    async def insert_manual_delivery(self, event: RowMapping, now: datetime) -> str:
        return await events.insert_manual_delivery(self.connection, event, now)

    async def insert_occurrences(self, rows: Sequence[Mapping[str, Any]]) -> int:
        return await backfill.insert_occurrences(self.connection, rows)

    # --- calendars ------------------------------------------------------------------
    async def insert_calendar(self, values: Mapping[str, Any]) -> int:
        return await calendars.insert_calendar(self.connection, values)

    async def get_calendar(
        self, service: str, key: str, *, share: bool = False
    ) -> RowMapping | None:
        return await calendars.get_calendar(self.connection, service, key, share=share)

    async def lock_calendar(self, service: str, key: str) -> RowMapping | None:
        return await calendars.lock_calendar(self.connection, service, key)

    async def get_calendars_by_identity(
        self, identities: Sequence[tuple[str, str]]
    ) -> dict[tuple[str, str], RowMapping]:
        return await calendars.get_calendars_by_identity(self.connection, identities)

    async def list_calendars(
        self, *, service: str | None, after_id: int | None, limit: int
    ) -> Sequence[RowMapping]:
        return await calendars.list_calendars(
            self.connection, service=service, after_id=after_id, limit=limit
        )

    async def update_calendar(
        self, calendar_id: int, expected_version: int, values: Mapping[str, Any]
    ) -> bool:
        return await calendars.update_calendar(
            self.connection, calendar_id, expected_version, values
        )

    async def delete_calendar(self, calendar_id: int) -> bool:
        return await calendars.delete_calendar(self.connection, calendar_id)

    async def keys_of_events_using_calendar(
        self, service: str, key: str, *, limit: int
    ) -> tuple[int, list[str]]:
        return await calendars.keys_of_events_using(self.connection, service, key, limit=limit)

    async def events_using_calendar(self, service: str, key: str) -> Sequence[RowMapping]:
        return await calendars.events_using(self.connection, service, key)

    # --- actions --------------------------------------------------------------------
    async def insert_action(self, values: Mapping[str, Any]) -> int:
        return await actions.insert_action(self.connection, values)

    async def get_action(self, service: str, key: str) -> RowMapping | None:
        return await actions.get_action(self.connection, service, key)

    async def get_actions_by_identity(
        self, identities: Sequence[tuple[str, str]]
    ) -> dict[tuple[str, str], RowMapping]:
        return await actions.get_actions_by_identity(self.connection, identities)

    async def list_actions(
        self, *, service: str | None, after_id: int | None, limit: int
    ) -> Sequence[RowMapping]:
        return await actions.list_actions(
            self.connection, service=service, after_id=after_id, limit=limit
        )

    async def update_action(
        self, action_id: int, expected_updated_at: datetime, values: Mapping[str, Any]
    ) -> bool:
        return await actions.update_action(self.connection, action_id, expected_updated_at, values)

    async def delete_action(self, action_id: int) -> bool:
        return await actions.delete_action(self.connection, action_id)

    async def count_events_using(self, service: str, key: str) -> int:
        return await actions.count_events_using(self.connection, service, key)

    async def url_params_of_events_using(self, service: str, key: str) -> Sequence[tuple[str, Any]]:
        return await actions.url_params_of_events_using(self.connection, service, key)

    # --- dashboard summaries --------------------------------------------------------
    async def events_by_status(self, service: str | None) -> dict[str, int]:
        return await dashboard.events_by_status(self.connection, service)

    async def deliveries_by_status(self, service: str | None) -> dict[str, int]:
        return await dashboard.deliveries_by_status(self.connection, service)

    async def fires_between(self, service: str | None, start: datetime, end: datetime) -> int:
        return await dashboard.fires_between(self.connection, service, start, end)

    async def failed_attempts_since(self, service: str | None, start: datetime) -> int:
        return await dashboard.failed_attempts_since(self.connection, service, start)

    async def first_attempt_lateness(self, service: str | None, start: datetime) -> list[float]:
        return await dashboard.first_attempt_lateness(self.connection, service, start)

    async def active_schedules_due_by(
        self, service: str | None, end: datetime
    ) -> Sequence[RowMapping]:
        return await dashboard.active_schedules_due_by(self.connection, service, end)

    async def last_results(self, event_ids: Sequence[int]) -> dict[int, RowMapping]:
        return await last_results.last_results(self.connection, event_ids)

    async def failing_event_ids(self, service: str | None) -> Failing:
        return await last_results.failing_event_ids(self.connection, service)

    async def list_events_among(
        self, event_ids: Sequence[int], where: EventFilter, *, after_id: int | None, limit: int
    ) -> Sequence[RowMapping]:
        return await last_results.list_events_among(
            self.connection, event_ids, where, after_id=after_id, limit=limit
        )

    # --- deliveries -----------------------------------------------------------------
    async def redrive(self, delivery_id: str, *, now: datetime) -> bool:
        return await deliveries.redrive(self.connection, delivery_id, now=now)

    # --- the audit log --------------------------------------------------------------
    async def record_audits(self, entries: Sequence[AuditEntry]) -> None:
        if entries:
            await self._store.insert_audit_rows(self.connection, audit.audit_rows(entries))

    async def list_audit(
        self, where: AuditFilter, *, before_id: int | None, limit: int
    ) -> Sequence[RowMapping]:
        return await audit.list_audit(self.connection, where, before_id=before_id, limit=limit)

    async def prune_audit(self, *, older_than: datetime, limit: int) -> int:
        return await audit.prune_audit(self.connection, older_than=older_than, limit=limit)

    # --- signing secrets ------------------------------------------------------------
    async def create_secret(
        self, keyring: Keyring, service: str, now: datetime
    ) -> tuple[SigningSecretRecord, str]:
        return await signing_secrets.create_secret(self.connection, keyring, service, now)

    async def rotate_secrets(
        self, keyring: Keyring, service: str, now: datetime, overlap: timedelta
    ) -> tuple[SigningSecretRecord, str, datetime]:
        return await signing_secrets.rotate_secrets(self.connection, keyring, service, now, overlap)

    async def revoke_secret(self, service: str, secret_id: int, now: datetime) -> None:
        await signing_secrets.revoke_secret(self.connection, service, secret_id, now)

    async def list_secrets(self, service: str) -> list[SigningSecretRecord]:
        return await signing_secrets.list_secrets(self.connection, service)

    async def active_secrets(self, service: str, now: datetime, *, keyring: Keyring) -> list[str]:
        return await signing_secrets.active_secrets(self.connection, service, now, keyring=keyring)

    async def reseal_all(self, keyring: Keyring) -> int:
        return await signing_secrets.reseal_all(self.connection, keyring)
