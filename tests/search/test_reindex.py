"""Index rebuilds: resumable jobs in the database, warnings until they finish."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from ember.fhir.issues import Issue
from ember.search import reindex
from ember.search.criteria import parse
from ember.search.query import find_ids
from ember.store import Store, StoredVersion, open_store
from ember.store.base import Reader
from ember.store.schema import migrations


def _store_without_index(store: Store, count: int) -> None:
    for n in range(count):
        patient = {"resourceType": "Patient", "id": f"p{n}", "name": [{"family": f"Fam{n}"}]}
        version = StoredVersion("Patient", f"p{n}", 1, n, "PUT", orjson.dumps(patient))
        with store.writing() as writer:
            writer.write_version(None, version)  # as stored before the typed indexes


def _warnings(reader: Reader, query: str) -> list[Issue]:
    return reindex.warnings(reindex.pending(reader), parse("Patient", query, strict=True))


def _found(store: Store, query: str) -> list[str]:
    with store.reading() as reader:
        return find_ids(reader, parse("Patient", query, strict=True), 100)


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    opened = open_store(database_url)
    try:
        yield opened
    finally:
        with opened.writing() as writer:  # jobs outlive the per-test cleanup on PostgreSQL
            writer.execute("DELETE FROM search_jobs")
        opened.close()


def test_a_job_rebuilds_in_batches_and_resumes(
    store: Store, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _store_without_index(store, 5)
    assert _found(store, "family=fam3") == []
    with store.writing() as writer:
        reindex.start(writer, ("family",))
    with store.reading() as reader:
        assert _warnings(reader, "given=x") == []
        (warning,) = _warnings(reader, "family=x")
    assert warning.code == "incomplete" and "0 of 5" in (warning.diagnostics or "")
    monkeypatch.setattr(reindex, "BATCH", 2)
    with store.reading() as reader:
        (job,) = reindex.pending(reader)
    reindex._step(store, job.pk)  # then the server stops
    again = open_store(database_url)
    try:
        with again.reading() as reader:
            (resumed,) = reindex.pending(reader)
        assert (resumed.done, resumed.total) == (2, 5)
        reindex.run(again)
        with again.reading() as reader:
            assert reindex.pending(reader) == []
            assert _warnings(reader, "family=x") == []
    finally:
        again.close()
    assert _found(store, "family=fam3") == ["p3"]
    assert _found(store, "family=fam") == ["p0", "p1", "p2", "p3", "p4"]


def test_upgrading_a_store_with_data_starts_a_rebuild(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    connection = sqlite3.connect(path)
    for statement in migrations("sqlite")[0]:
        connection.execute(statement)
    connection.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
    connection.execute("INSERT INTO schema_version VALUES (1)")
    connection.execute(
        "INSERT INTO resources (type, id, version, last_updated, deleted) "
        "VALUES ('Patient', 'old', 1, 0, 0)"
    )
    content = orjson.dumps({"resourceType": "Patient", "id": "old", "gender": "other"})
    connection.execute(
        "INSERT INTO resource_versions (res_pk, version, last_updated, method, "
        "content) VALUES (1, 1, 0, 'PUT', ?)",
        (content,),
    )
    connection.commit()
    connection.close()
    store = open_store(f"sqlite:///{path}")
    try:
        with store.reading() as reader:
            (job,) = reindex.pending(reader)  # everything, full text included
        assert job.params is None and job.total == 1
        reindex.run(store)
        assert _found(store, "gender=other") == ["old"]
    finally:
        store.close()
