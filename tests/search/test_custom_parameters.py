"""Custom SearchParameter resources on both backends: checked on write, in force for new
writes at once, existing resources rebuilt in the background (with a warning on
searches until then), out of force when retired or deleted, seen by every worker."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from starlette.testclient import TestClient

from ember.config import Settings
from ember.engine.errors import FhirError
from ember.engine.interactions import Engine
from ember.fhir.model import get_model
from ember.load import load_paths
from ember.search import custom, parameters, reindex
from ember.store import Store, StoredVersion, open_store

NICKNAME = {
    "resourceType": "SearchParameter",
    "id": "nickname",
    "url": "http://example.org/SearchParameter/nickname",
    "name": "nickname",
    "status": "active",
    "description": "A patient's nickname",
    "code": "nickname",
    "base": ["Patient"],
    "type": "string",
    "expression": "Patient.name.where(use = 'nickname').given",
}


@pytest.fixture(autouse=True)
def _shipped_parameters_only() -> Iterator[None]:
    yield
    parameters.install({})  # custom parameters are process-wide: none for the next test


def _patient(id_: str, nickname: str) -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "id": id_,
        "name": [{"family": "Doe"}, {"use": "nickname", "given": [nickname]}],
    }


def _search(client: TestClient, query: str) -> tuple[list[str], list[dict[str, Any]]]:
    """(ids of the matches, issues of the Bundle's OperationOutcome)."""
    response = client.get(f"/fhir/Patient?{query}")
    assert response.status_code == 200, response.text
    entries = response.json().get("entry", [])
    ids = sorted(e["resource"]["id"] for e in entries if e["search"]["mode"] == "match")
    issues = [
        i for e in entries if e["search"]["mode"] == "outcome" for i in e["resource"]["issue"]
    ]
    return ids, issues


def _rebuilt(client: TestClient) -> dict[str, Any]:
    """$reindex once every job finished (they run in the background)."""
    deadline = time.monotonic() + 30
    while True:
        report = client.get("/fhir/$reindex").json()
        statuses = [
            p["valueCode"]
            for job in report["parameter"]
            for p in job["part"]
            if p["name"] == "status"
        ]
        if all(s == "completed" for s in statuses) or time.monotonic() > deadline:
            return report
        time.sleep(0.05)


def test_a_new_parameter_indexes_new_writes_and_rebuilds_existing_ones(client: TestClient) -> None:
    client.put("/fhir/Patient/old", json=_patient("old", "Bobby"))
    assert client.put("/fhir/SearchParameter/nickname", json=NICKNAME).status_code == 201
    client.put("/fhir/Patient/new", json=_patient("new", "Bob"))
    report = _rebuilt(client)
    (job,) = report["parameter"]
    parts = {p["name"]: next(v for k, v in p.items() if k.startswith("value")) for p in job["part"]}
    assert parts["status"] == "completed" and parts["parameter"] == "nickname"
    # "new" was indexed by its own write; the walk may have come across it too
    assert parts["type"] == "Patient" and parts["done"] == parts["total"] in (1, 2)
    assert _search(client, "nickname=bob") == (["new", "old"], [])
    assert _search(client, "nickname:exact=Bob") == (["new"], [])
    # the rebuild replaced the rows of its parameter, the others are there still
    assert _search(client, "family=doe&_content=bobby") == (["old"], [])
    assert _search(client, "_sort=-nickname&nickname=bob")[0] == ["new", "old"]

    statement = client.get("/fhir/metadata").json()
    patient = next(r for r in statement["rest"][0]["resource"] if r["type"] == "Patient")
    (listed,) = [p for p in patient["searchParam"] if p["name"] == "nickname"]
    assert listed["definition"] == NICKNAME["url"] and listed["type"] == "string"
    assert {
        "name": "reindex",
        "definition": "http://ember.dev/fhir/OperationDefinition/reindex",
    } in (statement["rest"][0]["operation"])


def test_retiring_or_deleting_takes_the_parameter_out_of_force(client: TestClient) -> None:
    client.put("/fhir/Patient/p", json=_patient("p", "Bob"))
    client.put("/fhir/SearchParameter/nickname", json=NICKNAME)
    _rebuilt(client)
    assert _search(client, "nickname=bob")[0] == ["p"]
    client.put("/fhir/SearchParameter/nickname", json={**NICKNAME, "status": "retired"})
    ids, issues = _search(client, "nickname=bob")
    assert ids == ["p"]  # the unknown parameter is ignored, with a warning saying so
    assert issues[0]["code"] == "not-supported" and issues[0]["expression"] == ["nickname"]
    strict = client.get("/fhir/Patient?nickname=bob", headers={"Prefer": "handling=strict"})
    assert strict.status_code == 400

    client.put("/fhir/SearchParameter/nickname", json=NICKNAME)  # active again
    _rebuilt(client)
    assert _search(client, "nickname=bob") == (["p"], [])
    assert client.delete("/fhir/SearchParameter/nickname").status_code in (200, 204)
    assert _search(client, "nickname=bob")[1][0]["code"] == "not-supported"


def test_changing_the_expression_rebuilds_the_rows(client: TestClient) -> None:
    client.put("/fhir/Patient/p", json=_patient("p", "Bob"))
    client.put("/fhir/SearchParameter/nickname", json=NICKNAME)
    _rebuilt(client)
    changed = {**NICKNAME, "expression": "Patient.name.family"}
    client.put("/fhir/SearchParameter/nickname", json=changed)
    _rebuilt(client)
    assert _search(client, "nickname=bob")[0] == []
    assert _search(client, "nickname=doe")[0] == ["p"]


@pytest.mark.parametrize(
    ("change", "expression"),
    [
        ({"expression": "Patient.name.where("}, "SearchParameter.expression"),
        ({"expression": "(" * 3000 + "Patient.name" + ")" * 3000}, "SearchParameter.expression"),
        ({"expression": " | ".join(["Patient.name"] * 5000)}, "SearchParameter.expression"),
        # a regular expression's time cannot be bounded (catastrophic backtracking)
        (
            {"expression": "Patient.name.given.where(matches('(a+)+b'))"},
            "SearchParameter.expression",
        ),
        ({"base": ["Patient", "Nonsense"]}, "SearchParameter.base[1]"),
        ({"type": "composite"}, "SearchParameter.type"),
        ({"code": "name"}, "SearchParameter.code"),  # Patient's own name parameter
        ({"code": "_tag"}, "SearchParameter.code"),
        ({"code": "nick.name"}, "SearchParameter.code"),
        ({"target": ["Nonsense"], "type": "reference"}, "SearchParameter.target[0]"),
    ],
)
def test_parameters_that_cannot_apply_are_refused(
    client: TestClient, change: dict[str, Any], expression: str
) -> None:
    response = client.post("/fhir/SearchParameter", json={**NICKNAME, **change})
    # 400 where validation against the definitions (required bindings) finds it first
    assert response.status_code in (400, 422), response.text
    issue = response.json()["issue"][0]
    assert issue["severity"] == "error" and issue["expression"] == [expression]


def test_an_expression_building_huge_values_loses_its_value_not_the_write(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    """Ten times longer at each replace(): 10^12 characters unbounded. The evaluation
    stops at its budget (ember.search.index.CUSTOM_MAX_CHARS); the write succeeds with
    the parameter's value left out and a warning naming the parameter, not the data."""
    growing = "Patient.name.given" + ".replace('o', 'oooooooooo')" * 12
    sp = client.put("/fhir/SearchParameter/nickname", json={**NICKNAME, "expression": growing})
    assert sp.status_code == 201
    doubling = {
        **NICKNAME,
        "id": "twins",
        "url": "http://example.org/SearchParameter/twins",
        "code": "twins",
        "expression": "Patient.name.given" + ".select($this.combine($this))" * 40,
    }
    assert client.put("/fhir/SearchParameter/twins", json=doubling).status_code == 201
    _rebuilt(client)
    started = time.process_time()
    assert client.put("/fhir/Patient/p", json=_patient("p", "Bob")).status_code == 201
    assert time.process_time() - started < 10  # unbounded, it would not end
    assert _search(client, "nickname=b") == ([], [])
    assert _search(client, "twins=bob") == ([], [])
    assert _search(client, "family=doe") == (["p"], [])  # the other parameters are indexed
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert any(NICKNAME["url"] in w and "limit" in w for w in warnings)
    assert not any("Bob" in w for w in warnings)
    # an expression within the budget is evaluated as ever
    small = "Patient.name.given" + ".replace('o', 'oo')" * 3
    client.put("/fhir/SearchParameter/nickname", json={**NICKNAME, "expression": small})
    _rebuilt(client)
    assert _search(client, "nickname:exact=Boooooooob") == (["p"], [])


def test_unusable_parameters_stored_before_the_checks_are_left_out(
    engines: tuple[Engine, Engine, Store],
) -> None:
    first, _, store = engines
    broken = {key: value for key, value in NICKNAME.items() if key != "code"}
    with store.writing() as writer:
        writer.write_version(
            None,
            StoredVersion("SearchParameter", "broken", 1, 0, "PUT", orjson.dumps(broken)),
        )
        writer.bump_registry()
    first.update("SearchParameter", "nickname", NICKNAME)
    found = first.search_page("Patient", [("nickname", "bob")], True, 10)
    assert found.versions == []


def test_the_checks_stand_without_binding_validation() -> None:
    wrong = {**NICKNAME, "base": ["Nonsense"], "type": "special"}
    issues = custom.check(wrong, get_model(), {})
    assert [i.expression for i in issues] == ["SearchParameter.type", "SearchParameter.base[0]"]


def test_a_code_taken_by_another_custom_parameter_is_refused(client: TestClient) -> None:
    client.put("/fhir/SearchParameter/nickname", json=NICKNAME)
    other = {**NICKNAME, "id": "other", "url": "http://example.org/other"}
    response = client.put("/fhir/SearchParameter/other", json=other)
    assert response.status_code == 422
    assert "SearchParameter/nickname" in response.json()["issue"][0]["diagnostics"]
    # its own update is no clash, nor the same code on another type
    assert client.put("/fhir/SearchParameter/nickname", json=NICKNAME).status_code == 200
    elsewhere = {**other, "base": ["Practitioner"], "expression": "Practitioner.name.given"}
    assert client.put("/fhir/SearchParameter/other", json=elsewhere).status_code == 201


def test_the_specifications_own_definitions_can_be_stored(client: TestClient) -> None:
    shipped = parameters.shipped()["Patient"]["name"]
    copy = {
        "resourceType": "SearchParameter",
        "url": shipped.url,
        "name": "name",
        "status": "active",
        "description": shipped.description,
        "code": "name",
        "base": ["Patient"],
        "type": "string",
        "expression": shipped.expression,
    }
    assert client.post("/fhir/SearchParameter", json=copy).status_code == 201
    assert client.get("/fhir/$reindex").json() == {"resourceType": "Parameters"}


def test_a_transaction_puts_parameters_in_force(client: TestClient) -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"resource": NICKNAME, "request": {"method": "PUT", "url": "SearchParameter/nickname"}},
            {"resource": _patient("p", "Bob"), "request": {"method": "PUT", "url": "Patient/p"}},
        ],
    }
    assert client.post("/fhir", json=bundle).status_code == 200
    _rebuilt(client)
    assert _search(client, "nickname=bob") == (["p"], [])


