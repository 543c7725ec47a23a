"""Terminology bindings against the shipped value sets, and their small expansion."""

from __future__ import annotations

from typing import Any

from ember.fhir.validation import check_rules
from ember.fhir.validation.terminology import terminology_for

DIV = '<div xmlns="http://www.w3.org/1999/xhtml"><p>Hi</p></div>'
LOINC = "http://loinc.org"


def binding_issues(resource: dict[str, Any]) -> set[tuple[str, str | None]]:
    return {(i.severity, i.expression) for i in check_rules(resource) if i.code == "code-invalid"}


def observation(**content: Any) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "text": {"status": "generated", "div": DIV},
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": "8867-4"}]},
        **content,
    }


def test_whole_code_systems_and_listed_concepts_expand() -> None:
    terminology = terminology_for("r4")
    status = terminology.expansion("http://hl7.org/fhir/ValueSet/observation-status|4.0.1")
    assert status is not None
    assert ("http://hl7.org/fhir/observation-status", "final") in status
    identifier_types = terminology.expansion("http://hl7.org/fhir/ValueSet/identifier-type")
    assert identifier_types is not None
    assert ("http://terminology.hl7.org/CodeSystem/v2-0203", "MR") in identifier_types


def test_value_sets_of_unshipped_systems_or_filters_are_unknown() -> None:
    terminology = terminology_for("r4")
    assert terminology.expansion("http://hl7.org/fhir/ValueSet/observation-codes") is None
    assert terminology.expansion("http://example.org/no-such-value-set") is None


def test_a_valid_observation_has_no_binding_issue() -> None:
    assert binding_issues(observation()) == set()


def test_a_code_outside_a_required_binding_is_an_error() -> None:
    assert binding_issues(observation(status="done")) == {("error", "Observation.status")}


def test_a_codeable_concept_needs_one_coding_inside_a_required_binding() -> None:
    system = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical"
    allergy = {
        "resourceType": "AllergyIntolerance",
        "patient": {"reference": "Patient/p"},
        "clinicalStatus": {"coding": [{"system": "urn:x", "code": "active"}]},
    }
    assert binding_issues(allergy) == {("error", "AllergyIntolerance.clinicalStatus")}
    allergy["clinicalStatus"]["coding"].append({"system": system, "code": "active"})
    assert binding_issues(allergy) == set()


def test_undecidable_values_give_no_issue() -> None:
    resource = observation(
        category=[{"text": "vital signs only as text"}],
        interpretation=[{"coding": [{"code": "H"}]}],  # no system
    )
    assert binding_issues(resource) == set()


def test_extensible_and_preferred_bindings_warn_and_inform() -> None:
    resource = observation(
        category=[{"coding": [{"system": "urn:x", "code": "other"}]}],
    )
    assert binding_issues(resource) == {("information", "Observation.category[0]")}
    identifier = {"type": {"coding": [{"system": "urn:x", "code": "Z"}]}, "value": "1"}
    patient = {"resourceType": "Patient", "identifier": [identifier]}
    assert binding_issues(patient) == {("warning", "Patient.identifier[0].type")}
