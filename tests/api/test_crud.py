"""create, read, vread, update, delete over HTTP, with their headers and errors."""

from __future__ import annotations

from starlette.testclient import TestClient

FHIR_JSON = "application/fhir+json"


def patient(**extra: object) -> dict:
    return {"resourceType": "Patient", "active": True, "name": [{"family": "Chalmers"}], **extra}


def test_create_assigns_id_and_meta_and_answers_201(client: TestClient) -> None:
    response = client.post("/fhir/Patient", json=patient(id="ignored"))
    assert response.status_code == 201
    body = response.json()
    assert body["id"] != "ignored"
    assert body["meta"]["versionId"] == "1"
    assert body["meta"]["lastUpdated"].endswith("Z")
    assert response.headers["etag"] == 'W/"1"'
    assert response.headers["location"].endswith(f"/fhir/Patient/{body['id']}/_history/1")
    assert response.headers["content-type"].startswith(FHIR_JSON)
    assert "last-modified" in response.headers


def test_read_returns_what_was_stored(client: TestClient) -> None:
    created = client.post("/fhir/Patient", json=patient()).json()
    response = client.get(f"/fhir/Patient/{created['id']}")
    assert response.status_code == 200
    assert response.json() == created
    assert response.headers["etag"] == 'W/"1"'


def test_key_order_and_decimal_precision_survive(client: TestClient) -> None:
    body = (
        b'{"resourceType":"Observation","status":"final","code":{"text":"w"},'
        b'"valueQuantity":{"value":72.50,"unit":"kg"},"id":"o1"}'
    )
    response = client.put("/fhir/Observation/o1", content=body, headers={"content-type": FHIR_JSON})
    assert response.status_code == 201, response.text
    read = client.get("/fhir/Observation/o1").content
    assert b'"value":72.50' in read
    assert read.index(b'"status"') < read.index(b'"code"') < read.index(b'"valueQuantity"')


def test_update_creates_then_updates_with_versions(client: TestClient) -> None:
    first = client.put("/fhir/Patient/p1", json=patient(id="p1"))
    assert first.status_code == 201
    assert first.headers["location"].endswith("/fhir/Patient/p1/_history/1")
    second = client.put("/fhir/Patient/p1", json=patient(id="p1", active=False))
    assert second.status_code == 200
    assert second.json()["meta"]["versionId"] == "2"
    assert client.get("/fhir/Patient/p1/_history/1").json()["active"] is True
    assert client.get("/fhir/Patient/p1/_history/2").json()["active"] is False
    assert client.get("/fhir/Patient/p1/_history/3").status_code == 404


def test_update_ignores_client_meta_version_but_keeps_other_meta(client: TestClient) -> None:
    meta = {
        "versionId": "99",
        "lastUpdated": "2001-01-01T00:00:00Z",
        "tag": [{"system": "http://example.org", "code": "t"}],
    }
    body = client.put("/fhir/Patient/p2", json=patient(id="p2", meta=meta)).json()
    assert body["meta"]["versionId"] == "1"
    assert body["meta"]["lastUpdated"] != "2001-01-01T00:00:00Z"
    assert body["meta"]["tag"] == meta["tag"]


def test_update_id_rules(client: TestClient) -> None:
    missing = client.put("/fhir/Patient/p3", json=patient())
    assert missing.status_code == 400
    assert missing.json()["issue"][0]["expression"] == ["Patient.id"]
    mismatch = client.put("/fhir/Patient/p3", json=patient(id="other"))
    assert mismatch.status_code == 400
    assert client.get("/fhir/Patient/p3").status_code == 404


def test_if_match(client: TestClient) -> None:
    client.put("/fhir/Patient/p4", json=patient(id="p4"))
    stale = client.put("/fhir/Patient/p4", json=patient(id="p4"), headers={"If-Match": 'W/"7"'})
    assert stale.status_code == 412
    assert stale.json()["resourceType"] == "OperationOutcome"
    ok = client.put("/fhir/Patient/p4", json=patient(id="p4"), headers={"If-Match": 'W/"1"'})
    assert ok.status_code == 200
    bad = client.put("/fhir/Patient/p4", json=patient(id="p4"), headers={"If-Match": "nonsense"})
    assert bad.status_code == 400
    delete_stale = client.delete("/fhir/Patient/p4", headers={"If-Match": 'W/"1"'})
    assert delete_stale.status_code == 412
    assert client.get("/fhir/Patient/p4").status_code == 200


