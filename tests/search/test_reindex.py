"""Index rebuilds: resumable jobs in the database, warnings until they finish."""

from __future__ import annotations

import sqlite3
from collections.abc import Collection
from pathlib import Path
from typing import Any

import orjson
import pytest

from ember.fhir.issues import Issue
from ember.search import reindex
from ember.search.criteria import parse
from ember.search.index import index_rows
from ember.search.query import find_ids
from ember.store import Store, StoredVersion, open_store
from ember.store.base import IndexRows, Reader
from ember.store.schema import migrations


def _store_without_index(store: Store, count: int) -> None:
    for n in range(count):
        patient = {"resourceType": "Patient", "id": f"p{n}", "name": [{"family": f"Fam{n}"}]}
        version = StoredVersion("Patient", f"p{n}", 1, n, "PUT", orjson.dumps(patient))
        with store.writing() as writer:
            writer.write_version(None, version)  # as stored before the typed indexes


def _warnings(reader: Reader, query: str) -> list[Issue]:
    return reindex.warnings(reindex.pending(reader), parse("Patient", query, strict=True))


def _found(store: Store, query: str, type_: str = "Patient") -> list[str]:
    with store.reading() as reader:
        return find_ids(reader, parse(type_, query, strict=True), 100)


@pytest.fixture
def store(empty_store: Store) -> Store:
    return empty_store


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
    assert _found(store, "_content=fam3") == []  # only the job's parameter was rebuilt


OBSERVATION = {
    "resourceType": "Observation",
    "id": "obs",
    "status": "final",
    "code": {"coding": [{"code": "c"}]},
    "valueQuantity": {"value": 3},
}


def _old_store(path: Path, version: int, resources: list[dict[str, Any]]) -> str:
    """A SQLite store at schema `version` holding `resources` (without index rows)."""
    connection = sqlite3.connect(path)
    for step in migrations("sqlite")[:version]:
        for statement in step:
            connection.execute(statement)
    connection.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
    connection.execute("INSERT INTO schema_version VALUES (?)", (version,))
    for pk, resource in enumerate(resources, start=1):
        connection.execute(
            "INSERT INTO resources (type, id, version, last_updated, deleted) "
            "VALUES (?, ?, 1, 0, 0)",
            (resource["resourceType"], resource["id"]),
        )
        connection.execute(
            "INSERT INTO resource_versions (res_pk, version, last_updated, method, "
            "content) VALUES (?, 1, 0, 'PUT', ?)",
            (pk, orjson.dumps(resource)),
        )
    connection.commit()
    connection.close()
    return f"sqlite:///{path}"


def test_upgrading_a_store_with_data_starts_a_rebuild(tmp_path: Path) -> None:
    patient = {"resourceType": "Patient", "id": "old", "gender": "other"}
    store = open_store(_old_store(tmp_path / "old.db", 1, [patient, OBSERVATION]))
    try:
        with store.reading() as reader:
            (job,) = reindex.pending(reader)  # everything, full text and composites included
        assert job.params is None and job.total == 2
        reindex.run(store)
        assert _found(store, "gender=other") == ["old"]
        assert _found(store, "_content=other") == ["old"]
        assert _found(store, "code-value-quantity=c$3", "Observation") == ["obs"]
    finally:
        store.close()


def test_upgrading_to_composites_rebuilds_them(tmp_path: Path) -> None:
    store = open_store(_old_store(tmp_path / "v6.db", 6, [OBSERVATION]))
    try:
        with store.reading() as reader:
            (job,) = reindex.pending(reader)
        # the rebuild for contained resources (schema v10) does the composites' work
        assert job.params is None
        reindex.run(store)
        assert _found(store, "code-value-quantity=c$3", "Observation") == ["obs"]
    finally:
        store.close()


@pytest.mark.parametrize("stored", [["Patient"], ["Patient", "SearchParameter"]])
def test_upgrading_to_full_text_rebuilds_it(tmp_path: Path, stored: list[str]) -> None:
    """Full text is rebuilt (schema v5), composites too (v7): the rebuild of everything
    for contained resources (v10) does the work of both."""
    resources = [{"resourceType": type_, "id": "x"} for type_ in stored]
    store = open_store(_old_store(tmp_path / "v4.db", 4, resources))
    try:
        with store.reading() as reader:
            jobs = reindex.pending(reader)
        assert [(job.params, job.total) for job in jobs] == [(None, len(stored))]
    finally:
        store.close()


def test_a_resource_written_during_a_batch_keeps_the_rows_of_that_write(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    _store_without_index(store, 1)
    with store.writing() as writer:
        reindex.start(writer, ("family",))
    newer = {"resourceType": "Patient", "id": "p0", "name": [{"family": "Newer"}]}

    def written_meanwhile(
        resource: dict[str, Any], local_base: str | None, only: Collection[str] | None
    ) -> IndexRows:
        with store.writing() as writer:
            state = writer.lock("Patient", "p0")
            version = StoredVersion("Patient", "p0", 2, 1, "PUT", orjson.dumps(newer))
            writer.write_version(state, version, index_rows(newer))
        return index_rows(resource, local_base, only)  # of the version the batch read: stale

    monkeypatch.setattr(reindex, "index_rows", written_meanwhile)
    with store.reading() as reader:
        (job,) = reindex.pending(reader)
    assert reindex._step(store, job.pk)
    assert _found(store, "family=newer") == ["p0"]
    assert _found(store, "family=fam0") == []


def test_upgrading_to_contained_rows_rebuilds_everything(tmp_path: Path) -> None:
    """Schema v10 indexes contained resources apart: the rebuild writes their rows, and
    references to them (chains follow them)."""
    container = {
        **OBSERVATION,
        "subject": {"reference": "#p1"},
        "contained": [{"resourceType": "Patient", "id": "p1", "gender": "other"}],
    }
    store = open_store(_old_store(tmp_path / "v9.db", 9, [container]))
    try:
        with store.reading() as reader:
            (job,) = reindex.pending(reader)
        assert job.params is None and job.total == 1
        reindex.run(store)
        with store.reading() as reader:
            inside = parse("Patient", "gender=other", strict=True, contained="true")
            assert find_ids(reader, inside, 10) == ["obs"]  # the container
        assert _found(store, "subject:Patient.gender=other", "Observation") == ["obs"]
        assert _found(store, "gender=other") == []
    finally:
        store.close()


def test_rebuilding_some_parameters_keeps_contained_rows(store: Store) -> None:
    """A rebuild of one parameter rewrites it in contained resources too, and leaves
    their other rows as they were."""
    container = {
        **OBSERVATION,
        "subject": {"reference": "#p1"},
        "contained": [{"resourceType": "Patient", "id": "p1", "gender": "other"}],
    }
    with store.writing() as writer:
        version = StoredVersion("Observation", "obs", 1, 0, "PUT", orjson.dumps(container))
        writer.write_version(None, version, index_rows(container))
        writer.execute("DELETE FROM token_index WHERE param = ?", ["gender"])
        reindex.start(writer, ["gender"], ["Observation"])
    reindex.run(store)
    with store.reading() as reader:
        inside = parse("Patient", "gender=other", strict=True, contained="true")
        assert find_ids(reader, inside, 10) == ["obs"]
    assert _found(store, "subject:Patient.gender=other", "Observation") == ["obs"]
