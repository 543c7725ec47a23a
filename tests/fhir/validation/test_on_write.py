"""The `validation` setting (invariants and bindings) and the `profile_validation` setting
(claimed profiles) on write: off | warn | reject."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from ember.api.app import create_app
from ember.config import Settings

BROKEN_INVARIANT = {
    "resourceType": "Observation",
    "status": "final",
    "code": {"text": "x"},
    "valueString": "x",
    "dataAbsentReason": {"text": "unknown"},  # obs-6
}
STRUCTURALLY_BROKEN = {
    "resourceType": "Observation",
    "status": "final",
    "code": {"text": "x"},
    "colour": "red",
}


def _create(settings: Settings, body: dict[str, Any]) -> Any:
    with TestClient(create_app(settings)) as client:
        return client.post("/fhir/Observation", json=body)


def test_by_default_rule_errors_reject_the_write(client: TestClient) -> None:
    response = client.post("/fhir/Observation", json=BROKEN_INVARIANT)
    assert response.status_code == 400
    issues = response.json()["issue"]
    assert [(i["severity"], i["code"], i["expression"]) for i in issues] == [
        ("error", "invariant", ["Observation"])
    ]
    assert "obs-6" in issues[0]["diagnostics"]


def test_warnings_never_block(client: TestClient) -> None:
    no_narrative = {"resourceType": "Observation", "status": "final", "code": {"text": "x"}}
    assert client.post("/fhir/Observation", json=no_narrative).status_code == 201  # dom-6


@pytest.mark.parametrize("mode", ["off", "warn"])
def test_off_and_warn_store_rule_errors_but_not_structural_ones(
    database_url: str, mode: str
) -> None:
    settings = Settings(database_url=database_url, validation=mode)
    assert _create(settings, BROKEN_INVARIANT).status_code == 201
    assert _create(settings, STRUCTURALLY_BROKEN).status_code == 400


def test_the_setting_comes_from_the_environment_and_is_checked() -> None:
    assert Settings.from_env({"EMBER_VALIDATION": "warn"}).validation == "warn"
    assert Settings().validation == "reject"
    with pytest.raises(ValueError, match="validation must be one of"):
        Settings(validation="strict")
    with pytest.raises(ValueError, match="profile_validation must be one of"):
        Settings(profile_validation="strict")


def test_claimed_profiles_warn_by_default_and_refuse_in_reject_mode(database_url: str) -> None:
    temperature = {
        "resourceType": "Observation",
        "meta": {"profile": ["http://hl7.org/fhir/StructureDefinition/bodytemp"]},
        "status": "final",
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                        "code": "vital-signs",
                    }
                ]
            }
        ],
        "code": {"coding": [{"system": "http://loinc.org", "code": "12345-6"}]},
        "subject": {"reference": "Patient/p1"},
        "effectiveDateTime": "2020-01-01",
        "valueQuantity": {
            "value": 37,
            "unit": "C",
            "system": "http://unitsofmeasure.org",
            "code": "Cel",
        },
    }
    # A claim is an assertion real data often breaks (Synthea's vital signs without a
    # value fail vitalsigns' vs-2): by default stored, the issues returned on request
    headers = {"Prefer": "return=OperationOutcome"}
    with TestClient(create_app(Settings(database_url=database_url))) as client:
        response = client.post("/fhir/Observation", json=temperature, headers=headers)
        assert response.status_code == 201
        errors = [i for i in response.json()["issue"] if i["severity"] == "error"]
        assert errors[0]["expression"] == ["Observation.code"]
    enforcing = Settings(database_url=database_url, profile_validation="reject")
    with TestClient(create_app(enforcing)) as client:
        response = client.post("/fhir/Observation", json=temperature)
        assert response.status_code == 422
        assert response.json()["issue"][0]["expression"] == ["Observation.code"]
        temperature["code"]["coding"][0]["code"] = "8310-5"
        assert client.post("/fhir/Observation", json=temperature).status_code == 201
