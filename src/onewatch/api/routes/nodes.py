"""``GET /v1/nodes``: which nodes run which roles, and which are alive (admins only)."""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

from onewatch.api.deps import PrincipalDep, RuntimeDep
from onewatch.api.rate_limit import RateLimitDep
from onewatch.domain.statuses import NodeStatus
from onewatch.errors import Forbidden
from onewatch.store.records import NodeInfo

router = APIRouter(prefix="/v1/nodes", tags=["nodes"], dependencies=[RateLimitDep])


class NodeOut(BaseModel):
    """One node, as an admin sees it."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)

    id: str
    hostname: str
    pid: int
    roles: list[str]
    version: str
    started_at: datetime
    heartbeat_at: datetime
    stopped_at: datetime | None
    status: NodeStatus

    @classmethod
    def of(cls, node: NodeInfo, now: datetime, stale_after: timedelta) -> NodeOut:
        return cls(
            id=node.id,
            hostname=node.hostname,
            pid=node.pid,
            roles=list(node.roles),
            version=node.version,
            started_at=node.started_at,
            heartbeat_at=node.heartbeat_at,
            stopped_at=node.stopped_at,
            status=node.status(now, stale_after),
        )


class NodeList(BaseModel):
    items: list[NodeOut]


@router.get("", response_model=NodeList, response_model_by_alias=True)
async def get_nodes(principal: PrincipalDep, runtime: RuntimeDep) -> NodeList:
    """Every node that has reported in, oldest first; ``status`` is alive/stale/stopped."""
    if not principal.admin:
        raise Forbidden("listing nodes needs an admin token", field="scope")
    now = runtime.clock.now()
    # Stale exactly when other nodes take its deliveries over.
    stale_after = timedelta(seconds=runtime.settings.node_takeover_seconds)
    found = await runtime.store.list_nodes()
    return NodeList(items=[NodeOut.of(node, now, stale_after) for node in found])
