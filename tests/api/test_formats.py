"""Every interaction in JSON and XML (and Turtle out), chosen by Accept, _format and
Content-Type, with 406 and 415 as formats.html and http.html specify."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from ember.fhir.formats import json as fhir_json
from ember.fhir.formats import xml as fhir_xml
from tests.fhir.formats.conversions import as_written
from tests.shared import shared_testdata

FHIR_JSON = "application/fhir+json"
FHIR_XML = "application/fhir+xml"
XML_HEADERS = {"content-type": FHIR_XML, "accept": FHIR_XML}


def example(name: str) -> dict[str, Any]:
    return fhir_json.parse(shared_testdata("examples", "r4", f"{name}.json").read_bytes())


def read_xml(response: Any) -> dict[str, Any]:
    assert response.headers["content-type"].startswith(FHIR_XML), response.text
    return fhir_xml.parse(response.content)


@pytest.mark.parametrize(
    "name",
    ["Patient-example", "Observation-decimal", "Questionnaire-f201", "Bundle-bundle-example"],
)
def test_an_example_posted_as_xml_reads_back_as_the_json_example(
    client: TestClient, name: str
) -> None:
    original = example(name)
    created = client.post(
        f"/fhir/{original['resourceType']}",
        content=fhir_xml.dumps(original),
        headers={"content-type": FHIR_XML},
    )
    assert created.status_code == 201, created.text
    stored = fhir_json.parse(client.get(created.headers["location"]).content)
    meta = stored["meta"]
    assert meta["versionId"] == "1" and meta["lastUpdated"]
    expected = {**original, "id": stored["id"]}
    server_meta = {"versionId": meta["versionId"], "lastUpdated": meta["lastUpdated"]}
    expected["meta"] = {**original.get("meta", {}), **server_meta}
    assert as_written(stored) == as_written(expected)


def test_json_read_stays_the_stored_bytes_and_xml_is_made_from_them(client: TestClient) -> None:
    body = b'{"resourceType":"Observation","id":"o1","status":"final","code":{"text":"w"},'
    body += b'"valueQuantity":{"value":72.50,"unit":"kg"}}'
    client.put("/fhir/Observation/o1", content=body, headers={"content-type": FHIR_JSON})
    as_json = client.get("/fhir/Observation/o1")
    assert b'"value":72.50' in as_json.content
    as_xml = client.get("/fhir/Observation/o1", headers={"accept": FHIR_XML})
    assert b'<valueQuantity><value value="72.50"/>' in as_xml.content
    assert as_written(read_xml(as_xml)) == as_written(fhir_json.parse(as_json.content))
    assert as_xml.headers["etag"] == as_json.headers["etag"]


@pytest.mark.parametrize(
    ("query", "accept", "expected"),
    [
        ("_format=xml", None, FHIR_XML),
        ("_format=text/xml", None, FHIR_XML),
        ("_format=application/xml", None, FHIR_XML),
        ("_format=application/fhir%2Bxml", None, FHIR_XML),
        ("", "application/fhir+xml", FHIR_XML),
        ("", "application/xml", "application/xml"),
        ("", "text/xml", "text/xml"),
        ("", "application/json", "application/json"),
        ("", "text/json", "text/json"),
        ("", "*/*", FHIR_JSON),
        ("", "text/html, application/fhir+xml;q=0.9, application/json;q=0.5", FHIR_XML),
        ("_format=json", "application/fhir+xml", FHIR_JSON),
        ("_format=ttl", None, "application/fhir+turtle"),
        ("_format=text/turtle", None, "application/fhir+turtle"),
        ("", "text/turtle", "application/fhir+turtle"),
    ],
)
def test_the_response_format_follows_format_and_accept(
    client: TestClient, query: str, accept: str | None, expected: str
) -> None:
    client.put("/fhir/Patient/f1", json={"resourceType": "Patient", "id": "f1", "active": True})
    headers = {"accept": accept} if accept else {}
    response = client.get(f"/fhir/Patient/f1?{query}", headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(expected)


def test_search_history_and_pretty_in_xml(client: TestClient) -> None:
    for n in range(2):
        client.put(f"/fhir/Patient/s{n}", json={"resourceType": "Patient", "id": f"s{n}"})
    searchset = read_xml(client.get("/fhir/Patient?_format=xml"))
    assert searchset["type"] == "searchset"
    assert {e["resource"]["id"] for e in searchset["entry"]} == {"s0", "s1"}
    history = read_xml(client.get("/fhir/Patient/s0/_history", headers={"accept": FHIR_XML}))
    assert history["type"] == "history"
    assert history["entry"][0]["resource"]["id"] == "s0"
    pretty = client.get("/fhir/Patient/s0?_format=xml&_pretty=true")
    assert b"\n  <id value=" in pretty.content


def test_write_answers_and_errors_come_in_the_asked_format(client: TestClient) -> None:
    patient = fhir_xml.dumps({"resourceType": "Patient", "id": "w1", "active": True})
    created = client.put("/fhir/Patient/w1", content=patient, headers=XML_HEADERS)
    assert created.status_code == 201
    assert read_xml(created)["active"] is True
    missing = client.get("/fhir/Patient/nope", headers={"accept": FHIR_XML})
    assert missing.status_code == 404
    assert read_xml(missing)["resourceType"] == "OperationOutcome"
    invalid = fhir_xml.dumps({"resourceType": "Observation"})  # no status, no code
    refused = client.post("/fhir/Observation", content=invalid, headers=XML_HEADERS)
    assert refused.status_code in (400, 422)
    assert read_xml(refused)["resourceType"] == "OperationOutcome"


def test_a_transaction_posted_in_xml_is_answered_in_xml(client: TestClient) -> None:
    transaction = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": "urn:uuid:0b8a5f5e-2b1c-4a5e-9a43-2f4c6a1d7e01",
                "resource": {"resourceType": "Patient", "active": True},
                "request": {"method": "POST", "url": "Patient"},
            }
        ],
    }
    response = client.post("/fhir", content=fhir_xml.dumps(transaction), headers=XML_HEADERS)
    assert response.status_code == 200, response.text
    answer = read_xml(response)
    assert answer["type"] == "transaction-response"
    assert answer["entry"][0]["response"]["status"].startswith("201")


def test_capability_statement_lists_exactly_the_formats(client: TestClient) -> None:
    statement = read_xml(client.get("/fhir/metadata", headers={"accept": FHIR_XML}))
    assert statement["format"] == [
        "application/fhir+json",
        "json",
        "application/fhir+xml",
        "xml",
        "application/fhir+turtle",
        "ttl",
    ]
    turtle = client.get("/fhir/metadata?_format=ttl")
    assert turtle.status_code == 200
    assert b"a fhir:CapabilityStatement" in turtle.content


def test_unsupported_formats_are_406_and_415(client: TestClient) -> None:
    client.put("/fhir/Patient/u1", json={"resourceType": "Patient", "id": "u1"})
    assert client.get("/fhir/Patient/u1", headers={"accept": "text/csv"}).status_code == 406
    assert client.get("/fhir/Patient/u1?_format=yaml").status_code == 406
    unsupported = client.put(
        "/fhir/Patient/u1", content=b"id: u1", headers={"content-type": "application/yaml"}
    )
    assert unsupported.status_code == 415


@pytest.mark.parametrize(
    "body",
    [
        b'<?xml version="1.0"?><!DOCTYPE Patient [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b'<Patient xmlns="http://hl7.org/fhir"><name><text value="&x;"/></name></Patient>',
        b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
        b'<Patient xmlns="http://hl7.org/fhir"><name><text value="&b;"/></name></Patient>',
        b'<Patient xmlns="http://hl7.org/fhir"><nickname value="x"/></Patient>',
        b"<Patient",
    ],
)
def test_bad_xml_is_a_400_operation_outcome(client: TestClient, body: bytes) -> None:
    response = client.post("/fhir/Patient", content=body, headers=XML_HEADERS)
    assert response.status_code == 400
    outcome = read_xml(response)
    assert outcome["resourceType"] == "OperationOutcome"
    assert outcome["issue"][0]["diagnostics"].startswith("The body is not valid xml")
