"""The public API and the behaviour the official suite does not pin down."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from ember.fhir.fhirpath import (
    Date,
    DateTime,
    FHIRPathError,
    FHIRPathSyntaxError,
    Quantity,
    Time,
    compile,
    evaluate,
)

PATIENT: dict[str, Any] = {
    "resourceType": "Patient",
    "id": "p1",
    "active": True,
    "name": [{"use": "official", "family": "Chalmers", "given": ["Peter", "James"]}],
    "birthDate": "1974-12-25",
    "_birthDate": {
        "extension": [
            {
                "url": "http://hl7.org/fhir/StructureDefinition/patient-birthTime",
                "valueDateTime": "1974-12-25T14:35:45-05:00",
            }
        ]
    },
    "contained": [{"resourceType": "Organization", "id": "org", "name": "Acme"}],
    "managingOrganization": {"reference": "#org"},
    "text": {"status": "generated", "div": '<div xmlns="http://www.w3.org/1999/xhtml">Hi</div>'},
}


def test_syntax_errors_say_where() -> None:
    with pytest.raises(FHIRPathSyntaxError) as error:
        compile("Patient.name.where(use = )")
    assert error.value.position == 25
    assert "position 25" in str(error.value)


def test_evaluation_errors_are_fhirpath_errors() -> None:
    with pytest.raises(FHIRPathError, match="single"):
        evaluate(PATIENT, "Patient.name.given + 'x'")
    with pytest.raises(FHIRPathError, match="undefined environment variable"):
        evaluate(PATIENT, "%missing")


def test_results_are_plain_values() -> None:
    assert evaluate(PATIENT, "Patient.name.given") == ["Peter", "James"]
    assert evaluate(PATIENT, "Patient.name.family.length()") == [8]
    assert evaluate(PATIENT, "Patient.name.use") == ["official"]
    assert evaluate(PATIENT, "Patient.name") == PATIENT["name"]
    (birth,) = evaluate(PATIENT, "birthDate")
    assert isinstance(birth, Date) and str(birth) == "1974-12-25"
    (moment,) = evaluate(PATIENT, "@2015-02-04T14:34:28+10:00")
    assert isinstance(moment, DateTime) and str(moment) == "2015-02-04T14:34:28+10:00"
    (time,) = evaluate(PATIENT, "@T14:34:28")
    assert isinstance(time, Time) and str(time) == "T14:34:28"
    (dose,) = evaluate(PATIENT, "5.4 'mg'")
    assert isinstance(dose, Quantity) and str(dose) == "5.4 'mg'"
    assert [str(q) for q in evaluate(PATIENT, "3 days")] == ["3 days"]
    assert evaluate(PATIENT, "1.50 + 1") == [Decimal("2.50")]


def test_floats_in_input_become_decimals() -> None:
    observation = {"resourceType": "Observation", "valueQuantity": {"value": 0.1, "unit": "mg"}}
    assert evaluate(observation, "Observation.value.value") == [Decimal("0.1")]
    assert evaluate(observation, "Observation.value.value + 0.2 = 0.3") == [True]


def test_primitive_extensions() -> None:
    url = "http://hl7.org/fhir/StructureDefinition/patient-birthTime"
    values = evaluate(PATIENT, f"Patient.birthDate.extension('{url}').value")
    assert [str(v) for v in values] == ["1974-12-25T14:35:45-05:00"]
    patient = {
        "resourceType": "Patient",
        "name": [
            {
                "given": [None, "Jim"],
                "_given": [
                    {"extension": [{"url": "http://example.org/x", "valueString": "y"}]},
                    None,
                ],
            }
        ],
    }
    assert evaluate(patient, "Patient.name.given.hasValue()") == [False]
    assert evaluate(patient, "Patient.name.given.select(hasValue())") == [False, True]
    assert evaluate(patient, "Patient.name.given.extension.value") == ["y"]


def test_variables() -> None:
    assert evaluate(PATIENT, "%limit + 1", variables={"limit": 2}) == [3]
    assert evaluate(PATIENT, "%who.name", variables={"who": {"name": "x"}}) == ["x"]
    assert evaluate(PATIENT, "%resource.id") == ["p1"]
    assert evaluate(PATIENT, "%`vs-administrative-gender`") == [
        "http://hl7.org/fhir/ValueSet/administrative-gender"
    ]


def test_evaluating_an_element_in_context() -> None:
    name = PATIENT["name"][0]
    expression = compile("given.count() = 2 and %resource.id = 'p1'")
    assert expression.evaluate(PATIENT, context=name, context_type="HumanName") == [True]


def test_resolve_contained_bundle_and_callback() -> None:
    assert evaluate(PATIENT, "Patient.managingOrganization.resolve().name") == ["Acme"]
    bundle = {
        "resourceType": "Bundle",
        "entry": [
            {"fullUrl": "urn:uuid:1", "resource": {"resourceType": "Patient", "id": "a"}},
            {"resource": {"resourceType": "Observation", "subject": {"reference": "urn:uuid:1"}}},
            {"resource": {"resourceType": "Observation", "subject": {"reference": "Patient/a"}}},
        ],
    }
    assert evaluate(bundle, "Bundle.entry.resource.ofType(Observation).subject.resolve().id") == [
        "a",
        "a",
    ]
    observation = {"resourceType": "Observation", "subject": {"reference": "Patient/z"}}
    expression = compile("Observation.subject.where(resolve() is Patient)")
    assert expression.evaluate(observation) == []
    found = expression.evaluate(
        observation, resolver=lambda ref: {"resourceType": ref.split("/")[0], "id": "z"}
    )
    assert found == [{"reference": "Patient/z"}]


def test_member_of_and_conforms_to_use_callbacks() -> None:
    seen: list[tuple[Any, str]] = []

    def terminology(coded: Any, value_set: str) -> bool:
        seen.append((coded, value_set))
        return coded == "male"

    patient = {"resourceType": "Patient", "gender": "male"}
    expression = compile("gender.memberOf('http://hl7.org/fhir/ValueSet/administrative-gender')")
    assert expression.evaluate(patient, terminology=terminology) == [True]
    assert seen == [("male", "http://hl7.org/fhir/ValueSet/administrative-gender")]
    with pytest.raises(FHIRPathError, match="terminology"):
        expression.evaluate(patient)
    profile = "http://example.org/StructureDefinition/my-patient"
    conforms = compile(f"conformsTo('{profile}')")
    assert conforms.evaluate(patient, conforms_to=lambda r, url: url == profile) == [True]
    with pytest.raises(FHIRPathError, match="validator"):
        conforms.evaluate(patient)


def test_html_checks() -> None:
    assert evaluate(PATIENT, "text.div.htmlChecks()") == [True]
    bad = dict(
        PATIENT,
        text={"div": '<div xmlns="http://www.w3.org/1999/xhtml"><script>x()</script></div>'},
    )
    assert evaluate(bad, "text.`div`.htmlChecks()") == [False]


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("1 'kg' = 1000 'g'", [True]),
        ("1 'h' > 59 'min'", [True]),
        ("1 '[lb_av]' < 1 'kg'", [True]),
        ("1 'm' = 1 'g'", []),
        ("1 year = 1 'a'", []),
        ("1 year ~ 1 'a'", [True]),
        ("2 weeks = 14 days", [True]),
        ("(3 'm' + 3 'cm').toString()", ["303 'cm'"]),
        ("@2019-03-01 + 24 months", [Date.parse("2021-03-01")]),
        ("@2012-01-31 + 1 month", [Date.parse("2012-02-29")]),
        ("@T23:00 + 2 hours", [Time.parse("01:00")]),
        ("(@2014-01-25T14:30 - 90 minutes).toString()", ["2014-01-25T13:00"]),
    ],
)
def test_quantities_and_date_arithmetic(expression: str, expected: list[Any]) -> None:
    assert evaluate(PATIENT, expression) == expected


def test_static_checks_with_a_base_type() -> None:
    compile("Patient.name.given", base_type="Patient")
    compile("Observation.value.unit", base_type="Observation")
    with pytest.raises(FHIRPathError, match="no element 'given1'"):
        compile("name.given1", base_type="Patient")
    with pytest.raises(FHIRPathError, match="no element 'valueQuantity'"):
        compile("Observation.valueQuantity", base_type="Observation")
    with pytest.raises(FHIRPathError, match="context type"):
        compile("Encounter.status", base_type="Patient")
    with pytest.raises(FHIRPathError, match="ordered"):
        compile("Patient.children().first()", base_type="Patient", check_ordered_functions=True)


def test_trace_and_element_definition() -> None:
    traced: list[tuple[str, list[Any]]] = []
    result = compile("name.given.trace('given')").evaluate(
        PATIENT, tracer=lambda label, items: traced.append((label, items))
    )
    assert result == ["Peter", "James"] and traced[0][0] == "given"
    (definition,) = evaluate(PATIENT, "Patient.name.first().elementDefinition()")
    assert definition["path"] == "Patient.name"


def test_slice_by_value_discriminators() -> None:
    vital = {
        "coding": [
            {
                "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                "code": "vital-signs",
            }
        ]
    }
    other = {"coding": [{"system": "http://example.org", "code": "vital-signs"}]}
    observation = {"resourceType": "Observation", "category": [other, vital]}
    expression = "category.slice('http://hl7.org/fhir/StructureDefinition/vitalsigns', 'VSCat')"
    assert evaluate(observation, expression) == [vital]
    with pytest.raises(FHIRPathError, match="no slice"):
        evaluate(observation, expression.replace("VSCat", "Nope"))


def test_compiled_expressions_are_reused() -> None:
    assert compile("Patient.name") is compile("Patient.name")
