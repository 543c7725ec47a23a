"""Absolute references over HTTP on both backends, with the server's base URL set:
those under it are local, those to another server name no resource here."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from ember.config import Settings
from tests.search.conftest import match_ids, put

BASE = "http://testserver/fhir"


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, base_url=BASE)


def _observation(id_: str, subject: str) -> dict[str, object]:
    return {
        "resourceType": "Observation",
        "id": id_,
        "status": "final",
        "code": {"text": "x"},
        "subject": {"reference": subject},
    }


def test_absolute_references_here_and_elsewhere(client: TestClient) -> None:
    put(client, {"resourceType": "Patient", "id": "p1", "name": [{"family": "Here"}]})
    put(client, _observation("relative", "Patient/p1"))
    put(client, _observation("local", f"{BASE}/Patient/p1"))
    put(client, _observation("remote", "http://other.org/fhir/Patient/p1"))

    def found(query: str) -> list[str]:
        return sorted(match_ids(client.get(f"/fhir/Observation?{query}").json()))

    assert found("subject=Patient/p1") == ["local", "relative"]
    assert found("subject=p1") == ["local", "relative"]
    assert found(f"subject={BASE}/Patient/p1") == ["local", "relative"]
    assert found("subject=http://other.org/fhir/Patient/p1") == ["remote"]
    assert found("subject:Patient.family=here") == ["local", "relative"]
    compartment = client.get("/fhir/Patient/p1/Observation").json()
    assert sorted(match_ids(compartment)) == ["local", "relative"]
    included = client.get("/fhir/Observation?_id=remote&_include=Observation:subject").json()
    assert [e["resource"]["id"] for e in included["entry"]] == ["remote"]
