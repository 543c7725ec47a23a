"""Bad requests get an OperationOutcome with the right status, and nothing is stored."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from ember.api.app import create_app
from ember.config import Settings
from ember.store import sqlite as sqlite_store

FHIR_JSON = "application/fhir+json"


def _outcome(response, status: int) -> dict:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.text
    body = response.json()
    assert body["resourceType"] == "OperationOutcome"
    assert body["issue"]
    return body


def _nothing_stored(client: TestClient) -> None:
    history = client.get("/fhir/_history").json()
    assert "entry" not in history


def test_unknown_type_and_ids(client: TestClient) -> None:
    _outcome(client.get("/fhir/Patients/1"), 404)
    _outcome(client.get("/fhir/Patient/unknown"), 404)
    _outcome(client.get("/fhir/Patient/bad$id"), 400)
    _outcome(client.get("/fhir/Patient/" + "x" * 65), 400)
    _outcome(client.get("/fhir/Patient/1/_history/abc"), 400)
    _outcome(client.get("/fhir/Patient/1/2/3/4/5"), 404)


def test_method_not_allowed(client: TestClient) -> None:
    response = client.post("/fhir/Patient/1", json={"resourceType": "Patient"})
    body = _outcome(response, 405)
    assert "PUT" in response.headers["allow"]
    assert body["issue"][0]["code"] == "not-supported"


@pytest.mark.parametrize(
    ("body", "expression"),
    [
        ({"resourceType": "Patient", "foo": 1}, "Patient.foo"),
        ({"resourceType": "Patient", "active": "yes"}, "Patient.active"),
        ({"resourceType": "Patient", "birthDate": "1970-13-01"}, "Patient.birthDate"),
        ({"resourceType": "Patient", "gender": ["male"]}, "Patient.gender"),
        ({"resourceType": "Observation", "code": {"text": "x"}}, "Observation.status"),
    ],
)
def test_structural_errors_name_the_element(
    client: TestClient, body: dict, expression: str
) -> None:
    type_ = body["resourceType"]
    outcome = _outcome(client.post(f"/fhir/{type_}", json=body), 400)
    expressions = [e for issue in outcome["issue"] for e in issue.get("expression", [])]
    assert expression in expressions
    _nothing_stored(client)


def test_resource_type_mismatch(client: TestClient) -> None:
    outcome = _outcome(client.post("/fhir/Patient", json={"resourceType": "Observation"}), 400)
    assert outcome["issue"][0]["expression"] == ["resourceType"]
    _nothing_stored(client)


@pytest.mark.parametrize(
    "content",
    [
        b"{",
        b"",
        b"[]",
        b'"x"',
        b'{"resourceType":"Patient","active":true,"active":1}',
        b"\xff\xfe",
        b'{"resourceType":"Patient","x":NaN}',
    ],
)
def test_invalid_json(client: TestClient, content: bytes) -> None:
    _outcome(
        client.post("/fhir/Patient", content=content, headers={"content-type": FHIR_JSON}), 400
    )
    _nothing_stored(client)


def test_deep_nesting_is_refused(client: TestClient) -> None:
    nested = "[" * 5000 + "]" * 5000
    content = b'{"resourceType":"Patient","extension":' + nested.encode() + b"}"
    _outcome(
        client.post("/fhir/Patient", content=content, headers={"content-type": FHIR_JSON}), 400
    )


def test_body_too_large(database_url: str) -> None:
    settings = Settings(database_url=database_url, max_body_bytes=100)
    with TestClient(create_app(settings)) as client:
        body = {"resourceType": "Patient", "name": [{"text": "x" * 200}]}
        _outcome(client.post("/fhir/Patient", json=body), 413)


def test_content_negotiation(client: TestClient) -> None:
    client.put("/fhir/Patient/n1", json={"resourceType": "Patient", "id": "n1"})
    for accept in (
        "application/fhir+json",
        "application/json",
        "*/*",
        "application/fhir+json; fhirVersion=4.0",
        "text/html, application/json;q=0.5",
    ):
        assert client.get("/fhir/Patient/n1", headers={"Accept": accept}).status_code == 200
    _outcome(client.get("/fhir/Patient/n1", headers={"Accept": "text/html"}), 406)
    _outcome(
        client.get(
            "/fhir/Patient/n1", headers={"Accept": "application/fhir+json; fhirVersion=3.0"}
        ),
        406,
    )
    _outcome(client.get("/fhir/Patient/n1?_format=text/csv"), 406)
    assert client.get("/fhir/Patient/n1?_format=json").status_code == 200
    unsupported = client.put(
        "/fhir/Patient/n1", content=b"id,name", headers={"content-type": "text/csv"}
    )
    _outcome(unsupported, 415)
    # A Content-Type on a bodiless request is ignored.
    assert client.get("/fhir/Patient/n1", headers={"content-type": "text/csv"}).status_code == 200


def test_version_aware_updates_required(database_url: str) -> None:
    settings = Settings(database_url=database_url, require_if_match=True)
    with TestClient(create_app(settings)) as client:
        body = {"resourceType": "Patient", "id": "v1"}
        assert client.put("/fhir/Patient/v1", json=body).status_code == 201
        _outcome(client.put("/fhir/Patient/v1", json=body), 400)
        ok = client.put("/fhir/Patient/v1", json=body, headers={"If-Match": 'W/"1"'})
        assert ok.status_code == 200


def test_update_create_can_be_disabled(database_url: str) -> None:
    settings = Settings(database_url=database_url, allow_update_create=False)
    with TestClient(create_app(settings)) as client:
        _outcome(client.put("/fhir/Patient/u1", json={"resourceType": "Patient", "id": "u1"}), 405)


def test_unexpected_errors_are_outcomes_without_internals(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ember.engine.interactions import Engine

    def explode(*args: object) -> None:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(Engine, "read_async", explode)
    response = client.get("/fhir/Patient/x")
    outcome = _outcome(response, 500)
    assert "secret" not in response.text
    assert outcome["issue"][0]["code"] == "exception"


def test_a_database_locked_too_long_is_503_with_retry_after(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_store, "_WAIT_SECONDS", 0.2)
    url = f"sqlite:///{tmp_path}/ember.db"
    with TestClient(create_app(Settings(database_url=url))) as client:
        other = sqlite3.connect(tmp_path / "ember.db", isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # another program holds the write lock
        try:
            response = client.post("/fhir/Patient", json={"resourceType": "Patient"})
            outcome = _outcome(response, 503)
            assert outcome["issue"][0]["code"] == "lock-error"
            assert response.headers["Retry-After"] == "1"
        finally:
            other.rollback()
            other.close()
        assert client.get("/fhir/Patient?_summary=count").json()["total"] == 0
