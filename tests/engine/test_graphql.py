"""GraphQL targets: a real strawberry server receives the mutation; ``errors`` fail."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
import strawberry
from aiohttp import web
from strawberry.aiohttp.views import GraphQLView

from onewatch.runtime import Runtime
from tests.engine.support import Sink, add_action, add_event, deliveries_of, utcnow, wait_for

charges: list[tuple[str, int]] = []


@strawberry.type
class Query:
    @strawberry.field
    def health(self) -> str:
        return "ok"


@strawberry.type
class Mutation:
    @strawberry.mutation
    def charge(self, customer: str, amount: int) -> str:
        if amount < 0:
            raise ValueError("amount must not be negative")
        charges.append((customer, amount))
        return f"charged {customer}"


schema = strawberry.Schema(query=Query, mutation=Mutation)
MUTATION = (
    "mutation Charge($customer: String!, $amount: Int!)"
    " { charge(customer: $customer, amount: $amount) }"
)


@pytest.fixture
async def graphql_sink() -> AsyncIterator[Sink]:
    def mount(app: web.Application) -> None:
        app.router.add_route("*", "/graphql", GraphQLView(schema=schema))

    server = await Sink().start(mount)
    try:
        yield server
    finally:
        await server.stop()


async def _event(runtime: Runtime, sink: Sink, key: str, body: dict[str, object]) -> int:
    event_id = await add_event(
        runtime.store.engine,
        key=key,
        pattern=(utcnow() + timedelta(milliseconds=50)).isoformat(),
        action_key="charge",
        params={"body": body},
        retry_policy={"maxAttempts": 1},
    )
    runtime.wakeup.notify()
    return event_id


async def _status(runtime: Runtime, event_id: int, status: str) -> dict[str, object]:
    async def done() -> bool:
        rows = await deliveries_of(runtime.store.engine, event_id)
        return bool(rows) and rows[0]["status"] == status

    await wait_for(done, what=f"delivery {status}")
    return (await deliveries_of(runtime.store.engine, event_id))[0]


async def test_graphql_mutation_with_payload_overlaid_by_params(
    running: Runtime, graphql_sink: Sink
) -> None:
    charges.clear()
    await add_action(
        running.store.engine,
        key="charge",
        type_="graphql",
        target={"endpoint": f"{graphql_sink.base}/graphql", "query": MUTATION},
        payload={"customer": "acme", "amount": 1},
    )
    ok = await _event(running, graphql_sink, "ok", {"amount": 250})
    await _status(running, ok, "succeeded")
    assert charges == [("acme", 250)]

    bad = await _event(running, graphql_sink, "bad", {"amount": -5})
    delivery = await _status(running, bad, "dead")
    assert delivery["last_status_code"] == 200
    assert "GraphQL response has errors" in str(delivery["last_error"])
    assert charges == [("acme", 250)]
