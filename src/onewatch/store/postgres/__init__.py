"""The PostgreSQL store: many nodes, row locks, batch statements, LISTEN/NOTIFY."""

from onewatch.store.postgres.store import PostgresStore

__all__ = ["PostgresStore"]
