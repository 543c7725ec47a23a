"""FHIR RDF Turtle output, one rule of rdf.html at a time."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ember.fhir.formats import turtle


def ttl(resource: dict[str, Any], base: str | None = None) -> str:
    return turtle.dumps(resource, base=base).decode()


def test_the_resource_is_the_tree_root_named_by_its_url() -> None:
    written = ttl({"resourceType": "Patient", "id": "p1"}, base="http://example.org/fhir/")
    assert written.startswith("@prefix fhir: <http://hl7.org/fhir/> .")
    assert (
        "<http://example.org/fhir/Patient/p1> a fhir:Patient ; fhir:nodeRole fhir:treeRoot ; "
        'fhir:Resource.id [ fhir:value "p1" ] .\n'
    ) in written
    assert "\n<> a fhir:Patient" in ttl({"resourceType": "Patient", "id": "p1"})


def test_predicates_are_the_defining_paths_with_choice_types_expanded() -> None:
    written = ttl(
        {
            "resourceType": "Observation",
            "text": {"status": "generated", "div": '<div xmlns="x">a "q"\n</div>'},
            "valueQuantity": {"value": Decimal("1.50")},
            "component": [{"code": {"text": "c"}}],
        }
    )
    assert 'fhir:DomainResource.text [ fhir:Narrative.status [ fhir:value "generated" ]' in written
    assert r'fhir:Narrative.div "<div xmlns=\"x\">a \"q\"\n</div>"' in written
    assert (
        'fhir:Observation.valueQuantity [ fhir:Quantity.value [ fhir:value "1.50"^^xsd:decimal'
        in written
    )
    assert (
        "fhir:Observation.component [ fhir:index 0 ; fhir:Observation.component.code [" in written
    )


def test_values_are_typed_as_rdf_html_says() -> None:
    written = ttl(
        {
            "resourceType": "Patient",
            "active": True,
            "birthDate": "1970-03",
            "multipleBirthInteger": 2,
            "deceasedDateTime": "2020-01-02T10:00:00Z",
            "meta": {"lastUpdated": "2020-01-02T10:00:00.123Z"},
        }
    )
    assert 'fhir:Patient.active [ fhir:value "true"^^xsd:boolean ]' in written
    assert 'fhir:Patient.birthDate [ fhir:value "1970-03"^^xsd:gYearMonth ]' in written
    assert 'fhir:Patient.multipleBirthInteger [ fhir:value "2"^^xsd:integer ]' in written
    assert 'fhir:Patient.deceasedDateTime [ fhir:value "2020-01-02T10:00:00Z"^^xsd:dateTime ]' in (
        written
    )


def test_repeats_are_indexed_and_primitive_extensions_hang_off_the_value_node() -> None:
    written = ttl(
        {
            "resourceType": "Patient",
            "name": [{"given": ["a", None], "_given": [None, {"id": "g2"}]}],
        }
    )
    assert 'fhir:HumanName.given [ fhir:value "a" ; fhir:index 0 ]' in written
    assert 'fhir:HumanName.given [ fhir:index 1 ; fhir:Element.id [ fhir:value "g2" ] ]' in written


def test_inline_resources_are_typed_blank_nodes() -> None:
    written = ttl(
        {
            "resourceType": "Patient",
            "contained": [{"resourceType": "Organization", "id": "o"}],
        }
    )
    assert (
        "fhir:DomainResource.contained [ a fhir:Organization ; fhir:index 0 ; "
        'fhir:Resource.id [ fhir:value "o" ] ]'
    ) in written
    assert written.count("fhir:treeRoot") == 1


def test_references_link_to_what_they_resolve_to() -> None:
    patient = {
        "resourceType": "Patient",
        "generalPractitioner": [
            {"reference": "Practitioner/1"},
            {"reference": "http://other.org/fhir/Practitioner/2"},
            {"reference": "#local"},
        ],
    }
    with_base = ttl(patient, base="http://example.org/fhir")
    assert "fhir:link <http://example.org/fhir/Practitioner/1>" in with_base
    assert "fhir:link <http://other.org/fhir/Practitioner/2>" in with_base
    assert with_base.count("fhir:link") == 2
    assert ttl(patient).count("fhir:link") == 1  # relative references need a base


def test_pretty_output_indents_nested_nodes() -> None:
    written = turtle.dumps(
        {"resourceType": "Patient", "name": [{"family": "F", "given": ["G"]}]}, pretty=True
    ).decode()
    assert "\n  fhir:Patient.name [\n    fhir:index 0 ;\n    fhir:HumanName.family" in written
