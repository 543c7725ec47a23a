"""Persistence behind one small interface: SQLite (embedded default) and PostgreSQL."""

from __future__ import annotations

from ember.store.base import HistoryQuery, Store, StoreBusy, StoreConflict, StoredVersion


def open_store(url: str) -> Store:
    """Open (and migrate) the database a URL names: sqlite:///path.db or postgresql://..."""
    if url.startswith("sqlite:"):
        from ember.store.sqlite import SQLiteStore

        return SQLiteStore(url)
    if url.startswith(("postgresql:", "postgres:")):
        from ember.store.postgres import PostgresStore

        return PostgresStore(url)
    raise ValueError(f"unsupported database URL {url!r}: use sqlite:///path.db or postgresql://...")


__all__ = ["HistoryQuery", "Store", "StoreBusy", "StoreConflict", "StoredVersion", "open_store"]
