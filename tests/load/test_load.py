"""`ember load` on both backends: every kind of input, bad input, parallel workers."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from ember.config import Settings
from ember.engine.interactions import Engine
from ember.load import load_paths
from ember.store import HistoryQuery, open_store
from tests.store.test_store import planned_rows


def _patient(id_: str | None = None, family: str = "Smith") -> dict[str, Any]:
    patient: dict[str, Any] = {"resourceType": "Patient", "name": [{"family": family}]}
    if id_ is not None:
        patient["id"] = id_
    return patient


def _observation(subject: str) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
        "subject": {"reference": subject},
    }


def _transaction() -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": "urn:uuid:0b8f6e2c-6c3c-4c0e-9b1a-3d0b8a3c1f00",
                "resource": _patient(family="Transaction"),
                "request": {"method": "POST", "url": "Patient"},
            },
            {
                "resource": _observation("urn:uuid:0b8f6e2c-6c3c-4c0e-9b1a-3d0b8a3c1f00"),
                "request": {"method": "POST", "url": "Observation"},
            },
        ],
    }


def _write(path: Path, content: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(content) if path.name.endswith(".gz") else content)
    return path


def _ndjson(resources: list[dict[str, Any]]) -> bytes:
    return b"".join(orjson.dumps(r) + b"\n" for r in resources)


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    store = open_store(settings.database_url)
    yield Engine(store, settings)
    store.close()


def _count(engine: Engine, type_: str) -> int:
    return engine.count_history(HistoryQuery(type=type_))


def test_every_kind_of_input(tmp_path: Path, settings: Settings) -> None:
    batch = {
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [
            {"resource": _patient("b1"), "request": {"method": "PUT", "url": "Patient/b1"}},
        ],
    }
    collection = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": _patient("c1")}, {"resource": _patient()}],
    }
    _write(tmp_path / "in" / "transaction.json", orjson.dumps(_transaction()))
    _write(tmp_path / "in" / "sub" / "batch.json.gz", orjson.dumps(batch))
    _write(tmp_path / "in" / "collection.json", orjson.dumps(collection))
    _write(tmp_path / "in" / "notes.txt", b"not loaded: not a FHIR file")
    _write(tmp_path / "single.json", orjson.dumps(_patient("s1")))
    _write(tmp_path / "p.ndjson", _ndjson([_patient("n1"), _patient("n2")]) + b"\n")
    _write(tmp_path / "o.ndjson.gz", _ndjson([_observation("Patient/n1")]))

    summary = load_paths(
        [
            str(tmp_path / "in"),
            str(tmp_path / "single.json"),
            str(tmp_path / "p.ndjson"),
            str(tmp_path / "o.ndjson.gz"),
        ],
        settings,
    )

    assert summary.failures == []
    assert summary.files == 6
    assert summary.loaded == 2 + 1 + 2 + 1 + 2 + 1
    store = open_store(settings.database_url)
    try:
        engine = Engine(store, settings)
        for id_ in ("b1", "c1", "s1", "n1", "n2"):
            assert engine.read("Patient", id_).version == 1
        assert _count(engine, "Patient") == 7
        assert _count(engine, "Observation") == 2
    finally:
        store.close()


def test_ids_are_updates_so_a_second_load_makes_new_versions(
    tmp_path: Path, settings: Settings, engine: Engine
) -> None:
    path = _write(tmp_path / "p.ndjson", _ndjson([_patient("n1")]))
    load_paths([str(path)], settings)
    _write(path, _ndjson([_patient("n1", family="Jones")]))
    load_paths([str(path)], settings)
    stored = engine.read("Patient", "n1")
    assert stored.version == 2
    assert orjson.loads(stored.content)["name"] == [{"family": "Jones"}]


def test_bad_input_is_reported_and_the_rest_loaded(
    tmp_path: Path, settings: Settings, engine: Engine
) -> None:
    broken_transaction = _transaction()
    broken_transaction["entry"][1]["resource"]["status"] = 5
    batch = {
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [
            {"resource": _patient("ok"), "request": {"method": "PUT", "url": "Patient/ok"}},
            {
                "resource": {"resourceType": "Patient", "active": "yes"},
                "request": {"method": "POST", "url": "Patient"},
            },
        ],
    }
    lines = (
        _ndjson([_patient("l1")])
        + b"{not json\n"
        + _ndjson([{"resourceType": "Nonsense"}, _patient("l4")])
    )
    _write(tmp_path / "transaction.json", orjson.dumps(broken_transaction))
    _write(tmp_path / "batch.json", orjson.dumps(batch))
    _write(tmp_path / "truncated.json.gz", b'{"resourceType": "Bun')
    _write(tmp_path / "lines.ndjson", lines)

    summary = load_paths([str(tmp_path), str(tmp_path / "missing.json")], settings)

    where = {(Path(f.path).name, f.where.split(" ")[0]) for f in summary.failures}
    assert ("transaction.json", "Bundle.entry[1].resource.status") in where
    assert ("batch.json", "Bundle.entry[1].resource.active") in where
    assert ("truncated.json.gz", "") in where
    assert ("lines.ndjson", "line") in where
    assert ("missing.json", "") in where
    messages = [str(f) for f in summary.failures if f.path.endswith("lines.ndjson")]
    assert [m.split(": ")[1] for m in messages] == ["line 2", "line 3"], messages
    assert summary.failed_files == 5
    # the transaction stored nothing; everything else that was valid is there
    assert _count(engine, "Observation") == 0
    assert summary.loaded == 3
    for id_ in ("ok", "l1", "l4"):
        engine.read("Patient", id_)


def test_parallel_workers_load_the_same(tmp_path: Path, settings: Settings, engine: Engine) -> None:
    for n in range(6):
        _write(tmp_path / f"t{n}.json", orjson.dumps(_transaction()))
    _write(tmp_path / "many.ndjson", _ndjson([_patient(f"p{n}") for n in range(1200)]))

    summary = load_paths([str(tmp_path)], settings, workers=2)

    assert summary.failures == []
    assert summary.loaded == 6 * 2 + 1200
    assert _count(engine, "Patient") == 6 + 1200
    assert _count(engine, "Observation") == 6


def test_a_load_leaves_planner_statistics(tmp_path: Path, settings: Settings) -> None:
    patients = [_patient(f"q{n}") for n in range(4)]
    load_paths([str(_write(tmp_path / "p.ndjson", _ndjson(patients)))], settings)
    store = open_store(settings.database_url)
    try:
        assert planned_rows(store) == 4
    finally:
        store.close()
