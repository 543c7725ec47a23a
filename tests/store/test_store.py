"""The store on both backends: versions, tombstones, atomic writes, migrations."""

from __future__ import annotations

import sqlite3
from typing import Any

import psycopg
import pytest

from ember.store import HistoryQuery, Store, StoredVersion, open_store
from ember.store.base import IndexRows
from ember.store.schema import migrations


def _version(id_: str, version: int, at: int, content: bytes | None = b"{}") -> StoredVersion:
    method = "DELETE" if content is None else "PUT"
    return StoredVersion("Patient", id_, version, at, method, content)


def test_versions_tombstones_and_history(database_url: str) -> None:
    store = open_store(database_url)
    try:
        for n, content in enumerate([b'{"v":1}', b'{"v":2}', None], start=1):
            with store.writing() as writer:
                state = writer.lock("Patient", "a")
                writer.write_version(state, _version("a", n, n * 10, content))
        with store.reading() as reader:
            current = reader.current("Patient", "a")
            assert current is not None and current.deleted and current.version == 3
            old = reader.version("Patient", "a", 1)
            assert old is not None and old.content == b'{"v":1}'
            history = reader.history(HistoryQuery(type="Patient", id="a"))
            assert [v.version for v in history] == [3, 2, 1]
            # current at some point in [15, 25): version 1 until 20, then version 2
            at = reader.history(HistoryQuery(type="Patient", id="a", at_start=15, at_end=25))
            assert [v.version for v in at] == [2, 1]
            assert reader.count_history(HistoryQuery(since=20)) == 2
    finally:
        store.close()


def test_failed_write_stores_nothing(database_url: str) -> None:
    store = open_store(database_url)
    try:
        with pytest.raises(RuntimeError), store.writing() as writer:
            writer.write_version(
                None, _version("b", 1, 1), IndexRows(tokens=[("identifier", None, "x")])
            )
            raise RuntimeError("a later step fails")
        with store.reading() as reader:
            assert reader.current("Patient", "b") is None
            assert reader.query("SELECT COUNT(*) FROM token_index") == [(0,)]
    finally:
        store.close()


def test_index_rows_are_replaced_and_dropped_on_delete(database_url: str) -> None:
    store = open_store(database_url)
    try:
        rows = IndexRows(tokens=[("identifier", "s", "1"), ("identifier", "s", "2")])
        with store.writing() as writer:
            writer.write_version(None, _version("c", 1, 1), rows)
        with store.writing() as writer:
            state = writer.lock("Patient", "c")
            writer.write_version(
                state, _version("c", 2, 2), IndexRows(tokens=[("identifier", "s", "3")])
            )
        with store.reading() as reader:
            assert reader.query("SELECT code FROM token_index") == [("3",)]
        with store.writing() as writer:
            state = writer.lock("Patient", "c")
            writer.write_version(state, _version("c", 3, 3, None))
        with store.reading() as reader:
            assert reader.query("SELECT COUNT(*) FROM token_index") == [(0,)]
    finally:
        store.close()


def test_reopening_keeps_data_and_schema(database_url: str) -> None:
    store = open_store(database_url)
    with store.writing() as writer:
        writer.write_version(None, _version("d", 1, 1))
    store.close()
    again = open_store(database_url)
    try:
        with again.reading() as reader:
            assert reader.current("Patient", "d") is not None
            latest = len(migrations(again.dialect))
            assert reader.query("SELECT version FROM schema_version") == [(latest,)]
    finally:
        again.close()


def test_unknown_database_url() -> None:
    with pytest.raises(ValueError, match="unsupported database URL"):
        open_store("mysql://nope")


def planned_rows(store: Store) -> float | None:
    """How many resources the query planner believes there are (None: no statistics)."""
    with store.reading() as reader:
        if store.dialect == "sqlite":
            rows = reader.query("SELECT stat FROM sqlite_stat1 WHERE idx = 'resources_type_live'")
            return float(rows[0][0].split()[0]) if rows else None
        (reltuples,) = reader.query("SELECT reltuples FROM pg_class WHERE relname = 'resources'")
        return None if reltuples[0] < 0 else float(reltuples[0])


def test_refresh_statistics_tells_the_planner_the_size(database_url: str) -> None:
    store = open_store(database_url)
    try:
        for n in range(3):
            with store.writing() as writer:
                writer.write_version(None, _version(f"s{n}", 1, n))
        assert planned_rows(store) != 3
        store.refresh_statistics()
        assert planned_rows(store) == 3
    finally:
        store.close()


def test_reference_joins_compare_types_in_one_collation(database_url: str) -> None:
    """resources.type and reference_index.target_type collate alike on PostgreSQL, so a
    join from a reference to its target can use the (type, id) index."""
    store = open_store(database_url)
    try:
        if store.dialect != "postgresql":
            pytest.skip("SQLite compares text in one (binary) collation")
        with store.reading() as reader:
            rows = reader.query(
                "SELECT table_name, collation_name FROM information_schema.columns "
                "WHERE (table_name, column_name) IN "
                "(('resources', 'type'), ('reference_index', 'target_type'))"
            )
        assert dict(rows) == {"resources": "C", "reference_index": "C"}
    finally:
        store.close()


def _schema_version(database_url: str, set_to: int | None = None) -> int:
    """The schema_version row, read (or first set) outside the store."""
    if database_url.startswith("sqlite:"):
        connection: Any = sqlite3.connect(database_url.removeprefix("sqlite:///"))
        placeholder = "?"
    else:
        connection = psycopg.connect(database_url, autocommit=True)
        placeholder = "%s"
    try:
        if set_to is not None:
            connection.execute(f"UPDATE schema_version SET version = {placeholder}", (set_to,))
            connection.commit()
        return connection.execute("SELECT version FROM schema_version").fetchone()[0]
    finally:
        connection.close()


def test_a_database_of_a_newer_schema_is_refused_unchanged(database_url: str) -> None:
    open_store(database_url).close()
    latest = _schema_version(database_url)
    _schema_version(database_url, set_to=999)
    try:
        with pytest.raises(RuntimeError, match="schema version 999, newer than"):
            open_store(database_url)
        assert _schema_version(database_url) == 999
    finally:
        # the PostgreSQL test database is shared by the run's tests
        _schema_version(database_url, set_to=latest)
