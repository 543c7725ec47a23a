"""Concurrent writers, in threads and in processes: no lost updates, one resource per
conditional create."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from ember.config import Settings
from ember.engine.errors import FhirError
from ember.engine.interactions import Engine
from ember.engine.versioning import etag
from ember.fhir.formats import json as fhir_json
from ember.store import open_store

WRITERS = 8


@pytest.fixture
def engine(settings: Settings):  # type: ignore[no-untyped-def]
    store = open_store(settings.database_url)
    yield Engine(store, settings)
    store.close()


def test_if_match_lets_exactly_one_writer_win(engine: Engine) -> None:
    engine.update("Patient", "race", {"resourceType": "Patient", "id": "race"})

    def attempt(n: int) -> int:
        body = {"resourceType": "Patient", "id": "race", "birthDate": f"19{n:02d}"}
        try:
            engine.update("Patient", "race", body, if_match='W/"1"')
            return 1
        except FhirError as error:
            assert error.status == 412
            return 0

    with ThreadPoolExecutor(WRITERS) as pool:
        wins = sum(pool.map(attempt, range(WRITERS)))
    assert wins == 1
    assert engine.read("Patient", "race").version == 2


def test_unconditional_updates_all_land_as_versions(engine: Engine) -> None:
    engine.update("Patient", "many", {"resourceType": "Patient", "id": "many"})

    def write(n: int) -> None:
        engine.update(
            "Patient", "many", {"resourceType": "Patient", "id": "many", "birthDate": f"19{n:02d}"}
        )

    with ThreadPoolExecutor(WRITERS) as pool:
        list(pool.map(write, range(WRITERS)))
    assert engine.read("Patient", "many").version == WRITERS + 1


def test_concurrent_conditional_creates_make_one_resource(engine: Engine) -> None:
    body = {
        "resourceType": "Patient",
        "identifier": [{"system": "http://example.org/mrn", "value": "once"}],
    }

    def create(_: int) -> str:
        return engine.create(
            "Patient", body, if_none_exist="identifier=http://example.org/mrn|once"
        ).stored.id

    with ThreadPoolExecutor(WRITERS) as pool:
        ids = set(pool.map(create, range(WRITERS)))
    assert len(ids) == 1


def test_concurrent_update_as_create_of_one_id(engine: Engine) -> None:
    def put(n: int) -> bool:
        return engine.update("Patient", "fresh", {"resourceType": "Patient", "id": "fresh"}).created

    with ThreadPoolExecutor(WRITERS) as pool:
        created = list(pool.map(put, range(WRITERS)))
    assert created.count(True) == 1
    assert engine.read("Patient", "fresh").version == WRITERS


def test_concurrent_transactions_honour_if_match(engine: Engine) -> None:
    from ember.engine.batch import process_bundle

    engine.update("Patient", "tx", {"resourceType": "Patient", "id": "tx"})

    def transaction(n: int) -> int:
        bundle = {
            "resourceType": "Bundle",
            "type": "transaction",
            "entry": [
                {
                    "request": {"method": "PUT", "url": "Patient/tx", "ifMatch": 'W/"1"'},
                    "resource": {"resourceType": "Patient", "id": "tx", "birthDate": f"19{n:02d}"},
                },
                {
                    "request": {"method": "POST", "url": "Basic"},
                    "resource": {"resourceType": "Basic", "code": {"text": str(n)}},
                },
            ],
        }
        try:
            process_bundle(engine, bundle, "http://example.org/fhir", "minimal")
            return 1
        except FhirError as error:
            assert error.status == 412
            return 0

    with ThreadPoolExecutor(WRITERS) as pool:
        wins = sum(pool.map(transaction, range(WRITERS)))
    assert wins == 1
    assert engine.read("Patient", "tx").version == 2
    basics, _ = engine.search("Basic", [], False, 100)
    assert len(basics) == 1  # the losers' creates were rolled back


ROUNDS = 25  # increments per process


def _increment(url: str, rounds: int, start: Any, results: Any) -> None:
    """One process: `rounds` increments of a counter held in Patient/shared, each a read
    then an update with If-Match of the version read; a 412 (the other process wrote in
    between) means reading again and retrying."""
    store = open_store(url)
    try:
        engine = Engine(store, Settings(database_url=url))
        start.wait()
        conflicts = 0
        for _ in range(rounds):
            while True:
                current = engine.read("Patient", "shared")
                assert current.content is not None
                body = fhir_json.parse(current.content)
                body["multipleBirthInteger"] += 1
                try:
                    engine.update("Patient", "shared", body, if_match=etag(current.version))
                    break
                except FhirError as error:
                    assert error.status == 412
                    conflicts += 1
        results.put(conflicts)
    finally:
        store.close()


def test_two_processes_incrementing_one_resource_lose_no_update(settings: Settings) -> None:
    url = settings.database_url
    store = open_store(url)
    try:
        engine = Engine(store, settings)
        body = {"resourceType": "Patient", "id": "shared", "multipleBirthInteger": 0}
        engine.update("Patient", "shared", body)
        # fork: the children start with ember imported; each opens its own store
        context = multiprocessing.get_context("fork")
        start, results = context.Barrier(2), context.Queue()
        processes = [
            context.Process(target=_increment, args=(url, ROUNDS, start, results)) for _ in range(2)
        ]
        for process in processes:
            process.start()
        for process in processes:
            process.join(timeout=120)
            assert process.exitcode == 0
        assert results.qsize() == 2  # both ended normally: every write succeeded or got 412
        current = engine.read("Patient", "shared")
        assert current.content is not None
        assert fhir_json.parse(current.content)["multipleBirthInteger"] == 2 * ROUNDS
        assert current.version == 1 + 2 * ROUNDS
    finally:
        store.close()
