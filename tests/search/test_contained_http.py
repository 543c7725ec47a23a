"""Contained resources in searches (search.html#contained), over HTTP on both backends:
_contained, _containedType, chains into contained resources, and their upkeep as the
container changes."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.search.conftest import put

BASE = "http://testserver/fhir"


def _observation(id_: str, *contained: dict[str, Any], subject: str = "#p1") -> dict[str, Any]:
    observation = {
        "resourceType": "Observation",
        "id": id_,
        "status": "final",
        "code": {"text": "weight"},
        "subject": {"reference": subject},
    }
    return {**observation, "contained": list(contained)} if contained else observation


def _patient(id_: str, family: str, gender: str) -> dict[str, Any]:
    return {"resourceType": "Patient", "id": id_, "name": [{"family": family}], "gender": gender}


@pytest.fixture
def stored(client: TestClient) -> TestClient:
    """An ordinary Patient Zed; Observation oc containing Patients Zed (p1, female) and
    Yan (p2, male); Observation od containing another p1 (Yan, female), and one about
    the ordinary Zed."""
    put(client, {"resourceType": "Organization", "id": "org", "name": "Acme"})
    put(client, _patient("zed", "Zed", "male"))
    zed = _patient("p1", "Zed", "female")
    zed["managingOrganization"] = {"reference": "Organization/org"}
    put(client, _observation("oc", zed, _patient("p2", "Yan", "male")))
    put(client, _observation("od", _patient("p1", "Yan", "female")))
    put(client, _observation("oz", subject="Patient/zed"))
    return client


def _entries(client: TestClient, query: str) -> list[tuple[str, str]]:
    """(fullUrl, resource type) of the matches."""
    bundle = client.get(query).json()
    assert bundle["resourceType"] == "Bundle", bundle
    return [
        (e["fullUrl"], e["resource"]["resourceType"])
        for e in bundle.get("entry", [])
        if e["search"]["mode"] == "match"
    ]


def test_contained_resources_are_searched_only_when_asked(stored: TestClient) -> None:
    ordinary = [(f"{BASE}/Patient/zed", "Patient")]
    assert _entries(stored, "/fhir/Patient?name=Zed") == ordinary
    assert _entries(stored, "/fhir/Patient?name=Zed&_contained=false") == ordinary
    # the container, as the default _containedType says
    assert _entries(stored, "/fhir/Patient?name=Zed&_contained=true") == [
        (f"{BASE}/Observation/oc", "Observation")
    ]
    both = _entries(stored, "/fhir/Patient?name=Zed&_contained=both&_sort=_id")
    assert sorted(both) == [(f"{BASE}/Observation/oc", "Observation"), *ordinary]
    # every patient named Yan is contained, one in each Observation
    assert _entries(stored, "/fhir/Patient?name=Yan&_contained=true&_total=accurate") == [
        (f"{BASE}/Observation/oc", "Observation"),
        (f"{BASE}/Observation/od", "Observation"),
    ]
    counted = stored.get("/fhir/Patient?name=Yan&_contained=true&_summary=count").json()
    assert counted["total"] == 2


def test_contained_type_contained_answers_with_the_contained_resource(
    stored: TestClient,
) -> None:
    bundle = stored.get("/fhir/Patient?name=Zed&_contained=true&_containedType=contained").json()
    (entry,) = bundle["entry"]
    assert entry["fullUrl"] == f"{BASE}/Observation/oc#p1"
    assert entry["resource"]["id"] == "p1" and entry["resource"]["gender"] == "female"
    assert entry["search"]["mode"] == "match"
    self_link = next(link["url"] for link in bundle["link"] if link["relation"] == "self")
    assert "_contained=true&_containedType=contained" in self_link
    both = _entries(stored, "/fhir/Patient?gender=female&_contained=both&_containedType=contained")
    assert sorted(both) == [
        (f"{BASE}/Observation/oc#p1", "Patient"),
        (f"{BASE}/Observation/od#p1", "Patient"),
    ]


def test_all_criteria_hold_in_one_contained_resource(stored: TestClient) -> None:
    """oc contains a Zed and a male, but no male Zed."""
    assert _entries(stored, "/fhir/Patient?name=Zed&gender=male&_contained=true") == []
    found = _entries(stored, "/fhir/Patient?name=Yan&gender=male&_contained=true")
    assert found == [(f"{BASE}/Observation/oc", "Observation")]


def test_contained_matches_page_sort_and_include(stored: TestClient) -> None:
    query = "/fhir/Patient?_contained=true&_containedType=contained&_sort=-name,gender&_count=2"
    first = stored.get(query).json()
    urls = [e["fullUrl"] for e in first["entry"]]
    assert urls == [f"{BASE}/Observation/oc#p1", f"{BASE}/Observation/od#p1"]
    following = next(link["url"] for link in first["link"] if link["relation"] == "next")
    assert [e["fullUrl"] for e in stored.get(following).json()["entry"]] == [
        f"{BASE}/Observation/oc#p2"
    ]
    included = stored.get(
        "/fhir/Patient?name=Zed&_contained=true&_containedType=contained"
        "&_include=Patient:organization"
    ).json()
    assert [(e["fullUrl"], e["search"]["mode"]) for e in included["entry"]] == [
        (f"{BASE}/Observation/oc#p1", "match"),
        (f"{BASE}/Organization/org", "include"),
    ]
    # a contained target of an _include is in its container already
    container = stored.get("/fhir/Observation?_id=oc&_include=Observation:subject").json()
    assert [e["fullUrl"] for e in container["entry"]] == [f"{BASE}/Observation/oc"]


def test_system_searches_see_contained_resources_only_when_asked(stored: TestClient) -> None:
    assert stored.get("/fhir?_summary=count").json()["total"] == 5
    contained = _entries(stored, "/fhir?_contained=true&_containedType=contained&_sort=_id")
    assert sorted(contained) == [
        (f"{BASE}/Observation/oc#p1", "Patient"),
        (f"{BASE}/Observation/oc#p2", "Patient"),
        (f"{BASE}/Observation/od#p1", "Patient"),
    ]
    counted = stored.get("/fhir?_contained=both&_containedType=contained&_summary=count")
    assert counted.json()["total"] == 8


def test_contained_rows_follow_their_container(stored: TestClient) -> None:
    put(stored, _observation("oc", _patient("p1", "Xu", "female")))
    assert _entries(stored, "/fhir/Patient?name=Zed&_contained=true") == []
    assert _entries(stored, "/fhir/Patient?name=Xu&_contained=true") == [
        (f"{BASE}/Observation/oc", "Observation")
    ]
    assert stored.delete("/fhir/Observation/oc").status_code in (200, 204)
    assert _entries(stored, "/fhir/Patient?name=Xu&_contained=true") == []
    assert _entries(stored, "/fhir/Patient?name=Yan&_contained=true") == [
        (f"{BASE}/Observation/od", "Observation")
    ]


def test_chains_follow_references_into_contained_resources(stored: TestClient) -> None:
    """search.html#contained: a chained condition is evaluated inside contained
    resources (`#p1` names the one in the same container)."""
    assert _entries(stored, "/fhir/Observation?subject.name=Zed&_sort=_id") == [
        (f"{BASE}/Observation/oc", "Observation"),
        (f"{BASE}/Observation/oz", "Observation"),
    ]
    assert _entries(stored, "/fhir/Observation?subject:Patient.gender=female&_sort=_id") == [
        (f"{BASE}/Observation/oc", "Observation"),
        (f"{BASE}/Observation/od", "Observation"),
    ]
    # oc's subject is its p1 (a Zed), not its p2 (the male Yan)
    assert _entries(stored, "/fhir/Observation?subject.name=Yan&subject.gender=male") == []
    put(
        stored,
        {
            "resourceType": "MedicationRequest",
            "id": "mr",
            "status": "active",
            "intent": "order",
            "subject": {"reference": "Patient/zed"},
            "medicationReference": {"reference": "#m1"},
            "contained": [
                {
                    "resourceType": "Medication",
                    "id": "m1",
                    "code": {"coding": [{"system": "http://acme.com/medications", "code": "abc"}]},
                }
            ],
        },
    )
    assert _entries(stored, "/fhir/MedicationRequest?medication.code=abc") == [
        (f"{BASE}/MedicationRequest/mr", "MedicationRequest")
    ]
    assert _entries(stored, "/fhir/Medication?code=abc") == []


def test_revinclude_leaves_contained_referrers_in_their_containers(stored: TestClient) -> None:
    """The contained Zed of oc points to org: it is part of oc, not a resource of its
    own to include (search.html#contained: contained resources are returned only when
    _contained asks)."""
    bundle = stored.get("/fhir/Organization?_id=org&_revinclude=*").json()
    assert [e["fullUrl"] for e in bundle["entry"]] == [f"{BASE}/Organization/org"]


def test_id_of_a_contained_resource_is_its_local_id(stored: TestClient) -> None:
    """_id is Resource.id (search.html#id); a contained resource's is its local id, so
    with _contained it finds contained resources by it, case-sensitively."""
    assert _entries(stored, "/fhir/Patient?_id=p2&_contained=true") == [
        (f"{BASE}/Observation/oc", "Observation")
    ]
    both = _entries(stored, "/fhir/Patient?_id=p1,zed&_contained=both&_containedType=contained")
    assert sorted(both) == [
        (f"{BASE}/Observation/oc#p1", "Patient"),
        (f"{BASE}/Observation/od#p1", "Patient"),
        (f"{BASE}/Patient/zed", "Patient"),
    ]
    assert _entries(stored, "/fhir/Patient?_id=P1&_contained=true") == []
    assert _entries(stored, "/fhir/Patient?_id=p1") == []  # not without _contained
