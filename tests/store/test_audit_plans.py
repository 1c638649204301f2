"""The audit listing and the dashboard's last results read indexes, not whole tables
(SQLite's query plans: stable, and enough to catch a query that lost its index)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Select, select, text

from onewatch.store import open_store
from onewatch.store.last_results import _last_results_of, _recent_failures
from onewatch.store.schema import audit_log


async def _plan(tmp_path: Path, query: Select[object]) -> str:
    store = open_store(f"sqlite:///{tmp_path / 'plans.db'}")
    try:
        await store.migrate()
        engine = store.engine
        sql = str(query.compile(dialect=engine.dialect, compile_kwargs={"literal_binds": True}))
        async with engine.connect() as connection:
            rows = (await connection.execute(text(f"EXPLAIN QUERY PLAN {sql}"))).all()
    finally:
        await store.dispose()
    return "\n".join(str(row[-1]) for row in rows)


async def test_a_services_audit_page_walks_its_index(tmp_path: Path) -> None:
    own = select(audit_log).where(audit_log.c.service == "a").order_by(audit_log.c.id.desc())
    one = own.where(audit_log.c.resource_type == "event", audit_log.c.resource_key == "k")
    assert "USING INDEX ix_audit_log_service (service=?)" in await _plan(tmp_path, own)
    assert "USING INDEX ix_audit_log_resource" in await _plan(tmp_path, one)
    assert "TEMP B-TREE" not in await _plan(tmp_path, own.limit(51))


async def test_last_results_and_failures_seek_by_index(tmp_path: Path) -> None:
    last = await _plan(tmp_path, _last_results_of([1, 2, 3]))
    assert "SEARCH deliveries USING INDEX ix_deliveries_event (event_id=?)" in last
    assert "SCAN" not in last and "TEMP B-TREE" not in last
    failures = await _plan(tmp_path, _recent_failures("alpha", "dead", 2000))
    assert "USING INDEX ix_deliveries_service_status (service=? AND status=?)" in failures
    assert "TEMP B-TREE" not in failures