def test_a_clash_inside_one_transaction_fails_it_and_nothing_comes_in_force(
    client: TestClient,
) -> None:
    other = {**NICKNAME, "id": "other", "url": "http://example.org/other"}
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"resource": sp, "request": {"method": "PUT", "url": f"SearchParameter/{sp['id']}"}}
            for sp in (NICKNAME, other)
        ],
    }
    response = client.post("/fhir", json=bundle)
    assert response.status_code == 422, response.text
    assert _search(client, "nickname=bob")[1][0]["code"] == "not-supported"
    assert client.get("/fhir/$reindex").json().get("parameter", []) == []


@pytest.fixture
def engines(settings: Settings) -> Iterator[tuple[Engine, Engine, Store]]:
    """Two engines over one database, as two worker processes have; jobs run by hand."""
    stores = [open_store(settings.database_url) for _ in range(2)]
    try:
        first, second = (Engine(s, settings, background_jobs=False) for s in stores)
        yield first, second, stores[0]
    finally:
        for store in stores:
            store.close()


def test_searches_warn_until_the_rebuild_is_done(engines: tuple[Engine, Engine, Store]) -> None:
    first, second, store = engines
    first.update("Patient", "old", _patient("old", "Bob"))
    first.update("SearchParameter", "nickname", NICKNAME)
    # the other worker sees the parameter at once: in conditions, and new writes are
    # indexed with it
    assert second.criteria("Patient", "nickname=bob").criteria[0].code == "nickname"
    second.update("Patient", "new", _patient("new", "Bob"))
    found = second.search_page("Patient", [("nickname", "bob")], True, 10)
    assert [v.id for v in found.versions] == ["new"]
    (warning,) = found.warnings
    assert warning.code == "incomplete" and "0 of 1" in warning.diagnostics
    assert second.search_page("Patient", [("family", "doe")], True, 10).warnings == []
    reindex.run(store)
    found = first.search_page("Patient", [("nickname", "bob")], True, 10)
    assert sorted(v.id for v in found.versions) == ["new", "old"] and found.warnings == []

    second.delete("SearchParameter", "nickname")
    with pytest.raises(FhirError) as unknown:
        first.search_page("Patient", [("nickname", "bob")], True, 10)
    assert unknown.value.status == 400
    with store.reading() as reader:
        rows = reader.query("SELECT COUNT(*) FROM string_index WHERE param = ?", ["nickname"])
    assert rows[0][0] == 0


