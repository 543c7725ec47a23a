"""`:above` / `:below` on reference parameters, over HTTP on both backends: strict
hierarchies of a type (search.html, Searching Hierarchies) and canonical versions
(search.html#versions)."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from ember.search.hierarchy import parent_parameter
from tests.search.conftest import put, sorted_ids


def test_strict_hierarchies_are_single_references_to_the_own_type() -> None:
    assert parent_parameter("Location").code == "partof"  # type: ignore[union-attr]
    assert parent_parameter("Encounter").code == "part-of"  # type: ignore[union-attr]
    assert parent_parameter("CarePlan") is None  # partOf repeats: no strict hierarchy
    assert parent_parameter("Patient") is None


def _location(id_: str, part_of: str | None = None) -> dict[str, Any]:
    location: dict[str, Any] = {"resourceType": "Location", "id": id_, "name": id_}
    if part_of is not None:
        location["partOf"] = {"reference": f"Location/{part_of}"}
    return location


@pytest.fixture
def sites(client: TestClient) -> TestClient:
    """hospital > wing > room, a cycle a > b > a, and a Procedure at each place."""
    for location in [
        _location("hospital"),
        _location("wing", "hospital"),
        _location("room", "wing"),
        _location("a", "b"),
        _location("b", "a"),
    ]:
        put(client, location)
        put(
            client,
            {
                "resourceType": "Procedure",
                "id": f"at-{location['id']}",
                "status": "completed",
                "subject": {"reference": "Patient/x"},
                "location": {"reference": f"Location/{location['id']}"},
            },
        )
    return client


def test_below_and_above_follow_a_strict_hierarchy(sites: TestClient) -> None:
    assert sorted_ids(sites, "Procedure?location:below=hospital") == [
        "at-hospital",
        "at-room",
        "at-wing",
    ]
    assert sorted_ids(sites, "Procedure?location:below=Location/wing") == ["at-room", "at-wing"]
    assert sorted_ids(sites, "Procedure?location:above=room") == [
        "at-hospital",
        "at-room",
        "at-wing",
    ]
    assert sorted_ids(sites, "Procedure?location:above=hospital") == ["at-hospital"]
    assert sorted_ids(sites, "Procedure?location:below=a") == ["at-a", "at-b"]  # a cycle ends
    # locations that are part of the wing or of a part of it; of the room or what it is in
    assert sorted_ids(sites, "Location?partof:below=wing") == ["room"]
    assert sorted_ids(sites, "Location?partof:above=room") == ["room", "wing"]
    assert sorted_ids(sites, "Procedure?location:below=nowhere") == []


def test_below_on_canonical_urls_matches_business_versions(client: TestClient) -> None:
    url = "http://acme.com/some-profile"
    for n, version in enumerate(["1.0", "1.1", "2.0", "10.0", ""]):
        put(
            client,
            {
                "resourceType": "QuestionnaireResponse",
                "id": f"qr{n}",
                "status": "completed",
                "questionnaire": f"{url}|{version}" if version else url,
            },
        )
    query = "QuestionnaireResponse?questionnaire"
    assert sorted_ids(client, f"{query}:below={url}") == ["qr0", "qr1", "qr2", "qr3", "qr4"]
    assert sorted_ids(client, f"{query}:below={url}|1") == ["qr0", "qr1"]
    assert sorted_ids(client, f"{query}:below={url}|1.1") == ["qr1"]
    assert sorted_ids(client, f"{query}={url}|1") == []  # without :below the version is exact


@pytest.mark.parametrize(
    "query",
    [
        "QuestionnaireResponse?questionnaire:above=http://acme.com/q",
        "Observation?specimen:below=s1",  # Specimen.parent repeats
        "Procedure?subject:above=Patient/p1",
    ],
)
def test_above_and_below_without_a_meaning_are_not_supported(
    client: TestClient, query: str
) -> None:
    response = client.get(f"/fhir/{query}")
    assert response.status_code == 400
    (issue,) = response.json()["issue"]
    parameter = query.partition("?")[2].partition("=")[0]
    assert (issue["code"], issue["expression"]) == ("not-supported", [parameter])
