"""batch and transaction Bundles over HTTP."""

from __future__ import annotations

import base64

import orjson
from starlette.testclient import TestClient

PATIENT_URL = "urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a"


def _transaction(*entries: dict, type_: str = "transaction") -> dict:
    return {"resourceType": "Bundle", "type": type_, "entry": list(entries)}


def _post(full_url: str, resource: dict, **request: str) -> dict:
    return {
        "fullUrl": full_url,
        "resource": resource,
        "request": {"method": "POST", "url": resource["resourceType"], **request},
    }


def _observation(subject: str) -> dict:
    return {
        "resourceType": "Observation",
        "status": "final",
        "code": {"text": "hr"},
        "subject": {"reference": subject},
        "text": {
            "status": "generated",
            "div": f'<div xmlns="http://www.w3.org/1999/xhtml"><a href="{subject}">p</a></div>',
        },
    }


def test_transaction_creates_and_rewrites_placeholders(client: TestClient) -> None:
    bundle = _transaction(
        _post("urn:uuid:obs", _observation(PATIENT_URL)),
        _post(PATIENT_URL, {"resourceType": "Patient", "active": True}),
        {
            "request": {"method": "PUT", "url": "Patient/fixed"},
            "resource": {
                "resourceType": "Patient",
                "id": "fixed",
                "link": [{"other": {"reference": PATIENT_URL}, "type": "seealso"}],
            },
        },
    )
    response = client.post("/fhir", json=bundle)
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["type"] == "transaction-response"
    statuses = [e["response"]["status"] for e in result["entry"]]
    assert statuses == ["201 Created", "201 Created", "201 Created"]
    patient_location = result["entry"][1]["response"]["location"]
    patient_ref = "/".join(patient_location.split("/")[:2])
    observation = client.get("/fhir/" + result["entry"][0]["response"]["location"]).json()
    assert observation["subject"]["reference"] == patient_ref
    assert f'href="{patient_ref}"' in observation["text"]["div"]
    fixed = client.get("/fhir/Patient/fixed").json()
    assert fixed["link"][0]["other"]["reference"] == patient_ref
    assert "resource" not in result["entry"][0]  # no Prefer: minimal by default


def test_transaction_is_all_or_nothing(client: TestClient) -> None:
    bundle = _transaction(
        _post(PATIENT_URL, {"resourceType": "Patient"}),
        _post("urn:uuid:bad", {"resourceType": "Observation", "status": "final"}),  # no code
    )
    response = client.post("/fhir", json=bundle)
    assert response.status_code == 400
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert outcome["issue"][0]["expression"] == ["Bundle.entry[1].resource.code"]
    assert "entry" not in client.get("/fhir/_history").json()


def test_transaction_failure_while_applying_rolls_back(client: TestClient) -> None:
    client.put("/fhir/Patient/v", json={"resourceType": "Patient", "id": "v"})
    bundle = _transaction(
        _post(PATIENT_URL, {"resourceType": "Patient"}),
        {
            "request": {"method": "PUT", "url": "Patient/v", "ifMatch": 'W/"5"'},
            "resource": {"resourceType": "Patient", "id": "v", "active": True},
        },
    )
    response = client.post("/fhir", json=bundle)
    assert response.status_code == 412
    assert response.json()["issue"][0]["expression"] == ["Bundle.entry[1]"]
    assert len(client.get("/fhir/_history").json()["entry"]) == 1


def test_transaction_identity_and_conditional_references(client: TestClient) -> None:
    client.put(
        "/fhir/Patient/known",
        json={
            "resourceType": "Patient",
            "id": "known",
            "identifier": [{"system": "urn:mrn", "value": "42"}],
        },
    )
    bundle = _transaction(_post("urn:uuid:o", _observation("Patient?identifier=urn:mrn|42")))
    result = client.post("/fhir", json=bundle).json()
    location = result["entry"][0]["response"]["location"]
    assert client.get(f"/fhir/{location}").json()["subject"]["reference"] == "Patient/known"
    missing = client.post(
        "/fhir",
        json=_transaction(_post("urn:uuid:o", _observation("Patient?identifier=urn:mrn|43"))),
    )
    assert missing.status_code == 412
    twice = _transaction(
        {
            "request": {"method": "PUT", "url": "Patient/known"},
            "resource": {"resourceType": "Patient", "id": "known"},
        },
        {"request": {"method": "DELETE", "url": "Patient/known"}},
    )
    assert client.post("/fhir", json=twice).status_code == 400


def test_transaction_conditional_create_and_update(client: TestClient) -> None:
    patient = {"resourceType": "Patient", "identifier": [{"system": "urn:mrn", "value": "7"}]}
    first = client.post(
        "/fhir",
        json=_transaction(
            _post(PATIENT_URL, patient, ifNoneExist="identifier=urn:mrn|7"),
            _post("urn:uuid:o", _observation(PATIENT_URL)),
        ),
    ).json()
    second = client.post(
        "/fhir",
        json=_transaction(
            _post(PATIENT_URL, patient, ifNoneExist="identifier=urn:mrn|7"),
            _post("urn:uuid:o", _observation(PATIENT_URL)),
        ),
    ).json()
    assert first["entry"][0]["response"]["status"] == "201 Created"
    assert second["entry"][0]["response"]["status"] == "200 OK"
    assert first["entry"][0]["response"]["location"] == second["entry"][0]["response"]["location"]
    obs = client.get("/fhir/" + second["entry"][1]["response"]["location"]).json()
    assert obs["subject"]["reference"] + "/_history/1" == first["entry"][0]["response"]["location"]
    update = client.post(
        "/fhir",
        json=_transaction(
            {
                "request": {"method": "PUT", "url": "Patient?identifier=urn:mrn|7"},
                "resource": {**patient, "active": True},
            }
        ),
    ).json()
    assert update["entry"][0]["response"]["status"] == "200 OK"