def test_ember_load_puts_parameters_in_force_and_rebuilds(
    tmp_path: Path, settings: Settings
) -> None:
    existing = tmp_path / "patients.ndjson"
    existing.write_bytes(orjson.dumps(_patient("old", "Bob")) + b"\n")
    load_paths([str(existing)], settings)
    parameter = tmp_path / "parameter.json"
    parameter.write_bytes(orjson.dumps(NICKNAME))
    summary = load_paths([str(parameter)], settings)
    assert summary.failures == []
    store = open_store(settings.database_url)
    try:
        engine = Engine(store, settings, background_jobs=False)
        found = engine.search_page("Patient", [("nickname", "bob")], True, 10)
        assert [v.id for v in found.versions] == ["old"] and found.warnings == []
    finally:
        store.close()


def test_custom_reference_parameters_chain_and_include(client: TestClient) -> None:
    client.put(
        "/fhir/Organization/lab", json={"resourceType": "Organization", "id": "lab", "name": "Lab"}
    )
    client.put("/fhir/Patient/p", json=_patient("p", "Bob"))
    observation = {
        "resourceType": "Observation",
        "id": "o",
        "status": "final",
        "code": {"text": "x"},
        "subject": {"reference": "Patient/p"},
        "performer": [{"reference": "Organization/lab"}],
    }
    client.put("/fhir/Observation/o", json=observation)
    laboratory = {
        "resourceType": "SearchParameter",
        "id": "laboratory",
        "url": "http://example.org/SearchParameter/laboratory",
        "name": "laboratory",
        "status": "draft",
        "description": "The organization that performed it",
        "code": "laboratory",
        "base": ["Observation"],
        "type": "reference",
        "target": ["Organization"],
        "expression": "Observation.performer.where(resolve() is Organization)",
    }
    client.put("/fhir/SearchParameter/nickname", json=NICKNAME)
    assert client.put("/fhir/SearchParameter/laboratory", json=laboratory).status_code == 201
    _rebuilt(client)
    response = client.get(
        "/fhir/Observation?laboratory.name=lab&subject:Patient.nickname=bob"
        "&_include=Observation:laboratory"
    )
    entries = response.json()["entry"]
    assert [(e["resource"]["id"], e["search"]["mode"]) for e in entries] == [
        ("o", "match"),
        ("lab", "include"),
    ]
    ids, _ = _search(client, "_has:Observation:subject:laboratory=Organization/lab")
    assert ids == ["p"]


def test_a_parameter_deleted_during_its_rebuild_leaves_no_rows(
    engines: tuple[Engine, Engine, Store], monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second, store = engines
    first.update("Patient", "old", _patient("old", "Bob"))
    first.update("SearchParameter", "nickname", NICKNAME)
    compute = reindex.index_rows
    deleted: list[bool] = []

    def deleted_while_computing(*args: Any) -> Any:
        if not deleted:  # a change committed between the batch's read and its write
            second.delete("SearchParameter", "nickname")
            deleted.append(True)
        return compute(*args)

    monkeypatch.setattr(reindex, "index_rows", deleted_while_computing)
    reindex.run(store, first.search_parameters.sync)
    with store.reading() as reader:
        rows = reader.query("SELECT COUNT(*) FROM string_index WHERE param = ?", ["nickname"])
    assert deleted and rows[0][0] == 0
