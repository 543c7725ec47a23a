"""The SQL both backends share; each backend supplies connections and its dialect."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from ember.store.base import (
    INDEX_TABLES,
    MAX_INDEXED_CHARS,
    CurrentState,
    HistoryQuery,
    IndexRows,
    StoreConflict,
    StoredVersion,
    Writer,
    contained_type,
    in_container,
    is_capped,
)

_VERSION_COLUMNS = "r.type, r.id, v.version, v.last_updated, v.method, v.content, v.seq"
# The current version of a resource, by type and id.
_CURRENT = (
    f"SELECT {_VERSION_COLUMNS} FROM resources r "
    "JOIN resource_versions v ON v.res_pk = r.pk AND v.version = r.version "
    "WHERE r.type = ? AND r.id = ?"
)


def _stored(row: Sequence[Any]) -> StoredVersion:
    """A StoredVersion from a row of the version columns."""
    content = row[5]
    return StoredVersion(
        type=row[0],
        id=row[1],
        version=row[2],
        last_updated=row[3],
        method=row[4],
        content=bytes(content) if content is not None else None,
        seq=row[6],
    )


_INSERT_RESOURCE = (
    "INSERT INTO resources (type, id, version, last_updated, deleted) "
    "VALUES (?, ?, ?, ?, ?) ON CONFLICT (type, id) DO NOTHING"
)
# A contained resource's row, named after its container (see CONTAINED_PREFIX)
_INSERT_CONTAINED = (
    "INSERT INTO resources (type, id, version, last_updated, deleted, container) "
    "SELECT ?, ?, c.version, c.last_updated, ?, c.pk FROM resources c WHERE c.pk = ? "
    "RETURNING pk"
)
_INSERT_VERSION = (
    "INSERT INTO resource_versions (res_pk, version, last_updated, method, content) "
    "VALUES (?, ?, ?, ?, ?)"
)


def resource_values(version: StoredVersion) -> tuple[object, ...]:
    return version.type, version.id, version.version, version.last_updated, version.deleted


def version_values(version: StoredVersion) -> tuple[object, ...]:
    return version.version, version.last_updated, version.method, version.content


def _of_params(codes: Sequence[str]) -> tuple[str, list[object]]:
    """A condition on index rows: of these parameters, or of their modifiers (`code:...`,
    see ember.search.index)."""
    tests, params = [], []
    for code in codes:
        tests.append("param = ? OR SUBSTR(param, 1, ?) = ?")
        params.extend([code, len(code) + 1, f"{code}:"])
    return "(" + " OR ".join(tests) + ")", params


class SQLSession(Writer):
    """Reader and Writer over one DB-API connection inside an open transaction.

    `placeholder` is "?" (SQLite) or "%s" (PostgreSQL); statements are written with
    "?" and translated once per statement text.
    """

    dialect = "sqlite"
    lock_suffix = ""  # " FOR UPDATE" where the dialect has row locks
    # how the words of a full-text column are written (see `fulltext_value`)
    fulltext_insert = "INSERT INTO fulltext_index (rowid, narrative, content) VALUES (?, ?, ?)"
    # driver options of the read by id, the most frequent statement
    point_read: ClassVar[dict[str, Any]] = {}

    def __init__(self, connection: Any, placeholder: str) -> None:
        self._connection = connection
        self._placeholder = placeholder
        self._translated: dict[str, str] = {}
        # Index rows not yet written, by the statement inserting them: a transaction
        # writing many resources sends one statement per table (see flush).
        self._pending: dict[str, list[tuple[Any, ...]]] = {}

    # -- plumbing --------------------------------------------------------------------

    def _sql(self, sql: str) -> str:
        if self._placeholder == "?":
            return sql
        translated = self._translated.get(sql)
        if translated is None:
            translated = self._translated[sql] = sql.replace("?", self._placeholder)
        return translated

    # Every statement but the version inserts of write_version first writes the pending
    # index rows, so reads inside a transaction see its own writes.

    def _fetchall(self, sql: str, params: Sequence[object] = ()) -> list[tuple]:
        self.flush()
        cursor = self._connection.execute(self._sql(sql), params)
        return cursor.fetchall()

    def _fetchone(self, sql: str, params: Sequence[object] = ()) -> tuple | None:
        self.flush()
        return self._one(sql, params)

    def _one(self, sql: str, params: Sequence[object]) -> tuple | None:
        cursor = self._connection.execute(self._sql(sql), params)
        return cursor.fetchone()

    def _execute(self, sql: str, params: Sequence[object] = ()) -> None:
        self.flush()
        self._connection.execute(self._sql(sql), params)

    def _executemany(self, sql: str, rows: Sequence[Sequence[object]]) -> None:
        if rows:
            self._connection.cursor().executemany(self._sql(sql), rows)

    def migrate(self, steps: list[list[str]]) -> None:
        """Bring the schema up to date; the caller holds the write transaction."""
        self._execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        row = self._fetchone("SELECT version FROM schema_version")
        current = row[0] if row else 0
        if current > len(steps):
            # a newer Ember's schema: running older code on it would write rows its
            # indexes and jobs do not expect, and lowering the number would break the
            # newer code's next start
            raise RuntimeError(
                f"the database has schema version {current}, newer than this Ember's "
                f"{len(steps)}: run the Ember version that wrote it, or a newer one"
            )
        for statements in steps[current:]:
            for statement in statements:
                self._execute(statement)
        if row is None:
            self._execute("INSERT INTO schema_version (version) VALUES (?)", (len(steps),))
        elif current != len(steps):
            self._execute("UPDATE schema_version SET version = ?", (len(steps),))

    # -- Reader ----------------------------------------------------------------------

    def query(self, sql: str, params: Sequence[object] = ()) -> list[tuple]:
        return self._fetchall(sql, params)

    def type_stamp(self, type_: str) -> tuple[int, int]:
        row = self._fetchone(
            "SELECT COUNT(*), MAX(last_updated) FROM resources WHERE type = ?", (type_,)
        )
        return (row[0], row[1] or 0) if row else (0, 0)

    def registry_generation(self) -> int:
        row = self._fetchone("SELECT COALESCE(MAX(generation), 0) FROM search_registry")
        return int(row[0]) if row else 0

    def current(self, type_: str, id_: str) -> StoredVersion | None:
        self.flush()
        cursor = self._connection.execute(self._sql(_CURRENT), (type_, id_), **self.point_read)
        row = cursor.fetchone()
        return _stored(row) if row else None

    def current_many(self, type_: str, ids: Sequence[str]) -> list[StoredVersion]:
        if not ids:
            return []
        marks = ", ".join("?" for _ in ids)
        rows = self._fetchall(
            f"SELECT {_VERSION_COLUMNS} FROM resources r "
            "JOIN resource_versions v ON v.res_pk = r.pk AND v.version = r.version "
            f"WHERE r.type = ? AND r.id IN ({marks})",
            [type_, *ids],
        )
        by_id = {row[1]: _stored(row) for row in rows}
        return [by_id[i] for i in ids if i in by_id]

    def version(self, type_: str, id_: str, version: int) -> StoredVersion | None:
        row = self._fetchone(
            f"SELECT {_VERSION_COLUMNS} FROM resources r "
            "JOIN resource_versions v ON v.res_pk = r.pk "
            "WHERE r.type = ? AND r.id = ? AND v.version = ?",
            (type_, id_, version),
        )
        return _stored(row) if row else None

    def _history_filter(self, query: HistoryQuery) -> tuple[str, list[object]]:
        clauses: list[str] = []
        params: list[object] = []
        if query.type is not None:
            clauses.append("r.type = ?")
            params.append(query.type)
        if query.id is not None:
            clauses.append("r.id = ?")
            params.append(query.id)
        if query.since is not None:
            clauses.append("v.last_updated >= ?")
            params.append(query.since)
        if query.at_end is not None:
            # current at some point in [at_start, at_end): created before the end and
            # not superseded by a later version at or before the start
            clauses.append("v.last_updated < ?")
            params.append(query.at_end)
            clauses.append(
                "NOT EXISTS (SELECT 1 FROM resource_versions n WHERE n.res_pk = v.res_pk "
                "AND n.version > v.version AND n.last_updated <= ?)"
            )
            params.append(query.at_start)
        where = " WHERE " + " AND ".join(clauses) if clauses else ""
        return where, params

    def history(self, query: HistoryQuery) -> list[StoredVersion]:
        where, params = self._history_filter(query)
        if query.before_seq is not None:
            where += (" AND " if where else " WHERE ") + "v.seq < ?"
            params.append(query.before_seq)
        rows = self._fetchall(
            f"SELECT {_VERSION_COLUMNS} FROM resource_versions v "
            f"JOIN resources r ON r.pk = v.res_pk{where} ORDER BY v.seq DESC LIMIT ?",
            [*params, query.count],
        )
        return [_stored(row) for row in rows]

    def count_history(self, query: HistoryQuery) -> int:
        where, params = self._history_filter(query)
        row = self._fetchone(
            f"SELECT COUNT(*) FROM resource_versions v JOIN resources r ON r.pk = v.res_pk{where}",
            params,
        )
        return int(row[0]) if row else 0

    # -- Writer ----------------------------------------------------------------------

    def lock(self, type_: str, id_: str) -> CurrentState | None:
        row = self._fetchone(
            "SELECT pk, version, deleted FROM resources WHERE type = ? AND id = ?"
            + self.lock_suffix,
            (type_, id_),
        )
        return CurrentState(pk=row[0], version=row[1], deleted=bool(row[2])) if row else None

    def lock_key(self, key: str) -> None:
        """Writers are serialised per database by default (SQLite); see PostgreSQL."""

    def write_version(
        self,
        state: CurrentState | None,
        version: StoredVersion,
        index: IndexRows | None = None,
    ) -> StoredVersion:
        if state is None:
            pk, seq = self._create(version)
        else:
            pk = state.pk
            self._execute(
                "UPDATE resources SET version = ?, last_updated = ?, deleted = ? WHERE pk = ?",
                (version.version, version.last_updated, version.content is None, pk),
            )
            self._delete_index(pk)
            row = self._one(_INSERT_VERSION + " RETURNING seq", (pk, *version_values(version)))
            seq = row[0] if row else 0
        if index is not None:
            self._write_index(pk, index, f"{version.type}/{version.id}")
        return StoredVersion(
            type=version.type,
            id=version.id,
            version=version.version,
            last_updated=version.last_updated,
            method=version.method,
            content=version.content,
            seq=seq,
        )

    def _create(self, version: StoredVersion) -> tuple[int, int]:
        """Insert a new resource with its first version: (pk, seq)."""
        row = self._one(_INSERT_RESOURCE + " RETURNING pk", resource_values(version))
        if row is None:
            raise StoreConflict(f"{version.type}/{version.id} was created concurrently")
        seq_row = self._one(_INSERT_VERSION + " RETURNING seq", (row[0], *version_values(version)))
        return row[0], seq_row[0] if seq_row else 0

    def execute(self, sql: str, params: Sequence[object] = ()) -> None:
        self._execute(sql, params)

    def share_registry(self) -> int:
        """Writers are serialised per database by default (SQLite); see PostgreSQL."""
        return self.registry_generation()

    def wait_for_writers(self) -> None:
        """Writers are serialised per database by default (SQLite); see PostgreSQL."""

    def bump_registry(self) -> None:
        # the row is missing only if someone emptied the table: then it is written anew
        if self._fetchone("SELECT generation FROM search_registry") is None:
            self._execute("INSERT INTO search_registry (generation) VALUES (1)")
        else:
            self._execute("UPDATE search_registry SET generation = generation + 1")

    def current_after(
        self, after_pk: int, limit: int, types: Sequence[str] | None = None
    ) -> list[tuple[int, int, bytes]]:
        of_types, params = "", [after_pk, False]
        if types is not None:
            of_types = f" AND r.type IN ({', '.join('?' for _ in types)})"
            params.extend(types)
        rows = self._fetchall(
            "SELECT r.pk, r.version, v.content FROM resources r "
            "JOIN resource_versions v ON v.res_pk = r.pk AND v.version = r.version "
            f"WHERE r.pk > ? AND r.deleted = ?{of_types} ORDER BY r.pk LIMIT ?",
            [*params, limit],
        )
        return [(row[0], row[1], bytes(row[2])) for row in rows]

    def delete_index_rows(self, types: Sequence[str] | None, code: str) -> None:
        of_params, params = _of_params([code])
        of_types = ""
        if types is not None:  # and the resources of these types contain
            kinds = [*types, *(contained_type(t) for t in types)]
            marks = ", ".join("?" for _ in kinds)
            of_types = f" AND res_pk IN (SELECT pk FROM resources WHERE type IN ({marks}))"
            params.extend(kinds)
        for table, _ in INDEX_TABLES.values():
            self._execute(f"DELETE FROM {table} WHERE {of_params}{of_types}", params)

    def replace_index(self, pk: int, index: IndexRows, params: Sequence[str] | None = None) -> None:
        name = ""
        if index.contained:
            row = self._fetchone("SELECT type, id FROM resources WHERE pk = ?", (pk,))
            assert row is not None  # the caller read it in this transaction
            name = f"{row[0]}/{row[1]}"
        if params is None:
            self._delete_index(pk)
            self._write_index(pk, index, name)
            return
        known = self._contained(pk)
        for target in [pk, *known.values()]:
            self._delete_params(target, params, index.fulltext is not None)
        self._write_rows(pk, in_container(index, name))
        for type_, local, rows in index.contained:
            found = known.get((contained_type(type_), local))
            if found is None:  # stored before contained resources were indexed
                self._write_contained(pk, name, type_, local, rows)
            else:
                self._write_rows(found, in_container(rows, name))

    def _delete_params(self, pk: int, params: Sequence[str], fulltext: bool) -> None:
        of_params, arguments = _of_params(params)
        for table, _ in INDEX_TABLES.values():
            self._execute(f"DELETE FROM {table} WHERE res_pk = ? AND {of_params}", [pk, *arguments])
        if fulltext:
            self._execute("DELETE FROM fulltext_index WHERE rowid = ?", (pk,))

    def _contained(self, pk: int) -> dict[tuple[str, str], int]:
        """The rows of the resources contained in resource `pk`: (type, local id) -> pk."""
        rows = self._fetchall("SELECT pk, type, id FROM resources WHERE container = ?", (pk,))
        return {(row[1], row[2].partition("#")[2]): row[0] for row in rows}

    def _delete_index(self, pk: int) -> None:
        """The index rows of a resource, and its contained resources with theirs."""
        contained = list(self._contained(pk).values())
        for target in [pk, *contained]:
            for table, _ in INDEX_TABLES.values():
                self._execute(f"DELETE FROM {table} WHERE res_pk = ?", (target,))
            self._execute("DELETE FROM fulltext_index WHERE rowid = ?", (target,))
        if contained:
            self._execute("DELETE FROM resources WHERE container = ?", (pk,))

    def fulltext_value(self, words: str) -> str:
        """What a full-text column stores: the words (joined by spaces), which FTS5 splits
        at the spaces."""
        return words

    def _write_index(self, pk: int, index: IndexRows, name: str) -> None:
        """The rows of resource `pk` named `Type/id` (whose contained resources have no
        rows yet)."""
        self._write_rows(pk, in_container(index, name))
        for type_, local, rows in index.contained:
            self._write_contained(pk, name, type_, local, rows)

    def _write_contained(self, pk: int, name: str, type_: str, local: str, rows: IndexRows) -> None:
        row = self._one(_INSERT_CONTAINED, (contained_type(type_), f"{name}#{local}", False, pk))
        assert row is not None  # the container's row was written before
        self._write_rows(row[0], in_container(rows, name))

    def _write_rows(self, pk: int, index: IndexRows) -> None:
        for field, insert in _INDEX_INSERTS.items():
            rows = getattr(index, field)
            if rows:
                self._pending.setdefault(insert, []).extend((pk, *row) for row in rows)
        if index.fulltext is not None:
            narrative, content = index.fulltext
            row = (pk, self.fulltext_value(narrative), self.fulltext_value(content))
            self._pending.setdefault(self.fulltext_insert, []).append(row)

    def flush(self) -> None:
        """Write the pending index rows: one statement per table (PostgreSQL sends each
        statement's rows in one pipeline). The stores call this before they commit."""
        if not self._pending:
            return
        pending, self._pending = self._pending, {}
        for insert, rows in pending.items():
            self._executemany(insert, rows)


def _mark(table: str, column: str) -> str:
    """The placeholder of an index column: text values cut as MAX_INDEXED_CHARS says."""
    if is_capped(table, column):
        return f"substr(?, 1, {MAX_INDEXED_CHARS})"
    return "?"


def _insert(table: str, columns: tuple[str, ...]) -> str:
    marks = ", ".join(["?", *(_mark(table, column) for column in columns)])
    return f"INSERT INTO {table} (res_pk, {', '.join(columns)}) VALUES ({marks})"


# The statement writing each kind of IndexRows
_INDEX_INSERTS = {field: _insert(*table) for field, table in INDEX_TABLES.items()}
