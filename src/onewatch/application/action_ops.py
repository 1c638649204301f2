"""Creating, replacing and removing actions: validation against the store, in one transaction.

Framework-free so that ``onewatch import`` runs exactly the same rules as the HTTP API.
Callers have already checked that the caller may act for ``service``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import RowMapping

from onewatch.application.audit import Actor, action_document, entry
from onewatch.application.races import retry_lost_race
from onewatch.clock import Clock
from onewatch.delivery.target_policy import TargetPolicy
from onewatch.domain.documents import ActionDocument, GraphqlTarget, WebhookTarget, placeholders
from onewatch.errors import Conflict, NotFound, ValidationFailed
from onewatch.ports import Store, StoreTransaction
from onewatch.store.records import StoredRow


@dataclass(frozen=True)
class Written:
    """The row after a write; ``created``/``changed`` say what the write did."""

    row: StoredRow
    created: bool = False
    changed: bool = True
    #: ``row`` as the API answers it (JSON), when the write serialized it already for its
    #: audit entry: the answer sends these bytes rather than rendering the row again.
    body: bytes | None = field(default=None, compare=False)


def action_definition(service: str, document: ActionDocument) -> dict[str, Any]:
    """The columns a client's document decides (everything but ids and timestamps)."""
    policy = document.retry_policy
    return {
        "service": service,
        "key": document.key,
        "type": document.type,
        "target": document.target.model_dump(by_alias=True, exclude_none=True),
        "payload": document.payload,
        "retry_policy": policy.model_dump(by_alias=True) if policy else None,
    }


def _unchanged(row: RowMapping, definition: dict[str, Any]) -> bool:
    return all(row[name] == value for name, value in definition.items())


async def _reload(tx: StoreTransaction, service: str, key: str) -> RowMapping:
    row = await tx.get_action(service, key)
    assert row is not None
    return row


async def _check_users_still_served(
    tx: StoreTransaction, service: str, document: ActionDocument
) -> None:
    """A changed endpoint must not need a placeholder that an existing event lacks."""
    target = document.target
    if not isinstance(target, WebhookTarget | GraphqlTarget):
        return  # a Lambda or SQS target has no endpoint to fill
    needed = placeholders(target.endpoint)
    if not needed:
        return
    for event_key, params in await tx.url_params_of_events_using(service, document.key):
        missing = needed - set((params or {}).get("url", {}))
        if missing:
            raise ValidationFailed(
                f"event {event_key!r} uses this action but its params.url lacks "
                f"{', '.join(sorted(missing))}",
                field=f"{document.type}.endpoint",
            )


def check_destination(policy: TargetPolicy, service: str, document: ActionDocument) -> None:
    """422 naming ``<type>.endpoint`` and the rule when the policy refuses the endpoint,
    or ``lambda.function`` / ``sqs.queueUrl`` when ``service`` is not granted it.

    A placeholder in the host is checked once an event fills it (``event_ops``).
    """
    target = document.target
    if isinstance(target, WebhookTarget | GraphqlTarget):
        policy.check_endpoint(target.endpoint, field=f"{document.type}.endpoint")
        return
    policy.aws.check(service, document.type, target.model_dump(by_alias=True))


async def create_action(
    store: Store,
    clock: Clock,
    service: str,
    document: ActionDocument,
    *,
    policy: TargetPolicy,
    actor: Actor,
) -> Written:
    check_destination(policy, service, document)
    async with store.write() as tx:
        return await _insert(tx, clock, service, document, actor)


async def replace_action(
    store: Store,
    clock: Clock,
    service: str,
    document: ActionDocument,
    *,
    policy: TargetPolicy,
    actor: Actor,
) -> Written:
    """PUT: create the action, or make the stored one equal to ``document``."""
    check_destination(policy, service, document)

    async def attempt() -> Written:
        async with store.write() as tx:
            current = await tx.get_action(service, document.key)
            if current is None:
                return await _insert(tx, clock, service, document, actor)
            return await _overwrite(tx, clock, current, document, actor)

    return await retry_lost_race(attempt)


def _audited(service: str, key: str) -> tuple[str, str, str]:
    return service, "action", key


async def _insert(
    tx: StoreTransaction,
    clock: Clock,
    service: str,
    document: ActionDocument,
    actor: Actor,
) -> Written:
    now = clock.now()
    values = {**action_definition(service, document), "created_at": now, "updated_at": now}
    await tx.insert_action(values)
    row = await _reload(tx, service, document.key)
    target = _audited(service, document.key)
    await tx.record_audits([entry(actor, now, target, "create", None, action_document(row))])
    return Written(row, created=True)


async def _overwrite(
    tx: StoreTransaction,
    clock: Clock,
    current: RowMapping,
    document: ActionDocument,
    actor: Actor,
) -> Written:
    service = current["service"]
    definition = action_definition(service, document)
    if _unchanged(current, definition):
        return Written(current, changed=False)
    await _check_users_still_served(tx, service, document)
    now = clock.now()
    values = {**definition, "updated_at": now}
    if not await tx.update_action(current["id"], current["updated_at"], values):
        raise Conflict("the action changed while this request ran; retry")
    row = await _reload(tx, service, document.key)
    change = entry(
        actor,
        now,
        _audited(service, document.key),
        "update",
        action_document(current),
        action_document(row),
    )
    await tx.record_audits([change])
    return Written(row)


async def update_action(
    store: Store,
    clock: Clock,
    service: str,
    key: str,
    build: Callable[[RowMapping], ActionDocument],
    *,
    policy: TargetPolicy,
    actor: Actor,
) -> Written:
    """PATCH: ``build(current_row)`` returns the merged, validated document."""
    async with store.write() as tx:
        current = await tx.get_action(service, key)
        if current is None:
            raise NotFound(f"no action {service}/{key}")
        document = build(current)
        if document.key != key:
            raise ValidationFailed("the key of an action cannot change", field="key")
        check_destination(policy, service, document)
        return await _overwrite(tx, clock, current, document, actor)


async def remove_action(
    store: Store, service: str, key: str, *, clock: Clock, actor: Actor
) -> None:
    """Delete an action no event uses (an event's action must always exist)."""
    async with store.write() as tx:
        current = await tx.get_action(service, key)
        if current is None:
            raise NotFound(f"no action {service}/{key}")
        users = await tx.count_events_using(service, key)
        if users:
            raise Conflict(f"{users} event(s) still use this action; change or delete them first")
        await tx.delete_action(current["id"])
        change = entry(
            actor, clock.now(), _audited(service, key), "delete", action_document(current)
        )
        await tx.record_audits([change])
