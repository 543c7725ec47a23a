"""PATCH with JSON Patch: versioned like an update, validated, If-Match honoured."""

from __future__ import annotations

import orjson
from starlette.testclient import TestClient

JSON_PATCH = {"content-type": "application/json-patch+json"}


def _patch(client: TestClient, url: str, operations: list, **headers: str):  # type: ignore[no-untyped-def]
    return client.patch(url, content=orjson.dumps(operations), headers={**JSON_PATCH, **headers})


def _patient(client: TestClient) -> None:
    body = {
        "resourceType": "Patient",
        "id": "pp",
        "active": True,
        "identifier": [{"system": "urn:s", "value": "1"}],
        "name": [{"family": "Doe", "given": ["Jo"]}],
    }
    assert client.put("/fhir/Patient/pp", json=body).status_code == 201


def test_json_patch_updates_and_versions(client: TestClient) -> None:
    _patient(client)
    response = _patch(
        client,
        "/fhir/Patient/pp",
        [
            {"op": "replace", "path": "/active", "value": False},
            {"op": "add", "path": "/name/0/given/-", "value": "Ann"},
            {"op": "test", "path": "/name/0/family", "value": "Doe"},
        ],
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["active"] is False and body["name"][0]["given"] == ["Jo", "Ann"]
    assert body["meta"]["versionId"] == "2"
    assert response.headers["etag"] == 'W/"2"'
    history = client.get("/fhir/Patient/pp/_history").json()
    assert history["entry"][0]["request"]["method"] == "PATCH"


def test_failed_patches_store_nothing(client: TestClient) -> None:
    _patient(client)
    failed_test = _patch(
        client, "/fhir/Patient/pp", [{"op": "test", "path": "/active", "value": False}]
    )
    assert failed_test.status_code == 422
    assert "operation 0" in failed_test.json()["issue"][0]["diagnostics"]
    invalid_result = _patch(client, "/fhir/Patient/pp", [{"op": "add", "path": "/foo", "value": 1}])
    assert invalid_result.status_code == 400
    assert invalid_result.json()["issue"][0]["expression"] == ["Patient.foo"]
    id_change = _patch(
        client, "/fhir/Patient/pp", [{"op": "replace", "path": "/id", "value": "other"}]
    )
    assert id_change.status_code == 400
    malformed = client.patch("/fhir/Patient/pp", content=b"{", headers=JSON_PATCH)
    assert malformed.status_code == 400
    stale = _patch(client, "/fhir/Patient/pp", [], **{"If-Match": 'W/"9"'})
    assert stale.status_code == 412
    assert client.get("/fhir/Patient/pp").json()["meta"]["versionId"] == "1"


def test_patch_targets(client: TestClient) -> None:
    assert _patch(client, "/fhir/Patient/none", []).status_code == 404
    _patient(client)
    client.delete("/fhir/Patient/pp")
    assert _patch(client, "/fhir/Patient/pp", []).status_code == 410
    unsupported = client.patch(
        "/fhir/Patient/pp", content=b"<x/>", headers={"content-type": "application/xml-patch+xml"}
    )
    assert unsupported.status_code == 415


def test_conditional_patch(client: TestClient) -> None:
    _patient(client)
    ok = _patch(
        client,
        "/fhir/Patient?identifier=urn:s|1",
        [{"op": "replace", "path": "/active", "value": False}],
    )
    assert ok.status_code == 200 and ok.json()["id"] == "pp"
    assert _patch(client, "/fhir/Patient?identifier=urn:s|2", []).status_code == 404
    client.post(
        "/fhir/Patient",
        json={"resourceType": "Patient", "identifier": [{"system": "urn:s", "value": "1"}]},
    )
    assert _patch(client, "/fhir/Patient?identifier=urn:s|1", []).status_code == 412


def _fhirpath_patch(*operations: list[tuple[str, dict]]) -> dict:
    return {
        "resourceType": "Parameters",
        "parameter": [
            {"name": "operation", "part": [{"name": name, **value} for name, value in operation]}
            for operation in operations
        ],
    }


def test_fhirpath_patch(client: TestClient) -> None:
    _patient(client)
    body = _fhirpath_patch(
        [
            ("type", {"valueCode": "replace"}),
            ("path", {"valueString": "Patient.active"}),
            ("value", {"valueBoolean": False}),
        ],
        [
            ("type", {"valueCode": "add"}),
            ("path", {"valueString": "Patient"}),
            ("name", {"valueString": "birthDate"}),
            ("value", {"valueDate": "1990-01-01"}),
        ],
        [("type", {"valueCode": "delete"}), ("path", {"valueString": "Patient.name[0].given[0]"})],
    )
    response = client.patch(
        "/fhir/Patient/pp", json=body, headers={"content-type": "application/fhir+json"}
    )
    assert response.status_code == 200, response.text
    patched = response.json()
    assert patched["active"] is False and patched["birthDate"] == "1990-01-01"
    assert patched["name"] == [{"family": "Doe"}]
    failing = _fhirpath_patch(
        [
            ("type", {"valueCode": "replace"}),
            ("path", {"valueString": "Patient.gender"}),
            ("value", {"valueCode": "male"}),
        ]
    )
    response = client.patch(
        "/fhir/Patient/pp", json=failing, headers={"content-type": "application/fhir+json"}
    )
    assert response.status_code == 422
    assert "operation 0" in response.json()["issue"][0]["diagnostics"]
