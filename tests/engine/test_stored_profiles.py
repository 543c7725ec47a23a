"""Profiles stored through the API validate the resources that claim them: on write (as
the `profile_validation` setting says) and in $validate, across processes sharing a
database."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

import orjson
import pytest
from starlette.testclient import TestClient

from ember.api.app import create_app
from ember.config import Settings
from ember.engine.errors import FhirError
from ember.engine.interactions import Engine
from ember.store import open_store
from tests.profiling import element, profile

PROFILE_URL = "http://example.org/fhir/StructureDefinition/lab-observation"
# A differential only: the server generates the snapshot from Observation's
PROFILE = profile(
    "lab-observation",
    PROFILE_URL,
    "Observation",
    [
        element("Observation.subject", min=1),
        element(
            "Observation.category",
            min=1,
            patternCodeableConcept={
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                        "code": "laboratory",
                    }
                ]
            },
        ),
    ],
    version="1.0.0",
)
LAB = {
    "system": "http://terminology.hl7.org/CodeSystem/observation-category",
    "code": "laboratory",
}


def _observation(**extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "meta": {"profile": [PROFILE_URL]},
        "status": "final",
        "code": {"text": "glucose"},
        "category": [{"coding": [LAB]}],
        "subject": {"reference": "Patient/p1"},
        **extra,
    }


def _without(resource: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in resource.items() if k != key}


def _issues(response: Any) -> list[tuple[str, str]]:
    return [(i["severity"], i["code"]) for i in response.json()["issue"]]


@pytest.fixture
def settings(database_url: str) -> Settings:
    """Claimed profiles enforced (the default only warns: tests/fhir/validation/test_on_write)."""
    return Settings(database_url=database_url, profile_validation="reject")


def test_a_stored_profile_rejects_writes_that_break_it(client: TestClient) -> None:
    assert client.put("/fhir/StructureDefinition/lab-observation", json=PROFILE).status_code == 201
    assert client.post("/fhir/Observation", json=_observation()).status_code == 201
    response = client.post("/fhir/Observation", json=_without(_observation(), "subject"))
    assert response.status_code == 422, response.text
    issue = response.json()["issue"][0]
    assert issue["expression"] == ["Observation"]
    assert "Observation.subject: minimum required = 1" in issue["diagnostics"]
    vitals = _observation(category=[{"coding": [{**LAB, "code": "vital-signs"}]}])
    assert client.post("/fhir/Observation", json=vitals).status_code == 422


def test_an_updated_profile_takes_effect_at_once(client: TestClient) -> None:
    no_subject = _without(_observation(), "subject")
    relaxed = {**PROFILE, "differential": {"element": PROFILE["differential"]["element"][:1]}}
    assert client.put("/fhir/StructureDefinition/lab-observation", json=relaxed).status_code == 201
    assert client.post("/fhir/Observation", json=no_subject).status_code == 201
    assert client.put("/fhir/StructureDefinition/lab-observation", json=PROFILE).status_code == 200
    assert client.post("/fhir/Observation", json=no_subject).status_code == 422
    assert client.delete("/fhir/StructureDefinition/lab-observation").status_code == 204
    assert client.post("/fhir/Observation", json=no_subject).status_code == 201


def test_an_unknown_claimed_profile_is_a_warning_not_an_error(client: TestClient) -> None:
    claims_unknown = _observation(meta={"profile": ["http://example.org/nowhere"]})
    headers = {"Prefer": "return=OperationOutcome"}
    response = client.post("/fhir/Observation", json=claims_unknown, headers=headers)
    assert response.status_code == 201
    assert ("warning", "not-supported") in _issues(response)
    response = client.post("/fhir/Observation/$validate", json=claims_unknown)
    assert ("warning", "not-supported") in _issues(response)


def test_validate_uses_stored_profiles_claimed_or_asked_for(client: TestClient) -> None:
    client.put("/fhir/StructureDefinition/lab-observation", json=PROFILE)
    bad = _without(_observation(), "subject")
    response = client.post("/fhir/Observation/$validate", json=bad)
    assert ("error", "structure") in _issues(response)
    unclaimed = _without(bad, "meta")
    assert ("error", "structure") not in _issues(
        client.post("/fhir/Observation/$validate", json=unclaimed)
    )
    url = f"/fhir/Observation/$validate?profile={PROFILE_URL}|1.0.0"
    assert ("error", "structure") in _issues(client.post(url, json=unclaimed))
    url = f"/fhir/Observation/$validate?profile={PROFILE_URL}|2.0.0"
    assert ("error", "not-supported") in _issues(client.post(url, json=unclaimed))


def test_warn_mode_stores_and_returns_the_issues_on_request(settings: Settings) -> None:
    app = create_app(replace(settings, validation="warn", profile_validation="warn"))
    with TestClient(app) as client:
        client.put("/fhir/StructureDefinition/lab-observation", json=PROFILE)
        bad = _without(_observation(), "subject")
        response = client.post("/fhir/Observation", json=bad)
        assert response.status_code == 201
        assert response.json()["resourceType"] == "Observation"
        headers = {"Prefer": "return=OperationOutcome"}
        response = client.post("/fhir/Observation", json=bad, headers=headers)
        assert response.status_code == 201
        issues = _issues(response)
        assert issues[0] == ("information", "informational")
        assert ("error", "structure") in issues and ("warning", "invariant") in issues  # dom-6
        for kind in ("batch", "transaction"):
            bundle = {
                "resourceType": "Bundle",
                "type": kind,
                "entry": [{"resource": bad, "request": {"method": "POST", "url": "Observation"}}],
            }
            response = client.post("/fhir", json=bundle, headers=headers)
            [entry] = response.json()["entry"]
            assert entry["response"]["status"].startswith("201")
            outcome = entry["response"]["outcome"]["issue"]
            assert outcome[0]["severity"] == "information"
            assert ("error", "structure") in [(i["severity"], i["code"]) for i in outcome]


def test_warn_mode_logs_rules_and_locations_not_values(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "Jane-Secret-Doe"
    patient = {"resourceType": "Patient", "gender": secret}  # outside the required binding
    app = create_app(replace(settings, validation="warn"))
    with TestClient(app) as client, caplog.at_level(logging.DEBUG, logger="ember.engine"):
        assert client.post("/fhir/Patient", json=patient).status_code == 201
    logged = [r.getMessage() for r in caplog.records if r.name == "ember.engine"]
    assert any("code-invalid at Patient.gender" in message for message in logged)
    assert not any(secret in message for message in logged)


def test_processes_sharing_a_database_see_each_others_profiles(settings: Settings) -> None:
    first, second = open_store(settings.database_url), open_store(settings.database_url)
    try:
        reader, writer = Engine(first, settings), Engine(second, settings)
        assert reader.definitions.resolver()(PROFILE_URL) is None  # a cached miss
        writer.update("StructureDefinition", "lab-observation", PROFILE)
        found = reader.definitions.resolver()(PROFILE_URL)
        assert found is not None and found["url"] == PROFILE_URL
        snapshot = [e["id"] for e in found["snapshot"]["element"]]
        assert snapshot[0] == "Observation" and "Observation.subject" in snapshot
    finally:
        first.close()
        second.close()


def test_a_patch_is_checked_against_the_claimed_stored_profile(client: TestClient) -> None:
    client.put("/fhir/StructureDefinition/lab-observation", json=PROFILE)
    created = client.post("/fhir/Observation", json=_observation()).json()
    remove_subject = [{"op": "remove", "path": "/subject"}]
    headers = {"Content-Type": "application/json-patch+json"}
    response = client.patch(
        f"/fhir/Observation/{created['id']}", content=orjson.dumps(remove_subject), headers=headers
    )
    assert response.status_code == 422, response.text
    assert "Observation.subject: minimum required = 1" in response.text


def test_a_differential_without_its_root_element_still_applies(client: TestClient) -> None:
    """A differential may start below the root (profiling.html); its first element is a
    rule like the others, and a max that is not a number is no limit rather than a 500."""
    rules = [element("Observation.subject", min=1), element("Observation.note", max="many")]
    rootless = {**PROFILE, "differential": {"element": rules}}
    assert client.put("/fhir/StructureDefinition/lab-observation", json=rootless).status_code == 201
    response = client.post("/fhir/Observation", json=_without(_observation(), "subject"))
    assert response.status_code == 422, response.text
    assert "Observation.subject: minimum required = 1" in response.text
    response = client.post("/fhir/Observation/$validate", json=_observation(note=[{"text": "a"}]))
    assert response.status_code == 200
    assert ("error", "structure") not in _issues(response)


def test_an_extension_slice_given_by_its_profile_alone_is_enforced(client: TestClient) -> None:
    """The usual extension slice names the extension's profile, not its url: that url is
    what the `url` discriminator matches."""
    birth_place = "http://hl7.org/fhir/StructureDefinition/patient-birthPlace"
    by_url = {"discriminator": [{"type": "value", "path": "url"}], "rules": "open"}
    slice_ = [{"code": "Extension", "profile": [birth_place]}]
    rules = [
        element("Patient.extension", slicing=by_url),
        element("Patient.extension:born", sliceName="born", min=1, type=slice_),
    ]
    url = "http://example.org/fhir/StructureDefinition/born-somewhere"
    definition = profile("born-somewhere", url, "Patient", rules)
    response = client.put("/fhir/StructureDefinition/born-somewhere", json=definition)
    assert response.status_code == 201
    patient = {"resourceType": "Patient", "meta": {"profile": [url]}}
    response = client.post("/fhir/Patient", json=patient)
    assert response.status_code == 422, response.text
    assert "Patient.extension:born: minimum required = 1" in response.text
    born = {"url": birth_place, "valueAddress": {"city": "Lyon"}}
    assert client.post("/fhir/Patient", json={**patient, "extension": [born]}).status_code == 201


def test_the_cache_of_definitions_stays_bounded(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("ember.engine.profiles._MAX_CACHED", 3)
    store = open_store(settings.database_url)
    try:
        definitions = Engine(store, settings).definitions
        for number in range(10):
            assert definitions.resolver()(f"http://example.org/claimed/{number}") is None
            assert len(definitions._found) <= 3
    finally:
        store.close()


def _transaction(*resources: dict[str, Any]) -> dict[str, Any]:
    entries = [
        {"resource": r, "request": {"method": "POST", "url": r["resourceType"]}} for r in resources
    ]
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}


def test_a_transaction_checks_the_stored_profiles_once(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its entries are all checked before any is written: one look at whether the stored
    definitions changed serves them all, and the next bundle looks again."""
    from ember.engine.batch import process_bundle
    from ember.engine.profiles import StoredDefinitions

    refreshes: list[int] = []
    original = StoredDefinitions.refresh_profiles

    def counted(self: StoredDefinitions) -> None:
        refreshes.append(1)
        original(self)

    monkeypatch.setattr(StoredDefinitions, "refresh_profiles", counted)
    store = open_store(settings.database_url)
    try:
        engine = Engine(store, settings)
        bad = _without(_observation(), "subject")
        response = process_bundle(
            engine, _transaction(_observation(), bad), "http://x/fhir", "minimal"
        )
        assert [e["response"]["status"][:3] for e in response["entry"]] == ["201", "201"]
        assert len(refreshes) == 1  # not stored yet: a warning only, for each entry
        definition = {**PROFILE, "id": "lab-observation"}
        engine.update("StructureDefinition", "lab-observation", definition)
        with pytest.raises(FhirError) as refused:
            process_bundle(engine, _transaction(_observation(), bad), "http://x/fhir", "minimal")
        assert refused.value.status == 422
        assert len(refreshes) == 2  # the second bundle looked again, once
    finally:
        store.close()
