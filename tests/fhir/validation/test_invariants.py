"""Invariants of the base definitions: which are evaluated, what they find, and where."""

from __future__ import annotations

from typing import Any

from ember.fhir import fhirpath
from ember.fhir.issues import Issue
from ember.fhir.model import get_model
from ember.fhir.validation import check_rules
from ember.fhir.validation.invariants import UNEVALUATED

DIV = '<div xmlns="http://www.w3.org/1999/xhtml"><p>Hi</p></div>'


def invariant_issues(resource: dict[str, Any]) -> set[tuple[str, str, str | None]]:
    """(severity, constraint key, location) of each invariant issue."""
    found: list[Issue] = [i for i in check_rules(resource) if i.code == "invariant"]
    return {(i.severity, i.diagnostics.split(":")[1].strip(), i.expression) for i in found}


def observation(**content: Any) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "text": {"status": "generated", "div": DIV},
        "status": "final",
        "code": {"text": "x"},
        **content,
    }


def test_every_base_constraint_compiles_and_the_skipped_ones_exist() -> None:
    model = get_model("r4")
    keys = set()
    for typedef in model.types.values():
        constraints = list(typedef.constraints)
        for element in typedef.elements.values():
            constraints.extend(element.constraints)
        for constraint in constraints:
            keys.add(constraint.key)
            assert constraint.expression, constraint.key
            fhirpath.compile(constraint.expression)
    assert set(UNEVALUATED) <= keys


def test_a_valid_observation_breaks_no_invariant() -> None:
    assert invariant_issues(observation(valueString="ok")) == set()


def test_a_resource_invariant_is_located_at_the_resource() -> None:
    resource = observation(valueString="x", dataAbsentReason={"text": "unknown"})
    assert invariant_issues(resource) == {("error", "obs-6", "Observation")}


def test_datatype_invariants_are_located_at_the_element_with_its_index() -> None:
    period = {"start": "2020-02-01", "end": "2020-01-01"}
    resource = observation(
        component=[
            {"code": {"text": "a"}, "valueString": "x"},
            {"code": {"text": "b"}, "valuePeriod": period},
        ]
    )
    assert invariant_issues(resource) == {("error", "per-1", "Observation.component[1].value")}


def test_warning_constraints_give_warnings() -> None:
    resource = {"resourceType": "Observation", "status": "final", "code": {"text": "x"}}
    assert invariant_issues(resource) == {("warning", "dom-6", "Observation")}


def test_an_element_with_only_an_id_breaks_ele_1() -> None:
    resource = observation(code={"id": "c1"})
    assert ("error", "ele-1", "Observation.code") in invariant_issues(resource)


def test_extensions_of_primitives_are_checked_at_the_primitive() -> None:
    extension = {"url": "http://example.org/x", "valueString": "a", "extension": [{"url": "y"}]}
    resource = observation(_status={"extension": [extension]})
    found = invariant_issues(resource)
    assert ("error", "ext-1", "Observation.status.extension[0]") in found


def test_contained_resources_see_their_container_for_references() -> None:
    patient = {"resourceType": "Patient", "id": "p", "text": {"status": "generated", "div": DIV}}
    resource = observation(
        contained=[patient],
        subject={"reference": "#p"},
        performer=[{"reference": "#missing"}],
    )
    assert invariant_issues(resource) == {("error", "ref-1", "Observation.performer[0]")}


def test_resources_inside_a_bundle_are_checked_as_resources() -> None:
    bad = observation(valueString="x", dataAbsentReason={"text": "unknown"})
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": bad}]}
    assert invariant_issues(bundle) == {("error", "obs-6", "Bundle.entry[0].resource")}
