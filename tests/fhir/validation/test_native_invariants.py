"""The Python versions of the frequent invariants give the FHIRPath verdict, always.

Every instance of every structurally valid spec example, HL7 validator case and crafted
edge case is checked both ways: where a native check decides, FHIRPath must evaluate
without error and be false exactly when the check says False.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from ember.fhir.formats import json as fhir_json
from ember.fhir.model import get_model
from ember.fhir.validation import check_rules, validate_resource
from ember.fhir.validation.invariants import Invariants, node_of
from ember.fhir.validation.native import NATIVE
from ember.fhir.validation.walk import instances
from tests.shared import shared_testdata

MODEL = get_model("r4")
DIV = '<div xmlns="http://www.w3.org/1999/xhtml"><p>Hi</p></div>'
TEXT = {"status": "generated", "div": DIV}
PATIENT_ID_ONLY = {"resourceType": "Patient", "text": TEXT, "maritalStatus": {"id": "m"}}


def observation(**content: Any) -> dict[str, Any]:
    return {"resourceType": "Observation", "status": "final", "code": {"text": "x"}, **content}


def bundle_entry(**entry: Any) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "collection", "entry": [entry]}


# Edge cases around each native check, each structurally valid
CRAFTED: list[dict[str, Any]] = [
    PATIENT_ID_ONLY,
    {"resourceType": "Patient", "_birthDate": {"id": "b"}},
    {"resourceType": "Patient", "_birthDate": {"extension": [{"url": "u", "valueCode": "x"}]}},
    {"resourceType": "Patient", "name": [{"given": ["a", None], "_given": [None, {"id": "g"}]}]},
    {"resourceType": "Patient", "active": False, "multipleBirthInteger": 0},
    {"resourceType": "Patient", "extension": [{"url": "u"}]},
    {"resourceType": "Patient", "extension": [{"url": "u", "_valueCode": {"id": "v"}}]},
    {
        "resourceType": "Patient",
        "extension": [
            {"url": "u", "valueCode": "x", "extension": [{"url": "v", "valueCode": "y"}]}
        ],
    },
    {
        "resourceType": "Patient",
        "contained": [
            {"resourceType": "Patient", "id": "a", "contained": [{"resourceType": "Patient"}]},
            {"resourceType": "Patient", "id": "b", "meta": {"versionId": "1"}},
            {"resourceType": "Patient", "id": "c", "meta": {"lastUpdated": "2020-01-01T00:00:00Z"}},
            {"resourceType": "Patient", "id": "d", "meta": {"security": [{"code": "R"}]}},
            {"resourceType": "Patient", "id": "e", "meta": {"_versionId": {"id": "v"}}},
        ],
        "managingOrganization": {"reference": "#a"},
        "generalPractitioner": [{"reference": "#z"}, {"_reference": {"id": "r"}}, {"display": "x"}],
        "telecom": [{"value": "1"}, {"system": "phone", "value": "1"}, {"_value": {"id": "v"}}],
        "photo": [{"data": "AAAA"}, {"data": "AAAA", "contentType": "image/png"}],
    },
    observation(valueString="x", dataAbsentReason={"text": "unknown"}),
    observation(_valueString={"id": "v"}, dataAbsentReason={"text": "unknown"}),
    observation(dataAbsentReason={"text": "unknown"}),
    observation(
        code={"coding": [{"system": "s", "code": "c"}]},
        valueString="x",
        component=[{"code": {"coding": [{"system": "s", "code": "c"}]}, "valueString": "y"}],
    ),
    observation(valuePeriod={"start": "2020-02-01", "end": "2020-01-01"}),
    observation(valuePeriod={"start": "2020-01-01", "end": "2020-02-01"}),
    observation(valuePeriod={"start": "2020-02-01"}),
    observation(valuePeriod={"_start": {"id": "s"}, "end": "2020-01-01"}),
    observation(valuePeriod={"start": "2020-02-01T10:00:00Z", "end": "2020-02-01"}),
    observation(valueQuantity={"value": 1, "code": "mg"}),
    observation(valueQuantity={"value": 1, "_code": {"id": "c"}}),
    observation(valueQuantity={"value": 1, "code": "mg", "_system": {"id": "s"}}),
    bundle_entry(
        fullUrl="http://x.org/fhir/Patient/1/_history/2", resource={"resourceType": "Patient"}
    ),
    bundle_entry(fullUrl="urn:uuid:5e0ff9ea-4d56-4bb5-8fa6-7b0d3f1fd7a1"),
    bundle_entry(_fullUrl={"id": "f"}, resource={"resourceType": "Patient"}),
]


def _resources() -> Iterator[tuple[str, dict[str, Any]]]:
    for path in sorted(shared_testdata("examples", "r4").glob("*.json")):
        yield path.name, fhir_json.parse(path.read_bytes())
    for path in sorted(shared_testdata("validator", "files").rglob("*.json")):
        try:
            resource = fhir_json.parse(path.read_bytes())
        except ValueError:
            continue
        yield path.name, resource
    for index, resource in enumerate(CRAFTED):
        yield f"crafted[{index}]", resource


def _structurally_valid(resource: Any) -> bool:
    issues = validate_resource(resource, MODEL)
    return not any(issue.severity in ("error", "fatal") for issue in issues)


def test_the_crafted_cases_are_structurally_valid() -> None:
    assert [i for i, resource in enumerate(CRAFTED) if not _structurally_valid(resource)] == []


def test_native_checks_agree_with_fhirpath_everywhere() -> None:
    invariants = Invariants(MODEL)
    verdicts: Counter[tuple[str, bool | None]] = Counter()
    disagreements: list[str] = []
    for name, resource in _resources():
        if not isinstance(resource, dict) or not _structurally_valid(resource):
            continue
        for instance in instances(resource, MODEL):
            for invariant in invariants.applying(instance):
                if invariant.native is None:
                    continue
                key = invariant.rules[0].key
                verdict = invariant.native(instance.value, instance.ext)
                verdicts[key, verdict] += 1
                if verdict is None:
                    continue
                # raises if FHIRPath fails where the native check decided
                result = invariant.expression.evaluate(instance.root, context=node_of(instance))
                if (result == [False]) != (verdict is False):
                    disagreements.append(f"{name} {instance.path} {key}: {result} vs {verdict}")
    assert disagreements == []
    # each check was seen to pass and to fail (the crafted cases make sure)
    assert {key for key, verdict in verdicts if verdict is True} == set(NATIVE)
    assert {key for key, verdict in verdicts if verdict is False} == set(NATIVE) - {
        "obs-7",
        "per-1",
        "ref-1",
    }


def test_every_native_check_stands_for_a_base_constraint_expression() -> None:
    expressions = {}
    for typedef in MODEL.types.values():
        for element in typedef.elements.values():
            expressions.update((c.key, c.expression) for c in element.constraints)
        expressions.update((c.key, c.expression) for c in typedef.constraints)
    assert {key: expressions.get(key) for key in NATIVE} == {
        key: check.expression for key, check in NATIVE.items()
    }


@pytest.mark.parametrize(
    ("resource", "path"),
    [
        (PATIENT_ID_ONLY, "Patient.maritalStatus"),
        ({"resourceType": "Patient", "_birthDate": {"id": "b"}}, "Patient.birthDate"),
    ],
)
def test_an_element_with_only_an_id_breaks_ele_1(resource: dict[str, Any], path: str) -> None:
    found = [(i.expression, i.diagnostics.split(":")[1].strip()) for i in check_rules(resource)]
    assert (path, "ele-1") in found