def test_transaction_with_delete_patch_and_get(client: TestClient) -> None:
    client.put("/fhir/Patient/a", json={"resourceType": "Patient", "id": "a", "active": True})
    client.put("/fhir/Patient/b", json={"resourceType": "Patient", "id": "b"})
    patch = orjson.dumps([{"op": "replace", "path": "/active", "value": False}])
    bundle = _transaction(
        {"request": {"method": "GET", "url": "Patient/a"}},
        {
            "request": {"method": "PATCH", "url": "Patient/a"},
            "resource": {
                "resourceType": "Binary",
                "contentType": "application/json-patch+json",
                "data": base64.b64encode(patch).decode(),
            },
        },
        {"request": {"method": "DELETE", "url": "Patient/b"}},
    )
    response = client.post("/fhir", json=bundle, headers={"Prefer": "return=representation"})
    assert response.status_code == 200, response.text
    entries = response.json()["entry"]
    assert entries[0]["resource"]["active"] is False  # GETs run after the writes
    assert entries[1]["response"]["status"] == "200 OK"
    assert entries[1]["resource"]["active"] is False
    assert entries[2]["response"]["status"] == "204 No Content"
    assert client.get("/fhir/Patient/b").status_code == 410


def test_batch_entries_are_independent(client: TestClient) -> None:
    bundle = _transaction(
        _post("urn:uuid:1", {"resourceType": "Patient"}),
        _post("urn:uuid:2", {"resourceType": "Patient", "bogus": 1}),
        {"request": {"method": "GET", "url": "Patient/missing"}},
        {"request": {"method": "GET", "url": "Patient?_id=nothing"}},
        type_="batch",
    )
    response = client.post("/fhir", json=bundle)
    assert response.status_code == 200
    entries = response.json()["entry"]
    assert [e["response"]["status"] for e in entries] == [
        "201 Created",
        "400 Bad Request",
        "404 Not Found",
        "200 OK",
    ]
    assert entries[1]["response"]["outcome"]["issue"][0]["expression"] == [
        "Bundle.entry[1].resource.bogus"
    ]
    assert entries[3]["resource"]["type"] == "searchset"
    assert len(client.get("/fhir/Patient/_history").json()["entry"]) == 1


def test_bad_bundles(client: TestClient) -> None:
    assert client.post("/fhir", json={"resourceType": "Patient"}).status_code == 400
    assert client.post("/fhir", json=_transaction(type_="collection")).status_code == 400
    no_request = _transaction({"resource": {"resourceType": "Patient"}})
    assert client.post("/fhir", json=no_request).status_code == 400
    assert "entry" not in client.post("/fhir", json=_transaction()).json()


def test_entry_limit(database_url: str) -> None:
    from ember.api.app import create_app
    from ember.config import Settings

    with TestClient(create_app(Settings(database_url=database_url, max_bundle_entries=2))) as c:
        bundle = _transaction(
            *[_post(f"urn:uuid:{n}", {"resourceType": "Patient"}) for n in range(3)]
        )
        response = c.post("/fhir", json=bundle)
        assert response.status_code == 413
        assert "limit is 2" in response.json()["issue"][0]["diagnostics"]


def test_large_transaction_goes_through_in_one_request(client: TestClient) -> None:
    entries = []
    for n in range(300):
        patient_url = f"urn:uuid:00000000-0000-0000-0000-{n:012d}"
        entries.append(_post(patient_url, {"resourceType": "Patient"}))
        entries += [_post(f"urn:uuid:{n}-{k}", _observation(patient_url)) for k in range(6)]
    response = client.post("/fhir", json=_transaction(*entries))
    assert response.status_code == 200
    assert len(response.json()["entry"]) == 2100
    assert client.get("/fhir/_history?_total=accurate&_count=1").json()["total"] == 2100


def test_conditional_reads_in_a_batch(client: TestClient) -> None:
    stored = client.put("/fhir/Patient/c", json={"resourceType": "Patient", "id": "c"}).json()
    bundle = _transaction(
        {"request": {"method": "GET", "url": "Patient/c", "ifNoneMatch": 'W/"1"'}},
        {"request": {"method": "GET", "url": "Patient/c", "ifNoneMatch": 'W/"0"'}},
        {
            "request": {
                "method": "GET",
                "url": "Patient/c",
                "ifModifiedSince": stored["meta"]["lastUpdated"],
            }
        },
        {
            "request": {
                "method": "GET",
                "url": "Patient/c",
                "ifModifiedSince": "2001-01-01T00:00:00Z",
            }
        },
        type_="batch",
    )
    entries = client.post("/fhir", json=bundle).json()["entry"]
    assert [e["response"]["status"] for e in entries] == [
        "304 Not Modified",
        "200 OK",
        "304 Not Modified",
        "200 OK",
    ]
    assert "resource" not in entries[0] and entries[1]["resource"]["id"] == "c"


def test_the_bundle_itself_is_checked_structurally(client: TestClient) -> None:
    bundle = _transaction(
        {
            "request": {"method": "POST", "url": "Patient", "ifNoneExist": 5},
            "resource": {"resourceType": "Patient"},
        },
        type_="batch",
    )
    response = client.post("/fhir", json=bundle)
    assert response.status_code == 400
    assert response.json()["issue"][0]["expression"] == ["Bundle.entry[0].request.ifNoneExist"]
