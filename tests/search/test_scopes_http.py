"""Searches beyond one type, over HTTP on both backends: system level (`_type`),
compartments, `_list`, and the links of their Bundles."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

from tests.search.conftest import match_ids, put

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def _links(bundle: dict[str, Any]) -> dict[str, str]:
    return {link["relation"]: link["url"] for link in bundle["link"]}


def _keys(bundle: dict[str, Any]) -> list[str]:
    return [
        f"{e['resource']['resourceType']}/{e['resource']['id']}"
        for e in bundle.get("entry", [])
        if e["search"]["mode"] == "match"
    ]


def test_system_search_over_listed_types(people: TestClient) -> None:
    bundle = people.get("/fhir?_type=Patient,Observation&_id=p1,o2,org").json()
    assert sorted(_keys(bundle)) == ["Observation/o2", "Patient/p1"]
    assert _links(bundle)["self"] == (
        "http://testserver/fhir?_type=Patient%2CObservation&_id=p1%2Co2%2Corg"
    )
    # a parameter both types define (clinical-identifier / Patient-identifier: same code)
    put(
        people,
        {
            "resourceType": "Observation",
            "id": "tagged",
            "status": "final",
            "code": {"text": "x"},
            "identifier": [{"system": "urn:s", "value": "7"}],
        },
    )
    put(people, {"resourceType": "Patient", "id": "idp", "identifier": [{"value": "7"}]})
    common = people.get("/fhir?_type=Patient,Observation&identifier=7&_sort=_id").json()
    assert _keys(common) == ["Patient/idp", "Observation/tagged"]
    posted = people.post(
        "/fhir/_search", data={"_type": "Patient,Organization", "_id": "org,p0"}, headers=FORM
    ).json()
    assert sorted(_keys(posted)) == ["Organization/org", "Patient/p0"]


def test_system_search_over_every_type_pages_and_counts(people: TestClient) -> None:
    counted = people.get("/fhir?_summary=count").json()
    assert counted["total"] == 12  # 5 patients, 5 observations, a practitioner, an organisation
    seen: list[str] = []
    url: str | None = "/fhir?_sort=-_id&_count=5&_total=accurate"
    while url is not None:
        bundle = people.get(url).json()
        assert bundle["total"] == 12
        assert _links(bundle)["first"].startswith("http://testserver/fhir?_sort=-_id")
        seen += _keys(bundle)
        url = _links(bundle).get("next")
    assert [key.split("/")[1] for key in seen] == sorted(
        [f"p{n}" for n in range(5)] + [f"o{n}" for n in range(5)] + ["doc", "org"], reverse=True
    )
    included = people.get("/fhir?_type=Observation&_id=o3&_include=Observation:subject").json()
    assert [(e["resource"]["id"], e["search"]["mode"]) for e in included["entry"]] == [
        ("o3", "match"),
        ("p3", "include"),
    ]


def test_system_search_allows_only_common_parameters(people: TestClient) -> None:
    # defined for Patient only: an error, as the types listed do not share it
    uncommon = people.get("/fhir?_type=Patient,Observation&family=adams")
    assert uncommon.status_code == 400
    assert uncommon.json()["issue"][0]["expression"] == ["family"]
    assert people.get("/fhir?family=adams").status_code == 400
    # unknown to every type: ignored with a warning, or refused when strict
    lenient = people.get("/fhir?_type=Patient&nonsense=1&_id=p0").json()
    assert match_ids(lenient) == ["p0"]
    assert lenient["entry"][-1]["resource"]["issue"][0]["expression"] == ["nonsense"]
    strict = people.get("/fhir?nonsense=1", headers={"Prefer": "handling=strict"})
    assert strict.status_code == 400
    bad_type = people.get("/fhir?_type=Patient,Nothing")
    assert bad_type.status_code == 400 and bad_type.json()["issue"][0]["expression"] == ["_type"]
    bad_sort = people.get("/fhir?_type=Patient,Observation&_sort=family")
    assert bad_sort.status_code == 400


def test_compartment_search(people: TestClient) -> None:
    put(
        people,
        {
            "resourceType": "Encounter",
            "id": "e1",
            "status": "finished",
            "class": {"code": "AMB"},
            "subject": {"reference": "Patient/p1"},
        },
    )
    observations = people.get("/fhir/Patient/p1/Observation").json()
    assert match_ids(observations) == ["o1"]
    assert _links(observations)["self"] == "http://testserver/fhir/Patient/p1/Observation"
    filtered = people.get("/fhir/Patient/p1/Observation?code=c0").json()
    assert match_ids(filtered) == []
    everything = people.get("/fhir/Patient/p1/*?_sort=_id").json()
    assert _keys(everything) == ["Encounter/e1", "Observation/o1"]
    narrowed = people.get("/fhir/Patient/p1/*?_type=Encounter").json()
    assert _keys(narrowed) == ["Encounter/e1"]
    # Practitioner/doc is in its own compartment ({def}); the patients name it
    practitioner = people.get("/fhir/Practitioner/doc/*?_sort=_id").json()
    assert _keys(practitioner) == ["Practitioner/doc", "Patient/p0", "Patient/p2", "Patient/p4"]
    posted = people.post(
        "/fhir/Patient/p2/Observation/_search", data={"status": "final"}, headers=FORM
    ).json()
    assert match_ids(posted) == ["o2"]
    assert people.get("/fhir/Patient/nobody/Observation").json().get("entry", []) == []


def test_compartment_errors(people: TestClient) -> None:
    not_a_compartment = people.get("/fhir/Observation/o1/Patient")
    assert not_a_compartment.status_code == 404
    assert not_a_compartment.json()["resourceType"] == "OperationOutcome"
    assert people.get("/fhir/Nothing/x/Observation").status_code == 404
    outside = people.get("/fhir/Patient/p1/Medication")
    assert outside.status_code == 400
    assert "Medication" in outside.json()["issue"][0]["diagnostics"]
    assert people.get("/fhir/Patient/p1/Nothing").status_code == 404
    mixed = people.get("/fhir/Patient/p1/Observation?_type=Encounter")
    assert mixed.status_code == 400 and mixed.json()["issue"][0]["expression"] == ["_type"]
    outside_type = people.get("/fhir/Patient/p1/*?_type=Medication")
    assert outside_type.status_code == 400


def test_list_parameter(people: TestClient) -> None:
    put(
        people,
        {
            "resourceType": "List",
            "id": "watch",
            "status": "current",
            "mode": "working",
            "entry": [
                {"item": {"reference": "Patient/p1"}},
                {"item": {"reference": "Patient/p3"}},
                {"item": {"reference": "Observation/o4"}},
            ],
        },
    )
    assert match_ids(people.get("/fhir/Patient?_list=watch").json()) == ["p1", "p3"]
    assert match_ids(people.get("/fhir/Patient?_list=watch&family=davis").json()) == ["p3"]
    assert match_ids(people.get("/fhir/Observation?_list=watch").json()) == ["o4"]
    assert match_ids(people.get("/fhir/Patient?_list=other").json()) == []
    across = people.get("/fhir?_list=watch&_sort=_id").json()
    assert _keys(across) == ["Observation/o4", "Patient/p1", "Patient/p3"]
    functional = people.get("/fhir/AllergyIntolerance?_list=$current-allergies")
    assert functional.status_code == 400
    assert functional.json()["issue"][0]["code"] == "not-supported"


def test_first_next_and_previous_links(people: TestClient) -> None:
    first = people.get("/fhir/Patient?_sort=family&_count=2").json()
    links = _links(first)
    assert links["first"] == "http://testserver/fhir/Patient?_sort=family&_count=2"
    second = people.get(links["next"]).json()
    assert _links(second)["first"] == links["first"]
    assert match_ids(people.get(_links(second)["previous"]).json()) == ["p0", "p1"]


def test_type_and_contained_at_type_level(people: TestClient) -> None:
    same = people.get("/fhir/Patient?_type=Patient&_id=p0").json()
    assert match_ids(same) == ["p0"] and "_type=Patient" in _links(same)["self"]
    other = people.get("/fhir/Patient?_type=Observation")
    assert other.status_code == 400 and other.json()["issue"][0]["expression"] == ["_type"]
    default = people.get("/fhir/Patient?_id=p0&_contained=false&_containedType=container").json()
    assert match_ids(default) == ["p0"]
    assert "_contained=false&_containedType=container" in _links(default)["self"]
    both = people.get("/fhir/Patient?_id=p0&_contained=both").json()
    assert match_ids(both) == ["p0"] and "_contained=both" in _links(both)["self"]
    for query, parameter, code in [
        ("_contained=maybe", "_contained", "invalid"),
        ("_containedType=parts", "_containedType", "invalid"),
    ]:
        response = people.get(f"/fhir/Patient?{query}")
        assert response.status_code == 400, query
        (issue,) = response.json()["issue"]
        assert (issue["expression"], issue["code"]) == ([parameter], code), query
