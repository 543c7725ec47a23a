"""GET /metadata describes what the server really does."""

from __future__ import annotations

from starlette.testclient import TestClient


def test_capability_statement(client: TestClient) -> None:
    response = client.get("/fhir/metadata")
    assert response.status_code == 200
    statement = response.json()
    assert statement["resourceType"] == "CapabilityStatement"
    assert statement["fhirVersion"] == "4.0.1"
    assert "application/fhir+json" in statement["format"]
    resources = {r["type"]: r for r in statement["rest"][0]["resource"]}
    assert len(resources) == 146
    patient = resources["Patient"]
    assert {i["code"] for i in patient["interaction"]} >= {"read", "vread", "update", "create"}
    assert {p["name"] for p in patient["searchParam"]} >= {"_id", "identifier", "name", "birthdate"}
    assert "Binary" in resources
    observation = {p["name"]: p["type"] for p in resources["Observation"]["searchParam"]}
    assert observation["component-code-value-quantity"] == "composite"
    rest = statement["rest"][0]
    assert {i["code"] for i in rest["interaction"]} >= {"history-system", "search-system"}
    assert {p["name"] for p in rest["searchParam"]} >= {"_id", "_lastUpdated", "_tag", "_list"}
    assert "http://hl7.org/fhir/CompartmentDefinition/relatedPerson" in rest["compartment"]
    for url in rest["compartment"]:  # each one is searchable at [Compartment]/[id]/*
        code = url.rsplit("/", 1)[1]
        search = client.get(f"/fhir/{code[0].upper()}{code[1:]}/x/*")
        assert search.status_code == 200, url


def test_capability_modes(client: TestClient) -> None:
    normative = client.get("/fhir/metadata?mode=normative").json()
    types = {r["type"] for r in normative["rest"][0]["resource"]}
    assert "Patient" in types and "Encounter" not in types
    terminology = client.get("/fhir/metadata?mode=terminology").json()
    assert terminology["resourceType"] == "TerminologyCapabilities"
    assert any(
        cs["uri"] == "http://hl7.org/fhir/administrative-gender" for cs in terminology["codeSystem"]
    )
    assert client.get("/fhir/metadata?mode=bogus").status_code == 400


def test_capability_statement_states_includes(client: TestClient) -> None:
    """searchInclude / searchRevInclude (capabilitystatement.html): the _include and
    _revinclude values the server takes, each one accepted by a search."""
    statement = client.get("/fhir/metadata").json()
    resources = {r["type"]: r for r in statement["rest"][0]["resource"]}
    patient = resources["Patient"]
    assert {"*", "Patient:organization", "Patient:general-practitioner"} <= set(
        patient["searchInclude"]
    )
    assert {"*", "Observation:subject", "Condition:subject", "Encounter:patient"} <= set(
        patient["searchRevInclude"]
    )
    assert "Observation:performer" not in resources["Medication"]["searchRevInclude"]
    for value in patient["searchInclude"][:5]:
        assert client.get(f"/fhir/Patient?_include={value}").status_code == 200, value
    for value in patient["searchRevInclude"][:5]:
        assert client.get(f"/fhir/Patient?_revinclude={value}").status_code == 200, value
