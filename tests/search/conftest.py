"""Fixtures of the search tests: an empty store, and data for tests over HTTP (patients,
their observations, a practitioner and an organisation, stored through the API)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from ember.store import Store, open_store


@pytest.fixture
def empty_store(database_url: str) -> Iterator[Store]:
    """An open store on each backend, without rebuild jobs left over afterwards."""
    opened = open_store(database_url)
    try:
        yield opened
    finally:
        with opened.writing() as writer:  # jobs outlive the per-test cleanup on PostgreSQL
            writer.execute("DELETE FROM search_jobs")
        opened.close()


def put(client: TestClient, resource: dict[str, Any]) -> None:
    path = f"/fhir/{resource['resourceType']}/{resource['id']}"
    assert client.put(path, json=resource).status_code in (200, 201)


@pytest.fixture
def people(client: TestClient) -> TestClient:
    put(client, {"resourceType": "Organization", "id": "org", "name": "Acme Hospital"})
    put(
        client,
        {
            "resourceType": "Practitioner",
            "id": "doc",
            "name": [{"family": "House"}],
        },
    )
    for n, family in enumerate(["Adams", "Baker", "Clark", "Davis", "Evans"]):
        patient: dict[str, Any] = {
            "resourceType": "Patient",
            "id": f"p{n}",
            "name": [{"family": family}],
            "birthDate": f"19{70 + n}-01-01",
            "managingOrganization": {"reference": "Organization/org"},
        }
        if n % 2 == 0:
            patient["generalPractitioner"] = [{"reference": "Practitioner/doc"}]
        put(client, patient)
        put(
            client,
            {
                "resourceType": "Observation",
                "id": f"o{n}",
                "status": "final",
                "code": {"coding": [{"system": "http://loinc.org", "code": f"c{n % 2}"}]},
                "subject": {"reference": f"Patient/p{n}"},
            },
        )
    return client


def match_ids(bundle: dict[str, Any]) -> list[str]:
    return [e["resource"]["id"] for e in bundle.get("entry", []) if e["search"]["mode"] == "match"]


def sorted_ids(client: TestClient, query: str) -> list[str]:
    """Ids of the matches of a search that must succeed (`query` after /fhir/), by id."""
    response = client.get(f"/fhir/{query}&_sort=_id")
    assert response.status_code == 200, response.json()
    return match_ids(response.json())
