"""FHIRPath Patch against HL7's test cases (fhir-test-cases r4/fhir-patch-tests.xml)."""

from __future__ import annotations

from typing import Any

import pytest
from lxml import etree

from ember.fhir.formats import xml as fhir_xml
from ember.fhir.model import get_model
from ember.fhir.patch.errors import PatchError
from ember.fhir.patch.fhirpath_patch import apply_fhirpath_patch
from tests.shared import shared_testdata

model = get_model("r4")


def _cases() -> list[dict[str, Any]]:
    tree = etree.parse(
        str(shared_testdata("patch", "r4", "fhir-patch-tests.xml")),
        etree.XMLParser(resolve_entities=False, no_network=True),
    )
    cases = []
    for case in tree.getroot().iter("case"):
        parts = {}
        for name in ("input", "diff", "output"):
            holder = case.find(name)
            if holder is not None:
                resource = next(iter(holder), None)
                if resource is not None:
                    parts[name] = fhir_xml.parse(etree.tostring(resource))
        error = case.find("error")
        cases.append(
            {
                "name": case.get("name"),
                "mode": case.get("mode"),
                **parts,
                "error": error.get("msg") if error is not None else None,
            }
        )
    return cases


CASES = _cases()


def test_every_case_is_loaded() -> None:
    assert len(CASES) == 33


@pytest.mark.parametrize("case", CASES, ids=lambda c: c["name"])
def test_case(case: dict[str, Any]) -> None:
    if case["error"] is not None or "output" not in case:
        with pytest.raises(PatchError):
            apply_fhirpath_patch(model, case["input"], case["diff"])
        return
    assert apply_fhirpath_patch(model, case["input"], case["diff"]) == case["output"]


@pytest.mark.parametrize(
    "parameter",
    [
        {"name": "operation", "part": [5]},
        {
            "name": "operation",
            "part": [
                {"name": "type", "valueCode": "move"},
                {"name": "path", "valueString": "Patient.name"},
                {"name": "source", "valueString": "a"},
                {"name": "destination", "valueInteger": 0},
            ],
        },
    ],
)
def test_malformed_patches_are_400(parameter: dict[str, Any]) -> None:
    patient = {"resourceType": "Patient", "name": [{"family": "a"}, {"family": "b"}]}
    with pytest.raises(PatchError) as error:
        apply_fhirpath_patch(
            model, patient, {"resourceType": "Parameters", "parameter": [parameter]}
        )
    assert error.value.status == 400
