"""Extensions by URL in full validation ($validate), not on write."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ember.fhir.model import get_model
from ember.fhir.validation import check_rules
from ember.fhir.validation.snapshots import with_snapshot
from ember.fhir.validation.validator import validate
from tests import profiling as profiles

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
    assert errors(resource) == [
        ("structure", "Patient.birthDate.extension[0].value"),
        ("structure", "Patient.birthDate.extension[0]"),  # birthPlace is for Patient only
    ]


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


def _stored_extension(**more: Any) -> dict[str, Any]:
    """An extension defined by its differential only, as an IG or a client stores it."""
    definition = profiles.profile(
        "shoe-size",
        "http://example.org/StructureDefinition/shoe-size",
        "Extension",
        [
            profiles.element(
                "Extension.url", fixedUri="http://example.org/StructureDefinition/shoe-size"
            ),
            profiles.element("Extension.value[x]", min=1, type=[{"code": "decimal"}]),
        ],
        **more,
    )
    definition["differential"]["element"][0]["max"] = "1"  # once per element
    return definition


def _with(definition: dict[str, Any]) -> Callable[[str], dict[str, Any] | None]:
    shipped = get_model("r4").structure_definitions

    def lookup(url: str) -> dict[str, Any] | None:
        found = shipped.get(url)
        return found or (with_snapshot(definition, lookup) if url == definition["url"] else None)

    return lookup


def test_a_stored_extension_definition_checks_its_values_and_its_context() -> None:
    url = "http://example.org/StructureDefinition/shoe-size"
    on_patient = _with(_stored_extension(context=[{"type": "element", "expression": "Patient"}]))

    def found(resource: dict[str, Any], lookup: Any) -> list[tuple[str, str | None]]:
        issues = validate(resource, lookup=lookup)
        return [(i.code, i.expression) for i in issues if i.severity == "error"]

    assert found(patient({"url": url, "valueDecimal": 42.5}), on_patient) == []
    assert found(patient({"url": url, "valueString": "42"}), on_patient) == [
        ("structure", "Patient.extension[0].value")
    ]
    assert found(patient({"url": url}), on_patient) == [
        ("invariant", "Patient.extension[0]"),  # ext-1: a value or extensions
        ("structure", "Patient.extension[0]"),  # value[x] 1..1
    ]
    twice = patient({"url": url, "valueDecimal": 1}, {"url": url, "valueDecimal": 2})
    assert found(twice, on_patient) == [("structure", "Patient")]
    on_name = {**patient(), "name": [{"extension": [{"url": url, "valueDecimal": 1}]}]}
    assert found(on_name, on_patient) == [("structure", "Patient.name[0].extension[0]")]
    on_human_names = _with(
        _stored_extension(context=[{"type": "element", "expression": "HumanName"}])
    )
    assert found(on_name, on_human_names) == []
    on_any_element = _with(
        _stored_extension(context=[{"type": "element", "expression": "Element"}])
    )
    assert found(on_name, on_any_element) == []
    assert found(patient({"url": url, "valueDecimal": 1}), on_any_element) == [
        ("structure", "Patient.extension[0]")  # a resource is not an Element
    ]
