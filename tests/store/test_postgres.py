"""PostgreSQL's writers: a transaction PostgreSQL undoes to break a deadlock is a
conflict the engine may retry, never an unexpected error."""

from __future__ import annotations

import threading

import pytest

from ember.store import StoreConflict, StoredVersion, open_store


def test_the_writer_chosen_to_break_a_deadlock_gets_a_conflict(postgres_database: str) -> None:
    store = open_store(postgres_database)
    try:
        with store.writing() as writer:
            for id_ in ("deadlock-a", "deadlock-b"):
                state = writer.lock("Patient", id_)
                writer.write_version(state, StoredVersion("Patient", id_, 1, 1, "PUT", b"{}"))
        both_locked_one = threading.Barrier(2, timeout=30)
        outcomes: list[str] = []

        def lock_in_order(first: str, second: str) -> None:
            try:
                with store.writing() as writer:
                    writer.lock("Patient", first)
                    both_locked_one.wait()
                    writer.lock("Patient", second)  # each waits for the other: a deadlock
                outcomes.append("committed")
            except StoreConflict:
                outcomes.append("conflict")

        threads = [
            threading.Thread(target=lock_in_order, args=("deadlock-a", "deadlock-b")),
            threading.Thread(target=lock_in_order, args=("deadlock-b", "deadlock-a")),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert sorted(outcomes) == ["committed", "conflict"]
    finally:
        store.close()


@pytest.fixture(autouse=True)
def _fresh(postgres_database: str) -> None:
    from tests.conftest import _empty_postgres

    _empty_postgres(postgres_database)
