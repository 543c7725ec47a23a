"""Profiles: meta.profile and the profile parameter against shipped StructureDefinitions."""

from __future__ import annotations

from typing import Any

from ember.fhir.model import get_model
from ember.fhir.validation import check_rules
from ember.fhir.validation.profiles import check_profile
from ember.fhir.validation.snapshots import with_snapshot
from ember.fhir.validation.validator import validate
from tests import profiling as profiles

DIV = '<div xmlns="http://www.w3.org/1999/xhtml"><p>Hi</p></div>'
BODYTEMP = "http://hl7.org/fhir/StructureDefinition/bodytemp"
VITAL_SIGNS = "http://terminology.hl7.org/CodeSystem/observation-category"


def lookup(url: str) -> dict[str, Any] | None:
    return get_model("r4").structure_definitions.get(url)


def temperature(code: str = "8310-5", **content: Any) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "meta": {"profile": [BODYTEMP]},
        "text": {"status": "generated", "div": DIV},
        "status": "final",
        "category": [{"coding": [{"system": VITAL_SIGNS, "code": "vital-signs"}]}],
        "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
        "subject": {"reference": "Patient/p1"},
        "effectiveDateTime": "2020-01-01T10:00:00Z",
        "valueQuantity": {
            "value": 37.2,
            "unit": "C",
            "system": "http://unitsofmeasure.org",
            "code": "Cel",
        },
        **content,
    }


def located(issues: list[Any]) -> list[tuple[str, str | None]]:
    return [(i.diagnostics.split(": ")[0], i.expression) for i in issues if i.severity == "error"]


def test_a_conforming_resource_has_no_profile_issue() -> None:
    assert located(check_profile(temperature(), BODYTEMP, lookup)) == []
    assert located(validate(temperature())) == []


def test_a_required_slice_must_be_matched() -> None:
    found = located(check_profile(temperature(code="12345-6"), BODYTEMP, lookup))
    assert found == [("Observation.code.coding:BodyTempCode", "Observation.code")]


def test_fixed_values_and_cardinality_of_the_base_profile_apply() -> None:
    wrong_system = temperature()
    wrong_system["valueQuantity"] = {**wrong_system["valueQuantity"], "system": "urn:x"}
    found = located(check_profile(wrong_system, BODYTEMP, lookup))
    assert ("Observation.valueQuantity.system", "Observation.valueQuantity.system") in found
    no_subject = temperature()
    del no_subject["subject"]
    found = located(check_profile(no_subject, BODYTEMP, lookup))
    assert found == [("Observation.subject", "Observation")]  # from vitalsigns, min 1


def test_a_claimed_unknown_profile_warns_and_a_requested_one_fails() -> None:
    claimed = temperature(meta={"profile": ["http://example.org/unknown"]})
    issues = validate(claimed)
    assert [(i.severity, i.code) for i in issues if i.code == "not-supported"] == [
        ("warning", "not-supported")
    ]
    issues = validate(temperature(), profiles=["http://example.org/unknown"])
    assert ("error", "not-supported") in [(i.severity, i.code) for i in issues]


def test_claimed_shipped_profiles_are_rules_checked_on_write() -> None:
    assert located(check_rules(temperature())) == []
    found = located(check_rules(temperature(code="12345-6")))
    assert found == [("Observation.code.coding:BodyTempCode", "Observation.code")]
    unknown = temperature(meta={"profile": ["http://example.org/unknown"]})
    assert located(check_rules(unknown)) == []


def test_a_profile_for_another_type_is_an_error() -> None:
    patient_profile = "http://hl7.org/fhir/StructureDefinition/familymemberhistory-genetic"
    issues = validate(temperature(), profiles=[patient_profile])
    assert [(i.severity, i.code) for i in issues] == [("error", "invalid")]


def test_a_profile_binding_is_checked_once_even_when_it_repeats_the_base() -> None:
    url = "http://example.org/StructureDefinition/status-bound"
    bound = profiles.profile(
        "status-bound",
        url,
        "Observation",
        [
            profiles.element(
                "Observation.status",
                binding={
                    "strength": "required",
                    "valueSet": "http://hl7.org/fhir/ValueSet/observation-status|4.0.1",
                },
            ),
            profiles.element(
                "Observation.interpretation",
                binding={
                    "strength": "required",
                    "valueSet": "http://hl7.org/fhir/ValueSet/observation-status",
                },
            ),
        ],
    )

    def find(canonical: str) -> dict[str, Any] | None:
        return with_snapshot(bound, lookup) if canonical == url else lookup(canonical)

    observation = {
        **temperature(status="done", interpretation=[{"coding": [{"system": "x", "code": "y"}]}]),
        "meta": {"profile": [url]},
    }
    found = [
        (i.code, i.expression)
        for i in check_rules(observation, None, find)
        if i.severity == "error"
    ]
    assert found == [
        ("code-invalid", "Observation.status"),
        ("code-invalid", "Observation.interpretation[0]"),
    ]


def test_a_profiles_own_invariants_apply_where_declared() -> None:
    url = "http://example.org/StructureDefinition/dated-observation"
    rule = {"severity": "error", "human": "an effective time or an issued one"}
    constrained = profiles.profile(
        "dated-observation",
        url,
        "Observation",
        [
            profiles.element(
                "Observation.component",
                constraint=[
                    {"key": "comp-1", **rule, "expression": "value.exists()"},
                    {"key": "broken-1", **rule, "expression": "value.exists("},  # ignored
                ],
            )
        ],
    )
    constrained["differential"]["element"][0]["constraint"] = [
        {"key": "dated-1", **rule, "expression": "effective.exists() or issued.exists()"}
    ]

    def find(canonical: str) -> dict[str, Any] | None:
        return with_snapshot(constrained, lookup) if canonical == url else lookup(canonical)

    observation = {
        **temperature(),
        "meta": {"profile": [url]},
        "component": [{"code": {"text": "a"}, "valueString": "x"}, {"code": {"text": "b"}}],
    }
    del observation["effectiveDateTime"]
    found = [
        (i.diagnostics.split(":")[1].strip(), i.expression)
        for i in check_rules(observation, None, find)
        if i.severity == "error"
    ]
    assert found == [("dated-1", "Observation"), ("comp-1", "Observation.component[1]")]
