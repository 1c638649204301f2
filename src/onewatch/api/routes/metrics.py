"""``GET /metrics``: Prometheus text format, queue gauges read from the store per scrape."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST

from onewatch.api.deps import RuntimeDep
from onewatch.domain.statuses import UNFINISHED_STATUSES

router = APIRouter(tags=["metrics"])


async def refresh_queue_gauges(runtime: RuntimeDep) -> None:
    """Queue depth lives in the table, shared by every node: read it when scraped."""
    counts = await runtime.store.count_by_status()
    for status in UNFINISHED_STATUSES:
        runtime.metrics.queue.labels(status).set(counts.get(status, 0))
    now = runtime.clock.now()
    oldest = await runtime.store.oldest_pending_due(now=now)
    age = 0.0 if oldest is None else max((now - oldest).total_seconds(), 0.0)
    runtime.metrics.oldest_pending_age.set(age)


@router.get("/metrics", include_in_schema=False)
async def metrics(runtime: RuntimeDep) -> Response:
    await refresh_queue_gauges(runtime)
    return Response(runtime.metrics.render(), media_type=CONTENT_TYPE_LATEST)
