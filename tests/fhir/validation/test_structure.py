"""Focused structural checks: each kind of problem, its code and its location."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from ember.fhir.issues import Issue
from ember.fhir.validation import validate_resource

URL = "http://example.org/fhir/StructureDefinition/note"
DIV = '<div xmlns="http://www.w3.org/1999/xhtml"><p>Hi</p></div>'


def issues(resource: Any, **options: Any) -> list[Issue]:
    found = validate_resource(resource, **options)
    assert all(issue.severity == "error" for issue in found)
    return found


def located(resource: Any, **options: Any) -> set[tuple[str, str | None]]:
    """The (code, expression) of every issue, which must all be distinct."""
    found = [(issue.code, issue.expression) for issue in issues(resource, **options)]
    assert len(found) == len(set(found)), found
    return set(found)


def patient(**content: Any) -> dict[str, Any]:
    return {"resourceType": "Patient", **content}


def observation(**content: Any) -> dict[str, Any]:
    return {"resourceType": "Observation", "status": "final", "code": {"text": "x"}, **content}


def test_a_valid_resource_has_no_issues() -> None:
    resource = patient(
        id="p1",
        text={"status": "generated", "div": DIV},
        name=[{"family": "Chalmers", "given": ["Peter", "James"]}],
        birthDate="1974-12-25",
        _birthDate={"extension": [{"url": URL, "valueString": "Christmas"}]},
        deceasedBoolean=False,
        multipleBirthInteger=2,
    )
    assert issues(resource) == []


# -- resourceType ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("resource", "code", "words"),
    [
        ({"id": "x"}, "structure", "has no 'resourceType'"),
        ({"resourceType": 7}, "structure", "'resourceType' that is a number"),
        ({"resourceType": "Foo"}, "invalid", "'Foo', which is not a known"),
        ({"resourceType": "DomainResource"}, "invalid", "not a known concrete resource type"),
    ],
)
def test_a_resource_needs_a_known_concrete_resource_type(
    resource: Any, code: str, words: str
) -> None:
    [issue] = issues(resource)
    assert (issue.code, issue.expression) == (code, "resourceType")
    assert words in issue.diagnostics


def test_a_resource_must_be_an_object() -> None:
    [issue] = issues(["Patient"])
    assert (issue.code, issue.expression) == ("structure", "Resource")
    assert issue.diagnostics == "The resource must be a JSON object, got array"


def test_resource_type_is_unknown_below_the_resource_root() -> None:
    resource = patient(name=[{"resourceType": "HumanName", "family": "x"}])
    assert located(resource) == {("structure", "Patient.name[0].resourceType")}


# -- unknown properties and choice types ---------------------------------------------------


def test_unknown_elements_are_reported_where_they_are() -> None:
    resource = patient(foo=1, name=[{"family": "x", "bar": "y"}], fhir_comments=["hi"])
    assert located(resource) == {
        ("structure", "Patient.foo"),
        ("structure", "Patient.name[0].bar"),
        ("structure", "Patient.fhir_comments"),
    }
    assert issues(patient(foo=1))[0].diagnostics == "Unknown element 'foo' in Patient"


def test_unknown_choice_suffix_is_an_unknown_element() -> None:
    assert located(observation(valueFoo="x", valuestring="y")) == {
        ("structure", "Observation.valueFoo"),
        ("structure", "Observation.valuestring"),
    }


def test_two_forms_of_one_choice_element_are_an_error() -> None:
    [issue] = issues(patient(deceasedBoolean=True, deceasedDateTime="2020"))
    assert (issue.code, issue.expression) == ("structure", "Patient.deceased")
    assert "deceasedBoolean" in issue.diagnostics and "deceasedDateTime" in issue.diagnostics


def test_the_extension_of_another_choice_form_is_a_second_form() -> None:
    extension = {"url": URL, "valueString": "x", "_valueBoolean": {"id": "b"}}
    assert located(patient(extension=[extension])) == {("structure", "Patient.extension[0].value")}


def test_a_choice_value_with_its_own_extensions_is_one_form() -> None:
    extension = {"url": URL, "valueString": "x", "_valueString": {"id": "s"}}
    assert issues(patient(extension=[extension])) == []


# -- JSON types and arrays ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "expression", "words"),
    [
        ({"gender": 1}, "Patient.gender", "must be a string, got number"),
        ({"active": "true"}, "Patient.active", "must be a boolean, got string"),
        ({"active": 1}, "Patient.active", "must be a boolean, got number"),
        ({"multipleBirthInteger": True}, "Patient.multipleBirthInteger", "got boolean"),
        ({"multipleBirthInteger": Decimal("2.0")}, "Patient.multipleBirthInteger", "integer"),
        ({"maritalStatus": "M"}, "Patient.maritalStatus", "must be an object, got string"),
        ({"birthDate": {"value": "2000"}}, "Patient.birthDate", "must be a string, got object"),
    ],
)
def test_values_must_have_the_json_type_of_their_element(
    content: dict[str, Any], expression: str, words: str
) -> None:
    [issue] = issues(patient(**content))
    assert (issue.code, issue.expression) == ("structure", expression)
    assert words in issue.diagnostics


@pytest.mark.parametrize("value", [1, -3, Decimal("1.50"), Decimal("2E+3"), 0.5])
def test_decimals_accept_integers_and_decimals(value: Any) -> None:
    assert issues(observation(valueQuantity={"value": value})) == []


@pytest.mark.parametrize("value", [True, "1.5"])
def test_decimals_reject_booleans_and_strings(value: Any) -> None:
    resource = observation(valueQuantity={"value": value})
    assert located(resource) == {("structure", "Observation.valueQuantity.value")}


def test_a_single_valued_element_must_not_be_an_array() -> None:
    found = located(patient(active=[True], maritalStatus=[{"text": "married"}]))
    assert found == {("structure", "Patient.active"), ("structure", "Patient.maritalStatus")}
    [issue] = issues(patient(active=[True]))
    assert issue.diagnostics == "Element 'Patient.active' has max 1 but is an array"


def test_a_repeating_element_must_be_an_array() -> None:
    found = located(patient(name={"family": "x"}, identifier="x"))
    assert found == {("structure", "Patient.name"), ("structure", "Patient.identifier")}
    diagnostics = {issue.diagnostics for issue in issues(patient(name={"family": "x"}))}
    assert diagnostics == {"Element 'Patient.name' repeats (max *) so must be an array, got object"}


def test_primitive_values_in_arrays_are_checked_one_by_one() -> None:
    resource = patient(name=[{"given": ["Ann", 3, ""]}])
    assert located(resource) == {
        ("structure", "Patient.name[0].given[1]"),
        ("value", "Patient.name[0].given[2]"),
    }


# -- empty and null ------------------------------------------------------------------------


def test_empty_objects_arrays_and_strings_and_nulls_are_errors() -> None:
    resource = patient(
        maritalStatus={},
        name=[],
        telecom=[{"system": "phone", "value": "1"}, None, {}],
        gender="",
        birthDate=None,
        address=None,
    )
    assert located(resource) == {
        ("structure", "Patient.maritalStatus"),
        ("structure", "Patient.name"),
        ("structure", "Patient.telecom[1]"),
        ("structure", "Patient.telecom[2]"),
        ("value", "Patient.gender"),
        ("structure", "Patient.birthDate"),
        ("structure", "Patient.address"),
    }


def test_whitespace_is_content_for_strings_but_not_for_codes() -> None:
    assert issues(patient(name=[{"text": "   "}])) == []
    assert located(patient(gender="   ")) == {("value", "Patient.gender")}


# -- cardinality ------------------------------------------------------------------------------


def test_missing_required_elements_are_all_reported() -> None:
    found = issues({"resourceType": "Observation"})
    assert {(i.code, i.expression) for i in found} == {
        ("required", "Observation.status"),
        ("required", "Observation.code"),
    }
    assert "Element 'Observation.status' is required (min 1) but missing" in {
        i.diagnostics for i in found
    }


def test_required_elements_inside_backbone_elements_and_datatypes() -> None:
    resource = patient(
        link=[{"type": "seealso"}],
        extension=[{"valueString": "no url"}],
        text={"status": "generated"},
    )
    assert located(resource) == {
        ("required", "Patient.link[0].other"),
        ("required", "Patient.extension[0].url"),
        ("required", "Patient.text.div"),
    }


def test_a_required_choice_element_is_named_with_its_choice_marker() -> None:
    resource = {
        "resourceType": "Immunization",
        "status": "completed",
        "vaccineCode": {"text": "x"},
        "patient": {"reference": "Patient/1"},
    }
    [issue] = issues(resource)
    assert (issue.code, issue.expression) == ("required", "Immunization.occurrence")
    assert "'Immunization.occurrence[x]'" in issue.diagnostics
    assert issues({**resource, "occurrenceString": "last spring"}) == []


def test_an_extension_only_primitive_satisfies_a_minimum() -> None:
    absent = {"extension": [{"url": URL, "valueCode": "unknown"}]}
    resource = {"resourceType": "Observation", "_status": absent, "code": {"text": "x"}}
    assert issues(resource) == []


def test_an_element_with_max_zero_must_be_absent() -> None:
    # xhtml.extension is 0..0: narrative cannot carry extensions.
    resource = patient(
        text={"status": "generated", "div": DIV, "_div": {"extension": [{"url": URL}]}}
    )
    [issue] = issues(resource)
    assert (issue.code, issue.expression) == ("structure", "Patient.text.div.extension")
    assert "max 0" in issue.diagnostics


# -- primitive values -------------------------------------------------------------------------


def test_primitive_values_failing_their_type_are_value_errors() -> None:
    resource = patient(
        id="not valid!",
        birthDate="2019-02-30",
        multipleBirthInteger=2**31,
        telecom=[{"system": "phone", "value": "1", "rank": 0}],
    )
    assert located(resource) == {
        ("value", "Patient.id"),
        ("value", "Patient.birthDate"),
        ("value", "Patient.multipleBirthInteger"),
        ("value", "Patient.telecom[0].rank"),
    }
    [issue] = issues(patient(birthDate="2019-02-30"))
    assert issue.diagnostics == (
        "Element 'Patient.birthDate' has '2019-02-30', which is not a valid date"
    )


def test_a_resource_without_id_is_fine() -> None:
    assert issues(patient(gender="male")) == []


@pytest.mark.parametrize(
    "div",
    [
        "<p>Hi</p>",
        "<div><p>Hi</p></div>",
        '<div xmlns="http://www.w3.org/1999/html">Hi</div>',
        ' <div xmlns="http://www.w3.org/1999/xhtml">Hi</div>',
        "<divxmlns='http://www.w3.org/1999/xhtml'>Hi</div>",
    ],
)
def test_narrative_must_be_a_div_in_the_xhtml_namespace(div: str) -> None:
    resource = patient(text={"status": "generated", "div": div})
    assert located(resource) == {("value", "Patient.text.div")}


def test_narrative_div_may_use_single_quotes_and_other_attributes() -> None:
    div = "<div class=\"x\" xmlns='http://www.w3.org/1999/xhtml'>Hi</div>"
    assert issues(patient(text={"status": "generated", "div": div})) == []


# -- _name siblings of primitives --------------------------------------------------------------


def test_primitive_siblings_hold_only_id_and_extensions() -> None:
    resource = patient(
        _gender={"id": "g", "value": "male", "fhir_comments": ["no"]},
        _birthDate={"extension": [{"valueString": "no url"}]},
        _active={},
        _multipleBirthBoolean="yes",
    )
    assert located(resource) == {
        ("structure", "Patient.gender.value"),
        ("structure", "Patient.gender.fhir_comments"),
        ("required", "Patient.birthDate.extension[0].url"),
        ("structure", "Patient.active"),
        ("structure", "Patient.multipleBirthBoolean"),
    }


def test_siblings_exist_only_for_known_primitive_elements() -> None:
    assert located(patient(_foo={"id": "x"}, _name=[{"id": "x"}])) == {
        ("structure", "Patient._foo"),
        ("structure", "Patient._name"),
    }


def test_nulls_in_primitive_arrays_align_with_sibling_extensions() -> None:
    extension = {"extension": [{"url": URL, "valueString": "middle"}]}
    valid = patient(name=[{"given": ["Ann", None], "_given": [None, extension]}])
    assert issues(valid) == []


def test_misaligned_primitive_arrays_are_errors() -> None:
    extension = {"id": "e"}
    resource = patient(
        name=[
            {"given": ["Ann", None], "_given": [extension]},  # too short: null unexplained
            {"given": [None], "_given": [None]},  # neither value nor extension
            {"_given": [extension, None]},  # extension-only values, one empty
            {"given": ["Ann"], "_given": {"id": "e"}},  # sibling must be an array too
        ]
    )
    assert located(resource) == {
        ("structure", "Patient.name[0].given"),
        ("structure", "Patient.name[0].given[1]"),
        ("structure", "Patient.name[1].given[0]"),
        ("structure", "Patient.name[2].given[1]"),
        ("structure", "Patient.name[3].given"),
    }


# -- nested resources ----------------------------------------------------------------------------


def test_contained_resources_are_validated_as_their_own_type() -> None:
    resource = patient(
        contained=[
            {"resourceType": "Organization", "id": "o", "nmae": "typo"},
            {"resourceType": "Observation", "id": "obs"},
            {"id": "no-type"},
            "not an object",
        ]
    )
    assert located(resource) == {
        ("structure", "Patient.contained[0].nmae"),
        ("required", "Patient.contained[1].status"),
        ("required", "Patient.contained[1].code"),
        ("structure", "Patient.contained[2].resourceType"),
        ("structure", "Patient.contained[3]"),
    }


def test_bundle_entries_continue_the_bundle_path() -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"resource": patient(gender="male")},
            {"resource": patient(gender=["male"])},
            {"resource": {"resourceType": "Nonsense"}},
        ],
    }
    assert located(bundle) == {
        ("structure", "Bundle.entry[1].resource.gender"),
        ("invalid", "Bundle.entry[2].resource.resourceType"),
    }


def test_parameters_resources_are_validated() -> None:
    parameters = {
        "resourceType": "Parameters",
        "parameter": [{"name": "p", "resource": patient(birthDate="1999-13-01")}],
    }
    assert located(parameters) == {("value", "Parameters.parameter[0].resource.birthDate")}


# -- depth and completeness ------------------------------------------------------------------------


def _nested_extensions(levels: int) -> dict[str, Any]:
    extension: dict[str, Any] = {"url": URL, "valueString": "leaf"}
    for _ in range(levels - 1):
        extension = {"url": URL, "extension": [extension]}
    return patient(extension=[extension])


def test_nesting_beyond_max_depth_is_one_error() -> None:
    assert issues(_nested_extensions(60)) == []
    [issue] = issues(_nested_extensions(200))
    assert issue.code == "structure"
    assert "nested more than 64 levels" in issue.diagnostics
    assert issue.expression is not None and issue.expression.count("extension[0]") == 65


def test_max_depth_is_configurable() -> None:
    assert len(issues(_nested_extensions(10), max_depth=5)) == 1
    assert issues(_nested_extensions(10), max_depth=10) == []


def test_every_problem_is_reported_not_just_the_first() -> None:
    resource = {
        "resourceType": "Observation",
        "status": 3,
        "valueQuantity": {"value": "7", "unitt": "mg"},
        "component": [{"valueString": "no code"}],
        "issued": "2020-01-01T10:00:00",
        "note": {"text": "not an array"},
    }
    assert located(resource) == {
        ("structure", "Observation.status"),
        ("structure", "Observation.valueQuantity.value"),
        ("structure", "Observation.valueQuantity.unitt"),
        ("required", "Observation.component[0].code"),
        ("value", "Observation.issued"),
        ("structure", "Observation.note"),
        ("required", "Observation.code"),
    }
