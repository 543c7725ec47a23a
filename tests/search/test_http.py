"""Search over HTTP on both backends: paging links, totals, chains, errors."""

from __future__ import annotations

import secrets

from starlette.testclient import TestClient

from tests.search.conftest import match_ids as _ids
from tests.search.conftest import put as _put
from tests.search.conftest import sorted_ids


def test_sorted_pages_follow_next_links(people: TestClient) -> None:
    url: str | None = "/fhir/Patient?_sort=-birthdate&_count=2"
    seen: list[str] = []
    while url is not None:
        bundle = people.get(url).json()
        seen += _ids(bundle)
        links = {link["relation"]: link["url"] for link in bundle["link"]}
        url = links.get("next")
        if url is not None:
            assert url.startswith("http://testserver/fhir/Patient?")
            # data changing between pages shifts nothing: the cursor is a position
            _put(
                people,
                {"resourceType": "Patient", "id": f"new{len(seen)}", "birthDate": "1960-01-01"},
            )
    assert seen[:5] == ["p4", "p3", "p2", "p1", "p0"]
    assert "_sort=-birthdate" in bundle["link"][0]["url"]


def test_totals_and_summary_count(people: TestClient) -> None:
    counted = people.get("/fhir/Patient?_summary=count").json()
    assert counted["total"] == 5 and not counted.get("entry")
    accurate = people.get("/fhir/Patient?family=a,b&_total=accurate&_count=1").json()
    assert accurate["total"] == 2 and len(_ids(accurate)) == 1
    assert "total" not in people.get("/fhir/Patient?_total=none").json()
    assert people.get("/fhir/Patient?_total=some").status_code == 400
    # the total of a search whose first page holds every match, of a later page, of none
    complete = people.get("/fhir/Patient?family=a,b&_total=accurate&_count=2").json()
    assert complete["total"] == 2 and len(_ids(complete)) == 2
    later = people.get(next(x["url"] for x in accurate["link"] if x["relation"] == "next"))
    assert later.json()["total"] == 2 and len(_ids(later.json())) == 1
    none = people.get("/fhir/Patient?family=zz&_total=accurate").json()
    assert none["total"] == 0
    zero = people.get("/fhir/Patient?family=a,b&_total=accurate&_count=0").json()
    assert zero["total"] == 2 and not zero.get("entry")


def test_total_estimate(people: TestClient) -> None:
    """An estimate is a count on SQLite and the planner's guess on PostgreSQL: a number
    either way, exact where the first page already holds every match."""
    estimated = people.get("/fhir/Patient?_total=estimate&_count=2").json()
    assert isinstance(estimated["total"], int) and estimated["total"] >= 0
    assert len(_ids(estimated)) == 2
    assert people.get("/fhir/Patient?family=a&_total=estimate").json()["total"] == 1


def test_chains_and_reverse_chains(people: TestClient) -> None:
    chained = people.get("/fhir/Observation?subject:Patient.family=clark").json()
    assert _ids(chained) == ["o2"]
    deep = people.get("/fhir/Observation?patient.general-practitioner.name=house").json()
    assert _ids(deep) == ["o0", "o2", "o4"]
    organisation = people.get("/fhir/Observation?patient.organization.name=acme").json()
    assert len(_ids(organisation)) == 5
    reverse = people.get("/fhir/Patient?_has:Observation:patient:code=c1").json()
    assert _ids(reverse) == ["p1", "p3"]
    nested = people.get(
        "/fhir/Practitioner?_has:Patient:general-practitioner:_has:Observation:patient:code=c0"
    ).json()
    assert _ids(nested) == ["doc"]
    with_chain = people.get("/fhir/Organization?_has:Patient:organization:family=evans").json()
    assert _ids(with_chain) == ["org"]


