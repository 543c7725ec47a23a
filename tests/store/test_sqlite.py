"""SQLite's writers: the gate they queue at (a flock of `<database>-write-lock`), the
busy timeout that still covers programs outside it, and the checkpoints run after it."""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from ember.store import StoredVersion, open_store
from ember.store import sqlite as sqlite_store
from ember.store.base import Store, StoreBusy


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = open_store(f"sqlite:///{tmp_path}/ember.db")
    yield opened
    opened.close()


def _write_in_thread(store: Store, id_: str) -> threading.Thread:
    def write() -> None:
        with store.writing() as writer:
            state = writer.lock("Patient", id_)
            writer.write_version(state, StoredVersion("Patient", id_, 1, 1, "PUT", b"{}"))

    thread = threading.Thread(target=write)
    thread.start()
    return thread


def _stored(store: Store, id_: str) -> bool:
    with store.reading() as reader:
        return reader.current("Patient", id_) is not None


def test_a_writer_waits_while_another_holds_the_gate(store: Store, tmp_path: Path) -> None:
    # Another open file of the lock (as another process has): the flock excludes it.
    holder = os.open(tmp_path / "ember.db-write-lock", os.O_RDWR)
    try:
        fcntl.flock(holder, fcntl.LOCK_EX)
        thread = _write_in_thread(store, "queued")
        thread.join(timeout=0.5)
        assert thread.is_alive() and not _stored(store, "queued")
        fcntl.flock(holder, fcntl.LOCK_UN)
        thread.join(timeout=30)
        assert not thread.is_alive() and _stored(store, "queued")
    finally:
        os.close(holder)


def test_a_program_writing_outside_the_gate_is_waited_for(store: Store, tmp_path: Path) -> None:
    other = sqlite3.connect(tmp_path / "ember.db", isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        thread = _write_in_thread(store, "after")
        thread.join(timeout=0.5)
        assert thread.is_alive()  # in SQLite's busy handler, not failed
        other.execute("COMMIT")
        thread.join(timeout=30)
        assert not thread.is_alive() and _stored(store, "after")
    finally:
        other.close()


def test_the_wal_is_checkpointed_as_writes_go(store: Store, tmp_path: Path) -> None:
    for n in range(300):
        with store.writing() as writer:
            writer.write_version(None, StoredVersion("Patient", f"c{n}", 1, 1, "PUT", b"{}"))
            for k in range(9):  # ten rows changed per write
                writer.execute(
                    "INSERT INTO uri_index (res_pk, param, value) "
                    "SELECT pk, 'url', ? FROM resources WHERE id = ?",
                    (f"http://example.org/{k}", f"c{n}"),
                )
    other = sqlite3.connect(tmp_path / "ember.db", isolation_level=None)
    try:
        # (busy, frames in the WAL, frames checkpointed): 3,000 rows changed, but the
        # WAL restarted after each checkpoint, so it holds only the latest writes
        busy, frames, _ = other.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    finally:
        other.close()
    assert busy == 0
    assert 0 < frames < 1500


def test_a_writer_waiting_too_long_fails_instead_of_hanging(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_store, "_WAIT_SECONDS", 0.2)
    holding, done = threading.Event(), threading.Event()

    def hold() -> None:
        with store.writing():
            holding.set()
            done.wait(timeout=30)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert holding.wait(timeout=30)
        with pytest.raises(StoreBusy, match="locked"), store.writing():
            pass
    finally:
        done.set()
        holder.join(timeout=30)


def test_a_program_holding_the_database_too_long_makes_a_write_fail_as_busy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_store, "_WAIT_SECONDS", 0.2)  # the busy timeout of new connections
    store = open_store(f"sqlite:///{tmp_path}/ember.db")
    other = sqlite3.connect(tmp_path / "ember.db", isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")  # another program, outside Ember's gate
        with pytest.raises(StoreBusy, match="another program"), store.writing():
            pass
    finally:
        other.rollback()
        other.close()
        store.close()
