"""$validate over HTTP (resource-operations.html#validate), and operation routing."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

from tests import profiling as profiles

DIV = '<div xmlns="http://www.w3.org/1999/xhtml"><p>Hi</p></div>'
PATIENT = {"resourceType": "Patient", "id": "p1", "text": {"status": "generated", "div": DIV}}


def _issues(response: Any, status: int = 200) -> list[tuple[str, str, list[str] | None]]:
    assert response.status_code == status, response.text
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    return [(i["severity"], i["code"], i.get("expression")) for i in outcome["issue"]]


def _parameters(resource: dict[str, Any], **values: str) -> dict[str, Any]:
    parameter: list[dict[str, Any]] = [{"name": "resource", "resource": resource}]
    for name, value in values.items():
        key = "valueUri" if name == "profile" else "valueCode"
        parameter.append({"name": name, key: value})
    return {"resourceType": "Parameters", "parameter": parameter}


ALL_OK = [("information", "informational", None)]


def test_a_valid_resource_is_all_ok(client: TestClient) -> None:
    assert _issues(client.post("/fhir/Patient/$validate", json=PATIENT)) == ALL_OK


def test_problems_are_reported_not_refused(client: TestClient) -> None:
    bad = {**PATIENT, "gender": "unknownish", "colour": "red"}
    assert _issues(client.post("/fhir/Patient/$validate", json=bad)) == [
        ("error", "structure", ["Patient.colour"])
    ]
    rules = {**PATIENT, "gender": "unknownish"}
    assert _issues(client.post("/fhir/Patient/$validate", json=rules)) == [
        ("error", "code-invalid", ["Patient.gender"])
    ]
    no_text = {"resourceType": "Patient"}
    assert _issues(client.post("/fhir/Patient/$validate", json=no_text)) == [
        ("warning", "invariant", ["Patient"])
    ]


def test_a_parameters_body_with_mode_and_profile(client: TestClient) -> None:
    body = _parameters(PATIENT, mode="create")
    assert _issues(client.post("/fhir/Patient/$validate", json=body)) == ALL_OK
    base = "http://hl7.org/fhir/StructureDefinition/Patient"
    body = _parameters(PATIENT, profile=base)
    assert _issues(client.post("/fhir/Patient/$validate", json=body)) == ALL_OK
    body = _parameters(PATIENT, profile="http://example.org/unknown")
    assert _issues(client.post("/fhir/Patient/$validate", json=body)) == [
        ("error", "not-supported", ["Patient"])
    ]


def test_update_mode_needs_the_urls_id(client: TestClient) -> None:
    body = _parameters(PATIENT, mode="update")
    assert _issues(client.post("/fhir/Patient/p1/$validate", json=body)) == ALL_OK
    assert _issues(client.post("/fhir/Patient/p2/$validate", json=body)) == [
        ("error", "invalid", ["Patient.id"])
    ]
    body = _parameters({"resourceType": "Patient"}, mode="update")
    assert _issues(client.post("/fhir/Patient/$validate", json=body))[0][1] == "required"


def test_the_resource_type_must_match(client: TestClient) -> None:
    observation = {"resourceType": "Observation"}
    assert _issues(client.post("/fhir/Patient/$validate", json=observation)) == [
        ("error", "invalid", ["resourceType"])
    ]


def test_an_instance_is_validated_as_stored_and_for_deletion(client: TestClient) -> None:
    assert client.put("/fhir/Patient/p1", json=PATIENT).status_code == 201
    assert _issues(client.get("/fhir/Patient/p1/$validate")) == ALL_OK
    assert _issues(client.post("/fhir/Patient/p1/$validate")) == ALL_OK
    assert _issues(client.get("/fhir/Patient/p1/$validate?mode=delete")) == ALL_OK
    assert _issues(client.get("/fhir/Patient/nope/$validate?mode=delete"), 404)[0][1] == (
        "not-found"
    )
    assert _issues(client.get("/fhir/Patient/p1/$validate?mode=fix"), 400)


def test_unknown_operations_and_levels_are_404(client: TestClient) -> None:
    assert _issues(client.get("/fhir/Patient/$nothing"), 404) == [("error", "not-supported", None)]
    assert _issues(client.post("/fhir/$validate", json=PATIENT), 404)
    assert _issues(client.get("/fhir/$nothing"), 404)
    assert _issues(client.get("/fhir/Nothing/$validate"), 404)
    assert _issues(client.delete("/fhir/Patient/$validate"), 405)


def test_a_profile_stored_through_the_api_is_used(client: TestClient) -> None:
    url = "http://example.org/fhir/StructureDefinition/dated-patient"
    profile = profiles.profile(
        "dated-patient",
        url,
        "Patient",
        [profiles.element("Patient.birthDate", min=1)],
        text={"status": "generated", "div": DIV},
    )
    created = client.put("/fhir/StructureDefinition/dated-patient", json=profile)
    assert created.status_code == 201, created.text
    claiming = {**PATIENT, "meta": {"profile": [url]}}
    assert _issues(client.post("/fhir/Patient/$validate", json=claiming)) == [
        ("error", "structure", ["Patient"])
    ]
    dated = {**claiming, "birthDate": "2000-01-01"}
    assert _issues(client.post("/fhir/Patient/$validate", json=dated)) == ALL_OK


def test_malformed_parameters_body_is_400(client: TestClient) -> None:
    body = {"resourceType": "Parameters", "parameter": [{"name": "profile", "valueUri": 5}]}
    response = client.post("/fhir/Patient/$validate", json=body)
    assert response.status_code == 400
    assert response.json()["issue"][0]["expression"] == ["Parameters.parameter[0].valueUri"]


def test_validate_is_advertised_with_a_readable_definition(client: TestClient) -> None:
    statement = client.get("/fhir/metadata").json()
    patient = next(r for r in statement["rest"][0]["resource"] if r["type"] == "Patient")
    [validate] = [o for o in patient["operation"] if o["name"] == "validate"]
    assert validate["definition"] == "http://hl7.org/fhir/OperationDefinition/Resource-validate"
    response = client.get("/fhir/OperationDefinition/Resource-validate")
    assert response.status_code == 200
    definition = response.json()
    assert (definition["url"], definition["code"]) == (validate["definition"], "validate")
    # only the definitions of operations Ember serves
    assert client.get("/fhir/OperationDefinition/Patient-everything").status_code == 404


def test_parameters_given_twice_or_empty_are_400(client: TestClient) -> None:
    twice = {
        "resourceType": "Parameters",
        "parameter": [
            {"name": "mode", "valueCode": "create"},
            {"name": "mode", "valueCode": "update"},
            {"name": "resource", "resource": PATIENT},
        ],
    }
    response = client.post("/fhir/Patient/$validate", json=twice)
    assert response.status_code == 400
    assert response.json()["issue"][0]["expression"] == ["mode"]
    for query in ("profile=", "profile=http://a&profile=http://b"):
        response = client.post(f"/fhir/Patient/$validate?{query}", json=PATIENT)
        assert response.status_code == 400, query
        assert response.json()["issue"][0]["expression"] == ["profile"]


def test_embers_own_operations_have_readable_valid_definitions(client: TestClient) -> None:
    statement = client.get("/fhir/metadata").json()
    [reindex] = [o for o in statement["rest"][0]["operation"] if o["name"] == "reindex"]
    response = client.get("/fhir/OperationDefinition/reindex")
    assert response.status_code == 200
    definition = response.json()
    assert (definition["url"], definition["code"]) == (reindex["definition"], "reindex")
    outcome = client.post("/fhir/OperationDefinition/$validate", json=definition)
    assert [i for i in outcome.json()["issue"] if i["severity"] == "error"] == []
