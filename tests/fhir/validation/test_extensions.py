"""Extensions by URL in full validation ($validate), not on write."""

from __future__ import annotations

from typing import Any

from ember.fhir.validation import check_rules
from ember.fhir.validation.validator import validate

DIV = '<div xmlns="http://www.w3.org/1999/xhtml"><p>Hi</p></div>'
BIRTH_PLACE = "http://hl7.org/fhir/StructureDefinition/patient-birthPlace"


def patient(*extensions: dict[str, Any]) -> dict[str, Any]:
    resource = {"resourceType": "Patient", "text": {"status": "generated", "div": DIV}}
    return {**resource, "extension": list(extensions)} if extensions else resource


def errors(resource: dict[str, Any]) -> list[tuple[str, str | None]]:
    return [(i.code, i.expression) for i in validate(resource) if i.severity == "error"]


def test_a_known_extension_with_an_allowed_value_is_valid() -> None:
    assert errors(patient({"url": BIRTH_PLACE, "valueAddress": {"city": "Bern"}})) == []


def test_a_value_of_another_type_is_an_error_at_the_value() -> None:
    found = errors(patient({"url": BIRTH_PLACE, "valueString": "Bern"}))
    assert found == [("structure", "Patient.extension[0].value")]


def test_unknown_and_relative_urls_are_errors_in_validation_only() -> None:
    unknown = patient({"url": "http://example.org/unknown", "valueString": "x"})
    assert errors(unknown) == [("structure", "Patient.extension[0]")]
    assert [i for i in check_rules(unknown) if i.severity == "error"] == []
    relative = patient({"url": "unknown", "valueString": "x"})
    assert errors(relative) == [("value", "Patient.extension[0]")]


def test_extensions_of_primitives_are_checked() -> None:
    resource = {
        **patient(),
        "birthDate": "2000-01-01",
        "_birthDate": {"extension": [{"url": BIRTH_PLACE, "valueBoolean": True}]},
    }
    assert errors(resource) == [("structure", "Patient.birthDate.extension[0].value")]


ANIMAL = "http://hl7.org/fhir/StructureDefinition/patient-animal"
DOG = {"coding": [{"system": "http://snomed.info/sct", "code": "125097000"}]}


def test_complex_extensions_have_their_required_and_only_their_defined_parts() -> None:
    species = {"url": "species", "valueCodeableConcept": DOG}
    assert errors(patient({"url": ANIMAL, "extension": [species]})) == []
    gender = {"url": "genderStatus", "valueCodeableConcept": {"text": "neutered"}}
    assert errors(patient({"url": ANIMAL, "extension": [gender]})) == [
        ("structure", "Patient.extension[0]")  # the species slice (min 1) is missing
    ]
    unknown = {"url": "species-x", "valueCodeableConcept": DOG}
    assert errors(patient({"url": ANIMAL, "extension": [species, unknown]})) == [
        ("structure", "Patient.extension[0].extension[1]")
    ]