def test_delete_then_gone_and_history_kept(client: TestClient) -> None:
    client.put("/fhir/Patient/p5", json=patient(id="p5"))
    deleted = client.delete("/fhir/Patient/p5")
    assert deleted.status_code == 204
    assert deleted.headers["etag"] == 'W/"2"'
    gone = client.get("/fhir/Patient/p5")
    assert gone.status_code == 410
    assert gone.json()["issue"][0]["code"] == "deleted"
    assert client.get("/fhir/Patient/p5/_history/1").status_code == 200
    assert client.get("/fhir/Patient/p5/_history/2").status_code == 410
    again = client.delete("/fhir/Patient/p5")
    assert again.status_code == 204
    assert client.delete("/fhir/Patient/never").status_code == 204
    revived = client.put("/fhir/Patient/p5", json=patient(id="p5"))
    assert revived.status_code == 201
    assert revived.json()["meta"]["versionId"] == "3"


def test_delete_with_outcome_preference(client: TestClient) -> None:
    client.put("/fhir/Patient/p6", json=patient(id="p6"))
    response = client.delete("/fhir/Patient/p6", headers={"Prefer": "return=OperationOutcome"})
    assert response.status_code == 200
    assert response.json()["issue"][0]["severity"] == "information"


def test_prefer_return(client: TestClient) -> None:
    minimal = client.post("/fhir/Patient", json=patient(), headers={"Prefer": "return=minimal"})
    assert minimal.status_code == 201
    assert minimal.content == b""
    assert minimal.headers["location"]
    outcome = client.post(
        "/fhir/Patient", json=patient(), headers={"Prefer": "return=OperationOutcome"}
    )
    assert outcome.json()["resourceType"] == "OperationOutcome"


def test_conditional_read_headers(client: TestClient) -> None:
    created = client.put("/fhir/Patient/p7", json=patient(id="p7"))
    assert client.get("/fhir/Patient/p7", headers={"If-None-Match": 'W/"1"'}).status_code == 304
    assert client.get("/fhir/Patient/p7", headers={"If-None-Match": 'W/"0"'}).status_code == 200
    modified = created.headers["last-modified"]
    assert (
        client.get("/fhir/Patient/p7", headers={"If-Modified-Since": modified}).status_code == 304
    )
    old = "Mon, 01 Jan 2001 00:00:00 GMT"
    assert client.get("/fhir/Patient/p7", headers={"If-Modified-Since": old}).status_code == 200


def test_pretty(client: TestClient) -> None:
    client.put("/fhir/Patient/p8", json=patient(id="p8"))
    pretty = client.get("/fhir/Patient/p8?_pretty=true").text
    assert "\n  " in pretty
    assert "\n" not in client.get("/fhir/Patient/p8").text


def test_summary_and_elements_mark_subsetted(client: TestClient) -> None:
    text = {"status": "generated", "div": '<div xmlns="http://www.w3.org/1999/xhtml">x</div>'}
    client.put(
        "/fhir/Patient/p9",
        json=patient(id="p9", text=text, gender="male", maritalStatus={"text": "M"}),
    )
    summary = client.get("/fhir/Patient/p9?_summary=true").json()
    assert "text" not in summary and "maritalStatus" not in summary
    assert summary["gender"] == "male"
    assert {
        "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue",
        "code": "SUBSETTED",
    } in summary["meta"]["tag"]
    text_only = client.get("/fhir/Patient/p9?_summary=text").json()
    assert set(text_only) == {"resourceType", "id", "meta", "text"}
    data = client.get("/fhir/Patient/p9?_summary=data").json()
    assert "text" not in data and "maritalStatus" in data
    elements = client.get("/fhir/Patient/p9?_elements=gender").json()
    assert set(elements) == {"resourceType", "id", "meta", "gender"}
    assert client.get("/fhir/Patient/p9?_summary=bogus").status_code == 400


def test_subsetted_resource_is_refused(client: TestClient) -> None:
    client.put("/fhir/Patient/p10", json=patient(id="p10"))
    subset = client.get("/fhir/Patient/p10?_summary=true").json()
    response = client.put("/fhir/Patient/p10", json=subset)
    assert response.status_code == 422
    assert client.get("/fhir/Patient/p10").json()["meta"]["versionId"] == "1"
