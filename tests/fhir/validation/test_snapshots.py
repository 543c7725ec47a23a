"""Snapshots generated from a differential over the base's snapshot."""

from __future__ import annotations

from typing import Any

from ember.fhir.model import get_model
from ember.fhir.validation.snapshots import with_snapshot

SHIPPED = get_model("r4").structure_definitions
CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
# US Core blood-pressure style: sliced category, sliced components with their own rules,
# a choice slice with a child, a binding and mustSupport
DIFFERENTIAL = [
    {"id": "Observation", "path": "Observation"},
    {
        "id": "Observation.category",
        "path": "Observation.category",
        "min": 1,
        "slicing": {"discriminator": [{"type": "pattern", "path": "$this"}], "rules": "open"},
        "mustSupport": True,
    },
    {
        "id": "Observation.category:VSCat",
        "path": "Observation.category",
        "sliceName": "VSCat",
        "min": 1,
        "max": "1",
        "patternCodeableConcept": {"coding": [{"system": CATEGORY, "code": "vital-signs"}]},
    },
    {"id": "Observation.code.coding", "path": "Observation.code.coding", "min": 1},
    {
        "id": "Observation.component",
        "path": "Observation.component",
        "slicing": {"discriminator": [{"type": "pattern", "path": "code"}], "rules": "open"},
    },
    {
        "id": "Observation.component:systolic",
        "path": "Observation.component",
        "sliceName": "systolic",
        "min": 1,
        "max": "1",
    },
    {
        "id": "Observation.component:systolic.code",
        "path": "Observation.component.code",
        "patternCodeableConcept": {"coding": [{"system": "http://loinc.org", "code": "8480-6"}]},
        "binding": {"strength": "required", "valueSet": "http://example.org/vs"},
    },
    {
        "id": "Observation.component:systolic.value[x]:valueQuantity",
        "path": "Observation.component.value[x]",
        "sliceName": "valueQuantity",
        "type": [{"code": "Quantity"}],
    },
    {
        "id": "Observation.component:systolic.value[x]:valueQuantity.system",
        "path": "Observation.component.value[x].system",
        "fixedUri": "http://unitsofmeasure.org",
    },
    {"id": "Observation.nonsense", "path": "Observation.nonsense", "min": 1},
]
PROFILE = {
    "resourceType": "StructureDefinition",
    "url": "http://example.org/bp",
    "type": "Observation",
    "baseDefinition": "http://hl7.org/fhir/StructureDefinition/Observation",
    "derivation": "constraint",
    "differential": {"element": DIFFERENTIAL},
}


def _by_id(definition: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["id"]: e for e in definition["snapshot"]["element"]}


def test_a_differential_is_merged_into_the_base_snapshot() -> None:
    generated = with_snapshot(PROFILE, SHIPPED.get)
    elements = _by_id(generated)
    assert elements["Observation.status"]["min"] == 1  # inherited
    assert elements["Observation.category"]["min"] == 1
    assert elements["Observation.category"]["mustSupport"] is True
    vs_cat = elements["Observation.category:VSCat"]
    assert (vs_cat["min"], vs_cat["max"], vs_cat["sliceName"]) == (1, "1", "VSCat")
    assert "slicing" not in vs_cat and "patternCodeableConcept" in vs_cat
    assert elements["Observation.code.coding"]["min"] == 1  # CodeableConcept expanded
    assert elements["Observation.code.coding"]["path"] == "Observation.code.coding"
    code = elements["Observation.component:systolic.code"]
    assert code["binding"]["strength"] == "required" and code["min"] == 1
    system = elements["Observation.component:systolic.value[x]:valueQuantity.system"]
    assert system["path"] == "Observation.component.value[x].system"
    assert system["fixedUri"] == "http://unitsofmeasure.org"
    assert "Observation.nonsense" not in elements  # unknown names are left out
    assert "snapshot" not in PROFILE  # the stored definition is not changed


def test_slices_follow_their_sliced_element_and_its_children() -> None:
    ids = [e["id"] for e in with_snapshot(PROFILE, SHIPPED.get)["snapshot"]["element"]]
    assert ids.index("Observation.category") < ids.index("Observation.category:VSCat")
    assert ids.index("Observation.category:VSCat") < ids.index("Observation.code")
    last_component_child = max(
        i for i, id_ in enumerate(ids) if id_.startswith("Observation.component.")
    )
    assert ids.index("Observation.component:systolic") == last_component_child + 1
    assert ids.index("Observation.component:systolic.code") > ids.index(
        "Observation.component:systolic"
    )


def test_a_definition_with_a_snapshot_or_an_unknown_base_is_kept() -> None:
    shipped = SHIPPED["http://hl7.org/fhir/StructureDefinition/bodyweight"]
    assert with_snapshot(shipped, SHIPPED.get) is shipped
    orphan = {**PROFILE, "baseDefinition": "http://example.org/unknown"}
    assert with_snapshot(orphan, SHIPPED.get) is orphan


def test_elements_below_a_content_reference_are_found() -> None:
    nested = {
        **PROFILE,
        "type": "Questionnaire",
        "baseDefinition": "http://hl7.org/fhir/StructureDefinition/Questionnaire",
        "differential": {
            "element": [
                {"id": "Questionnaire", "path": "Questionnaire"},
                {
                    "id": "Questionnaire.item.item.text",
                    "path": "Questionnaire.item.item.text",
                    "min": 1,
                },
            ]
        },
    }
    elements = _by_id(with_snapshot(nested, SHIPPED.get))
    text = elements["Questionnaire.item.item.text"]
    assert (text["min"], text["path"]) == (1, "Questionnaire.item.item.text")
    assert "Questionnaire.item.item.linkId" in elements
