"""The SQLite store: one node, one writer, every trip to aiosqlite's thread counted."""

from onewatch.store.sqlite.store import SqliteStore

__all__ = ["SqliteStore"]
