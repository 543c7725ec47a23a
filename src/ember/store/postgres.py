"""PostgreSQL backend (psycopg 3 with a connection pool): the production database."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

from psycopg import errors
from psycopg_pool import ConnectionPool

from ember.store.base import Reader, Store, StoreConflict, StoredVersion
from ember.store.schema import migrations
from ember.store.sql import (
    SQLSession,
    resource_values,
    version_values,
)

# Any fixed 64-bit number: the key of the advisory lock that serialises migrations.
_MIGRATION_LOCK = 0x454D424552
# ... and of the one writers share while they write index rows (see share_registry).
_REGISTRY_LOCK = 0x454D424553


# A new resource and its first version in one statement: one round trip per create.
_CREATE = (
    "WITH created AS ("
    "INSERT INTO resources (type, id, version, last_updated, deleted) "
    "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (type, id) DO NOTHING RETURNING pk) "
    "INSERT INTO resource_versions (res_pk, version, last_updated, method, content) "
    "SELECT pk, %s, %s, %s, %s FROM created RETURNING res_pk, seq"
)


class PostgresSession(SQLSession):
    dialect = "postgresql"
    lock_suffix = " FOR UPDATE"
    # Binary results: the content arrives as its bytes, not as hex text for psycopg to
    # decode (callgrind: 118k instead of 151k client instructions per read by id).
    point_read: ClassVar[dict[str, Any]] = {"binary": True}
    fulltext_insert = (
        "INSERT INTO fulltext_index (rowid, narrative, content) "
        "VALUES (?, CAST(? AS tsvector), CAST(? AS tsvector))"
    )

    def share_registry(self) -> int:
        # One round trip: the lock and the generation. A rebuild takes the lock
        # exclusively only after the change committed, so a writer blocked by it reads
        # the new generation; one that got the lock first is waited for.
        row = self._fetchone(
            "SELECT COALESCE(MAX(generation), 0), pg_advisory_xact_lock_shared(?) "
            "FROM search_registry",
            (_REGISTRY_LOCK,),
        )
        return int(row[0]) if row else 0

    def wait_for_writers(self) -> None:
        self._execute("SELECT pg_advisory_xact_lock(?)", (_REGISTRY_LOCK,))

    def fulltext_value(self, words: str) -> str:
        """A tsvector literal of the words (joined by spaces) at their positions:
        PostgreSQL's own parser never sees the text, so it cannot cut it differently from
        SQLite. Each word is listed once with all its positions: a literal listing a word
        again at each place means the same but costs PostgreSQL more to read."""
        positions: dict[str, list[str]] = {}
        for position, word in enumerate(words.split(), start=1):
            positions.setdefault(word, []).append(str(position))
        return " ".join(f"'{word}':{','.join(at)}" for word, at in positions.items())

    def _create(self, version: StoredVersion) -> tuple[int, int]:
        values = (*resource_values(version), *version_values(version))
        row = self._connection.execute(_CREATE, values).fetchone()
        if row is None:
            raise StoreConflict(f"{version.type}/{version.id} was created concurrently")
        return row[0], row[1]

    def lock_key(self, key: str) -> None:
        # Held until the transaction ends; two conditional creates with the same
        # criteria cannot both find nothing and both create.
        self._execute("SELECT pg_advisory_xact_lock(hashtextextended(?, 0))", (key,))


class PostgresStore(Store):
    dialect = "postgresql"

    def __init__(self, url: str, min_size: int = 2, max_size: int = 16) -> None:
        self.url = url.replace("postgres://", "postgresql://", 1)
        # Autocommit connections: a read is one round trip; writes open their own
        # transaction explicitly.
        self._pool = ConnectionPool(
            self.url,
            min_size=min_size,
            max_size=max_size,
            open=True,
            timeout=30.0,
            kwargs={"autocommit": True},
        )
        try:
            self._migrate()
        except BaseException:
            self.close()  # no pool or lock file left open by a store that never opened
            raise

    def _migrate(self) -> None:
        with self.writing() as session:
            session.query("SELECT pg_advisory_xact_lock(?)", (_MIGRATION_LOCK,))
            session.migrate(migrations(self.dialect))

    @contextmanager
    def reading(self) -> Iterator[Reader]:
        # Each statement sees committed data as of its start (no multi-statement snapshot).
        with self._pool.connection() as connection:
            yield PostgresSession(connection, "%s")

    @contextmanager
    def writing(self) -> Iterator[PostgresSession]:
        # Pipeline mode: a statement is sent without waiting for the one before, so the
        # round trips are those whose answer the code needs (a lock, a read, a new
        # row's key); the rest (BEGIN, UPDATE and DELETEs, the index rows, COMMIT) ride
        # along. An error shows at the next answer awaited, still within the transaction.
        try:
            with (
                self._pool.connection() as connection,
                connection.pipeline(),
                connection.transaction(),
            ):
                session = PostgresSession(connection, "%s")
                yield session
                session.flush()
        except (errors.DeadlockDetected, errors.SerializationFailure) as exc:
            # PostgreSQL chose this transaction to undo so another could go on: nothing
            # was written, and running it again is what PostgreSQL advises
            raise StoreConflict(f"a concurrent write got in the way ({exc.sqlstate})") from exc

    def refresh_statistics(self) -> None:
        # VACUUM too (outside a transaction, as it must run): it marks the loaded pages
        # all-visible, so the covering indexes answer without visiting the table
        with self._pool.connection() as connection:
            connection.execute("VACUUM (ANALYZE)")

    def close(self) -> None:
        self._pool.close()
