"""SQLite backend: the embedded default (WAL mode, one writer at a time)."""

from __future__ import annotations

import contextlib
import fcntl
import os
import queue
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ember.store.base import Reader, Store, StoreBusy
from ember.store.schema import migrations
from ember.store.sql import SQLSession


def _path_of(url: str) -> str:
    # sqlite:///relative.db, sqlite:////absolute.db, sqlite:///:memory: is not supported
    # because every pooled connection would see its own database.
    path = url.removeprefix("sqlite:").removeprefix("//")
    if path.startswith("/") and not url.startswith("sqlite:////"):
        path = path[1:]
    if not path or path == ":memory:":
        raise ValueError("SQLite needs a file path: sqlite:///path/to/ember.db")
    return path


class _Borrowed:
    """A pooled connection for the length of a `with` block (a new one when none is
    idle). A class, not a generator: cheaper to enter, which a point read notices."""

    __slots__ = ("connection", "store")

    def __init__(self, store: SQLiteStore) -> None:
        self.store = store

    def __enter__(self) -> sqlite3.Connection:
        try:
            self.connection = self.store._idle.get_nowait()
        except queue.Empty:
            self.connection = self.store._connect()
        return self.connection

    def __exit__(self, *exc: object) -> None:
        connection = self.connection
        if connection.in_transaction:
            connection.rollback()
        self.store._idle.put(connection)


class _Autocommit(_Borrowed):
    """A session on a pooled connection in autocommit: each statement is its own read
    transaction (no BEGIN, no rollback)."""

    __slots__ = ()

    def __enter__(self) -> SQLSession:  # type: ignore[override]
        return SQLSession(super().__enter__(), "?")


# Rows a process's writes change between two checkpoints: a write makes 1.2 to 2 WAL
# pages per row it changes (measured: a Patient update changes ~25 rows in ~30 pages),
# so this is about SQLite's own default of a checkpoint per 1,000 pages.
_CHECKPOINT_CHANGES = 800
# How long a writer waits for the database (SQLite's busy timeout) or, in one process,
# for the writers before it: past that it fails as SQLite would, never hangs.
_WAIT_SECONDS = 30.0


class _WriteGate:
    """Where writers queue for the database, before BEGIN IMMEDIATE: the threads of a
    process on a lock, one of them per process on an exclusive flock of a file next to
    the database. Both waits block in the kernel and end as soon as the writer before
    ends; SQLite's busy handler would instead sleep-poll, up to 100 ms a time, and let a
    newcomer overtake a writer that had waited long. Processes that do not take the gate
    (another program writing the database) still meet SQLite's busy timeout.

    The thread lock first: only one thread per process waits on the file, so when one
    process lets go of the file, the other process's waiter (already in the kernel) gets
    it, and processes with writers waiting take turns. An open store is not carried into
    a forked child (neither are its SQLite connections): the child shares the file's
    lock and must open its own store."""

    def __init__(self, database: str) -> None:
        self._thread_lock = threading.Lock()
        self._file = os.open(f"{database}-write-lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)

    @contextmanager
    def held(self) -> Iterator[None]:
        if not self._thread_lock.acquire(timeout=_WAIT_SECONDS):
            raise StoreBusy("the database stayed locked by other writers of this server")
        try:
            fcntl.flock(self._file, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(self._file, fcntl.LOCK_UN)
        finally:
            self._thread_lock.release()

    def close(self) -> None:
        # once only: a closed number may already name another file of the process
        if self._file >= 0:
            os.close(self._file)
            self._file = -1


class SQLiteStore(Store):
    dialect = "sqlite"
    # A point read takes ~20 µs; the thread-pool hop costs ~300 µs (measured in-process:
    # 420 µs per HTTP read through the pool, 103 µs inline).
    inline_point_reads = True

    def __init__(self, url: str) -> None:
        self.path = _path_of(url)
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._idle: queue.SimpleQueue[sqlite3.Connection] = queue.SimpleQueue()
        self._gate = _WriteGate(self.path)
        self._changes = 0  # rows changed since this process's last checkpoint
        self._changes_lock = threading.Lock()
        try:
            self._migrate()
        except BaseException:
            self.close()  # no pool or lock file left open by a store that never opened
            raise

    def _connect(self) -> sqlite3.Connection:
        connection = sqlite3.connect(
            self.path, isolation_level=None, check_same_thread=False, timeout=_WAIT_SECONDS
        )
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        connection.execute("PRAGMA foreign_keys=ON")
        connection.execute("PRAGMA cache_size=-65536")
        # checkpoints are run after a write lets go of the gate (see _checkpoint)
        connection.execute("PRAGMA wal_autocheckpoint=0")
        return connection

    def _connection(self) -> _Borrowed:
        return _Borrowed(self)

    def _migrate(self) -> None:
        with self.writing() as session:
            session.migrate(migrations(self.dialect))

    @contextmanager
    def reading(self) -> Iterator[Reader]:
        with self._connection() as connection:
            # One read transaction, so multi-statement reads see one snapshot.
            connection.execute("BEGIN")
            try:
                yield SQLSession(connection, "?")
            finally:
                connection.rollback()

    def reading_one(self) -> _Autocommit:
        return _Autocommit(self)

    @contextmanager
    def writing(self) -> Iterator[SQLSession]:
        with self._connection() as connection:
            changes = connection.total_changes
            with self._gate.held():
                # IMMEDIATE takes the write lock up front: a writer outside the gate
                # makes this wait (busy timeout) instead of failing half-way (SQLITE_BUSY).
                try:
                    connection.execute("BEGIN IMMEDIATE")
                except sqlite3.OperationalError as exc:
                    if exc.sqlite_errorcode in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
                        raise StoreBusy("the database stayed locked by another program") from exc
                    raise
                session = SQLSession(connection, "?")
                try:
                    yield session
                    session.flush()
                except BaseException:
                    connection.rollback()
                    raise
                connection.commit()
            self._checkpoint(connection, connection.total_changes - changes)

    def _checkpoint(self, connection: sqlite3.Connection, changes: int) -> None:
        """Copy the WAL into the database once enough was written. SQLite's automatic
        checkpoint runs within COMMIT, so within the gate, where its two fsyncs (~15 ms
        here) would hold up every writer; run here, they hold up this one only. PASSIVE:
        it waits for no one, and writers may append to the WAL meanwhile."""
        with self._changes_lock:
            self._changes += changes
            due = self._changes >= _CHECKPOINT_CHANGES
            if due:
                self._changes = 0
        if due:
            connection.execute("PRAGMA wal_checkpoint(PASSIVE)")

    def close(self) -> None:
        while True:
            try:
                connection = self._idle.get_nowait()
            except queue.Empty:
                break
            # SQLite's advice: refresh the planner's statistics where they have gone stale;
            # not worth waiting for another writer (load workers close together)
            with contextlib.suppress(sqlite3.OperationalError):
                connection.execute("PRAGMA busy_timeout = 0")
                connection.execute("PRAGMA optimize")
            connection.close()
        self._gate.close()
