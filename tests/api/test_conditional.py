"""Conditional create, update and delete (http.html), through the search engine."""

from __future__ import annotations

from starlette.testclient import TestClient

from ember.api.app import create_app
from ember.config import Settings

SYSTEM = "http://hospital.example/mrn"


def patient(mrn: str, **extra: object) -> dict:
    return {"resourceType": "Patient", "identifier": [{"system": SYSTEM, "value": mrn}], **extra}


def test_conditional_create(client: TestClient) -> None:
    header = {"If-None-Exist": f"identifier={SYSTEM}|123"}
    first = client.post("/fhir/Patient", json=patient("123"), headers=header)
    assert first.status_code == 201
    second = client.post("/fhir/Patient", json=patient("123"), headers=header)
    assert second.status_code == 200
    assert second.json()["id"] == first.json()["id"]
    client.post("/fhir/Patient", json=patient("123"))  # a duplicate, created unconditionally
    ambiguous = client.post("/fhir/Patient", json=patient("123"), headers=header)
    assert ambiguous.status_code == 412
    by_id = client.post(
        "/fhir/Patient", json=patient("9"), headers={"If-None-Exist": f"_id={first.json()['id']}"}
    )
    assert by_id.status_code == 200


def test_conditional_create_rejects_unknown_criteria(client: TestClient) -> None:
    response = client.post(
        "/fhir/Patient", json=patient("1"), headers={"If-None-Exist": "nonsense=1"}
    )
    assert response.status_code == 400
    assert response.json()["issue"][0]["expression"] == ["nonsense"]


def test_token_forms(client: TestClient) -> None:
    created = client.post("/fhir/Patient", json=patient("555")).json()
    for criteria in (
        f"identifier={SYSTEM}|555",
        "identifier=555",
        f"identifier={SYSTEM}|",
        f"identifier=x,{SYSTEM}|555",
    ):
        found = client.get(f"/fhir/Patient?{criteria}").json()
        assert [e["resource"]["id"] for e in found["entry"]] == [created["id"]], criteria
    for criteria in ("identifier=|555", f"identifier={SYSTEM}|556", "identifier=other|555"):
        assert "entry" not in client.get(f"/fhir/Patient?{criteria}").json(), criteria


def test_conditional_update(client: TestClient) -> None:
    created = client.put(f"/fhir/Patient?identifier={SYSTEM}|7", json=patient("7"))
    assert created.status_code == 201
    id_ = created.json()["id"]
    updated = client.put(f"/fhir/Patient?identifier={SYSTEM}|7", json=patient("7", active=True))
    assert updated.status_code == 200
    assert updated.json()["id"] == id_
    assert updated.json()["meta"]["versionId"] == "2"
    wrong_id = client.put(
        f"/fhir/Patient?identifier={SYSTEM}|7", json=patient("7", id="someone-else")
    )
    assert wrong_id.status_code == 400
    client.post("/fhir/Patient", json=patient("7"))
    assert client.put(f"/fhir/Patient?identifier={SYSTEM}|7", json=patient("7")).status_code == 412
    with_id = client.put(f"/fhir/Patient?identifier={SYSTEM}|8", json=patient("8", id="chosen"))
    assert with_id.status_code == 201
    assert with_id.json()["id"] == "chosen"


def test_conditional_delete(client: TestClient) -> None:
    for _ in range(3):
        client.post("/fhir/Patient", json=patient("d"))
    keep = client.post("/fhir/Patient", json=patient("keep")).json()
    assert client.delete(f"/fhir/Patient?identifier={SYSTEM}|none").status_code == 204
    assert client.delete(f"/fhir/Patient?identifier={SYSTEM}|d").status_code == 204
    assert "entry" not in client.get(f"/fhir/Patient?identifier={SYSTEM}|d").json()
    assert client.get(f"/fhir/Patient/{keep['id']}").status_code == 200
    assert client.delete("/fhir/Patient").status_code == 400


def test_conditional_delete_limit(database_url: str) -> None:
    settings = Settings(database_url=database_url, conditional_delete_max=2)
    with TestClient(create_app(settings)) as client:
        for _ in range(3):
            client.post("/fhir/Patient", json=patient("many"))
        response = client.delete(f"/fhir/Patient?identifier={SYSTEM}|many")
        assert response.status_code == 412
        assert len(client.get(f"/fhir/Patient?identifier={SYSTEM}|many").json()["entry"]) == 3


def test_search_warns_about_unknown_parameters(client: TestClient) -> None:
    client.post("/fhir/Patient", json=patient("1"))
    lenient = client.get("/fhir/Patient?foo=bar")
    assert lenient.status_code == 200
    entries = lenient.json()["entry"]
    assert entries[-1]["search"]["mode"] == "outcome"
    assert "foo" in entries[-1]["resource"]["issue"][0]["diagnostics"]
    assert "foo" not in lenient.json()["link"][0]["url"]
    strict = client.get("/fhir/Patient?foo=bar", headers={"Prefer": "handling=strict"})
    assert strict.status_code == 400


def test_empty_criteria_are_no_criteria(client: TestClient) -> None:
    """Empty search parameters are ignored (search.html#errors), so a conditional
    interaction with only empty ones has no criterion: refused, nothing deleted."""
    assert client.post("/fhir/Patient", json=patient("1")).status_code == 201
    deleted = client.delete("/fhir/Patient?identifier=")
    assert deleted.status_code == 400
    created = client.post(
        "/fhir/Patient", json=patient("2"), headers={"If-None-Exist": "identifier="}
    )
    assert created.status_code == 400
    assert client.get("/fhir/Patient?_summary=count").json()["total"] == 1