def test_unknown_and_invalid_parameters(people: TestClient) -> None:
    lenient = people.get("/fhir/Patient?family=adams&nonsense=1").json()
    assert _ids(lenient) == ["p0"]
    outcome = lenient["entry"][-1]
    assert outcome["search"]["mode"] == "outcome"
    assert outcome["resource"]["issue"][0]["expression"] == ["nonsense"]
    assert lenient["link"][0]["url"] == "http://testserver/fhir/Patient?family=adams"
    strict = people.get("/fhir/Patient?nonsense=1", headers={"Prefer": "handling=strict"})
    assert strict.status_code == 400
    for query, parameter in [
        ("birthdate=19x0", "birthdate"),
        ("family:fuzzy=a", "family:fuzzy"),
        ("_sort=nonsense", "_sort"),
        ("_page=garbage", "_page"),
    ]:
        response = people.get(f"/fhir/Patient?{query}")
        assert response.status_code == 400, query
        assert response.json()["issue"][0]["expression"] == [parameter]


def _post_search(client: TestClient, path: str, form: dict[str, str]) -> dict:
    """The Bundle a POST _search answers with `form` as its body."""
    response = client.post(
        path, data=form, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert response.status_code == 200, response.json()
    return response.json()


def test_post_search_and_conditional_create(people: TestClient) -> None:
    posted = _post_search(
        people, "/fhir/Patient/_search", {"birthdate": "ge1973", "_sort": "family"}
    )
    assert _ids(posted) == ["p3", "p4"]
    again = people.post(
        "/fhir/Patient",
        json={"resourceType": "Patient", "name": [{"family": "Davis"}]},
        headers={"If-None-Exist": "family:exact=Davis&birthdate=1973"},
    )
    assert again.status_code == 200 and again.json()["id"] == "p3"


def test_summary_in_search(people: TestClient) -> None:
    bundle = people.get("/fhir/Patient?_id=p0&_elements=birthDate").json()
    (entry,) = bundle["entry"]
    assert "name" not in entry["resource"] and entry["resource"]["birthDate"] == "1970-01-01"


def test_include_and_revinclude(people: TestClient) -> None:
    bundle = people.get(
        "/fhir/Observation?_id=o0,o1&_include=Observation:subject:Patient"
        "&_include:iterate=Patient:general-practitioner"
    ).json()
    modes = [(e["resource"]["id"], e["search"]["mode"]) for e in bundle["entry"]]
    assert modes[:2] == [("o0", "match"), ("o1", "match")]
    assert sorted(modes[2:]) == [("doc", "include"), ("p0", "include"), ("p1", "include")]
    assert "_include%3Aiterate=Patient%3Ageneral-practitioner" in bundle["link"][0]["url"]
    plain = people.get("/fhir/Observation?_id=o0&_include=Observation:subject").json()
    assert [e["resource"]["id"] for e in plain["entry"]] == ["o0", "p0"]  # no iteration
    reverse = people.get("/fhir/Patient?_id=p1&_revinclude=Observation:subject").json()
    assert [(e["resource"]["id"], e["search"]["mode"]) for e in reverse["entry"]] == [
        ("p1", "match"),
        ("o1", "include"),
    ]
    everything = people.get("/fhir/Patient?_id=p0&_include=*").json()
    assert {e["resource"]["id"] for e in everything["entry"]} == {"p0", "org", "doc"}
    bad = people.get("/fhir/Patient?_include=Patient:family")
    assert bad.status_code == 400 and bad.json()["issue"][0]["expression"] == ["_include"]


def test_reference_identifier_and_explain(people: TestClient) -> None:
    logical = {
        "resourceType": "Observation",
        "id": "logical",
        "status": "final",
        "code": {"text": "x"},
        "subject": {"identifier": {"system": "urn:mrn", "value": "77"}},
    }
    _put(people, logical)
    found = people.get("/fhir/Observation?subject:identifier=urn:mrn|77").json()
    assert _ids(found) == ["logical"]
    assert _ids(people.get("/fhir/Observation?subject:identifier=urn:other|77").json()) == []
    explained = people.get("/fhir/Patient?family=adams&__explain=true").json()
    (outcome,) = [e for e in explained["entry"] if e["search"]["mode"] == "outcome"]
    (issue,) = outcome["resource"]["issue"]
    assert issue["severity"] == "information"
    assert "string_index" in issue["diagnostics"] and "plan:" in issue["diagnostics"]


def test_previous_links(people: TestClient) -> None:
    first = people.get("/fhir/Patient?_sort=family&_count=2").json()
    links = {link["relation"]: link["url"] for link in first["link"]}
    assert "previous" not in links
    second = people.get(links["next"]).json()
    assert _ids(second) == ["p2", "p3"]
    # self is this page (http.html#paging), not the first one again
    assert _ids(people.get(_self_link(second)).json()) == ["p2", "p3"]
    back = {link["relation"]: link["url"] for link in second["link"]}["previous"]
    again = people.get(back).json()
    assert _ids(again) == ["p0", "p1"]
    assert "previous" not in {link["relation"] for link in again["link"]}


def test_composite_and_terminology_modifiers(people: TestClient) -> None:
    _put(
        people,
        {
            "resourceType": "Observation",
            "id": "bp",
            "status": "final",
            "code": {"text": "blood pressure"},
            "component": [
                {
                    "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
                    "valueQuantity": {"value": value, "unit": "mmHg"},
                }
                for code, value in (("8480-6", 120), ("8462-4", 80))
            ],
        },
    )
    found = people.get("/fhir/Observation?component-code-value-quantity=8480-6$ge120").json()
    assert _ids(found) == ["bp"]
    apart = people.get("/fhir/Observation?component-code-value-quantity=8462-4$ge120").json()
    assert _ids(apart) == []
    statuses = "http://hl7.org/fhir/ValueSet/observation-status"
    assert len(_ids(people.get(f"/fhir/Observation?status:in={statuses}").json())) == 6
    assert _ids(people.get(f"/fhir/Observation?status:not-in={statuses}").json()) == []
    unknown = people.get("/fhir/Observation?code:in=http://example.org/ValueSet/none")
    assert unknown.status_code == 400
    (issue,) = unknown.json()["issue"]
    assert issue["code"] == "not-supported" and issue["expression"] == ["code:in"]


def test_very_long_values_are_stored_and_found_by_their_indexed_start(client: TestClient) -> None:
    # PostgreSQL b-tree entries must stay under ~2.7 kB: index values are cut, never refused
    family = secrets.token_hex(150_000)
    identifier = secrets.token_hex(2_500)
    patient = {
        "resourceType": "Patient",
        "name": [{"family": family}],
        "identifier": [{"system": "http://example.org/" + "s" * 400, "value": identifier}],
    }
    assert client.post("/fhir/Patient", json=patient).status_code == 201
    client.post("/fhir/Patient", json={"resourceType": "Patient", "name": [{"family": "Short"}]})

    def found(name: str, value: str) -> int:  # POST: the values do not fit in a URL
        form = {name: value, "_total": "accurate"}
        return client.post("/fhir/Patient/_search", data=form).json()["total"]

    assert found("family", family[:20]) == 1
    assert found("family:exact", family) == 1
    assert found("identifier", f"http://example.org/{'s' * 400}|{identifier}") == 1
    assert found("identifier", identifier) == 1
    assert found("family", "short") == 1


def test_condition_subject_reaches_patients(people: TestClient) -> None:
    """Condition.subject points to Patient or Group (not only Organization, as the
    package's example SearchParameter says): chains, :Type and _include follow it."""
    _put(people, {"resourceType": "Condition", "id": "c0", "subject": {"reference": "Patient/p0"}})
    assert sorted_ids(people, "Condition?subject.family=Adams") == ["c0"]
    assert sorted_ids(people, "Condition?subject:Patient=p0") == ["c0"]
    included = people.get("/fhir/Condition?_include=Condition:subject:Patient").json()
    assert [e["resource"]["id"] for e in included["entry"]] == ["c0", "p0"]


def _self_link(bundle: dict) -> str:
    return next(link["url"] for link in bundle["link"] if link["relation"] == "self")


def test_empty_parameters_are_ignored(people: TestClient) -> None:
    """search.html#errors: "Empty parameters are not an error - they are just ignored"."""
    response = people.get("/fhir/Patient?family=&_count=&_total=&_summary=&_sort=&_id=p1")
    assert response.status_code == 200, response.json()
    bundle = response.json()
    assert _ids(bundle) == ["p1"] and "total" not in bundle
    assert _self_link(bundle) == "http://testserver/fhir/Patient?_id=p1"


def test_post_search_body_shapes_the_answer(people: TestClient) -> None:
    """_count, _elements and _summary in a POST _search body count as in the query."""
    posted = _post_search(
        people, "/fhir/Patient/_search?_sort=_id", {"_count": "2", "_elements": "birthDate"}
    )
    assert _ids(posted) == ["p0", "p1"]
    assert all("name" not in e["resource"] for e in posted["entry"])
    assert "_count=2" in _self_link(posted) and "_elements=birthDate" in _self_link(posted)
    summary = _post_search(people, "/fhir/Patient/_search?_id=p0", {"_summary": "true"})
    assert "generalPractitioner" not in summary["entry"][0]["resource"]


def test_elements_do_not_apply_to_included_resources(people: TestClient) -> None:
    """search.html#elements: "The list of elements does not apply to included resources"."""
    bundle = people.get("/fhir/Patient?_id=p0&_elements=birthDate&_include=Patient:organization")
    (match, included) = bundle.json()["entry"]
    assert set(match["resource"]) >= {"birthDate"} and "name" not in match["resource"]
    assert included["resource"]["name"] == "Acme Hospital"
    assert "meta" not in included["resource"] or "tag" not in included["resource"]["meta"]


def test_repeated_sort_parameters_add_keys(people: TestClient) -> None:
    """_sort=a&_sort=b sorts as _sort=a,b (search.html#sort), rather than the last one
    silently winning."""
    _put(people, {"resourceType": "Patient", "id": "p5", "name": [{"family": "Adams"}]})
    bundle = people.get("/fhir/Patient?_sort=family&_sort=-_id&_count=3").json()
    assert _ids(bundle) == ["p5", "p0", "p1"]
    assert "_sort=family%2C-_id" in _self_link(bundle)


def test_summary_text_cannot_be_mixed_with_includes(people: TestClient) -> None:
    """search.html#summary: _include and _revinclude cannot be mixed with _summary=text."""
    response = people.get("/fhir/Patient?_summary=text&_include=Patient:organization")
    assert response.status_code == 400
    assert response.json()["issue"][0]["expression"] == ["_summary"]


def test_missing_on_resource_level_parameters(people: TestClient) -> None:
    """Every resource has an id and a lastUpdated: :missing=false keeps all, true none."""
    assert sorted_ids(people, "Patient?_id:missing=false&family=Adams") == ["p0"]
    assert sorted_ids(people, "Patient?_lastUpdated:missing=true") == []
    bad = people.get("/fhir/Patient?_id:missing=maybe")
    assert bad.status_code == 400 and bad.json()["issue"][0]["expression"] == ["_id:missing"]


def test_links_keep_the_format_asked_for(people: TestClient) -> None:
    """_format overrides Accept (http.html#mime-type): the next page must come in it too."""
    bundle = people.get("/fhir/Patient?_count=2&_format=json&_pretty=true").json()
    links = {link["relation"]: link["url"] for link in bundle["link"]}
    assert links["self"].endswith("_count=2&_format=json&_pretty=true")
    after = people.get(links["next"], headers={"Accept": "application/fhir+xml"})
    assert after.headers["content-type"].startswith("application/fhir+json")
    assert after.text.startswith("{\n")
