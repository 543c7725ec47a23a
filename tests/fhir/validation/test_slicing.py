"""Slicing: type, profile and exists discriminators; closed, openAtEnd and ordered
slicing; choice types narrowed by a profile."""

from __future__ import annotations

from typing import Any

from ember.fhir.model import get_model
from ember.fhir.validation.profiles import check_profile
from ember.fhir.validation.snapshots import with_snapshot
from tests.profiling import element, profile

SHIPPED = get_model("r4").structure_definitions
BASE = "http://example.org/StructureDefinition/"
LOINC = "http://loinc.org"


def _errors(resource: dict[str, Any], *definitions: dict[str, Any]) -> list[tuple[str, str]]:
    known = {d["url"]: with_snapshot(d, SHIPPED.get) for d in definitions}

    def lookup(url: str) -> dict[str, Any] | None:
        return known.get(url) or SHIPPED.get(url)

    issues = check_profile(resource, definitions[0]["url"], lookup)
    return [(i.expression or "", i.diagnostics) for i in issues if i.severity == "error"]


def _observation_profile(name: str, elements: list[dict[str, Any]]) -> dict[str, Any]:
    return profile(name, BASE + name, "Observation", elements)


def _observation(**content: Any) -> dict[str, Any]:
    return {"resourceType": "Observation", "status": "final", "code": {"text": "x"}, **content}


def _component(code: str, **value: Any) -> dict[str, Any]:
    return {"code": {"coding": [{"system": LOINC, "code": code}]}, **value}


def _sliced(rules: str, ordered: bool = False) -> dict[str, Any]:
    """Components sliced by code: systolic then diastolic."""
    return _observation_profile(
        "bp",
        [
            element(
                "Observation.component",
                slicing={
                    "discriminator": [{"type": "pattern", "path": "code"}],
                    "rules": rules,
                    "ordered": ordered,
                },
            ),
            *(
                element(f"Observation.component:{name}", sliceName=name, max="1")
                for name in ("systolic", "diastolic")
            ),
            element(
                "Observation.component:systolic.code",
                patternCodeableConcept={"coding": [{"system": LOINC, "code": "8480-6"}]},
            ),
            element(
                "Observation.component:diastolic.code",
                patternCodeableConcept={"coding": [{"system": LOINC, "code": "8462-4"}]},
            ),
        ],
    )


SYSTOLIC, DIASTOLIC, OTHER = _component("8480-6"), _component("8462-4"), _component("9999-9")


def test_closed_slicing_refuses_items_of_no_slice() -> None:
    closed = _sliced("closed")
    assert _errors(_observation(component=[SYSTOLIC, DIASTOLIC]), closed) == []
    [(where, message)] = _errors(_observation(component=[SYSTOLIC, OTHER]), closed)
    assert where == "Observation.component[1]" and "closed" in message
    assert _errors(_observation(component=[SYSTOLIC, OTHER]), _sliced("open")) == []


def test_ordered_and_open_at_end_slicing() -> None:
    ordered = _sliced("open", ordered=True)
    assert _errors(_observation(component=[SYSTOLIC, OTHER, DIASTOLIC]), ordered) == []
    [(where, message)] = _errors(_observation(component=[DIASTOLIC, SYSTOLIC]), ordered)
    assert where == "Observation.component[1]" and "out of order" in message
    at_end = _sliced("openAtEnd")
    assert _errors(_observation(component=[SYSTOLIC, OTHER]), at_end) == []
    [(where, _)] = _errors(_observation(component=[OTHER, SYSTOLIC]), at_end)
    assert where == "Observation.component[1]"


def test_type_discriminators_and_narrowed_choices() -> None:
    by_type = _observation_profile(
        "typed",
        [
            element(
                "Observation.component.value[x]",
                type=[{"code": "Quantity"}, {"code": "string"}],
            ),
            element(
                "Observation.component",
                slicing={"discriminator": [{"type": "type", "path": "value"}], "rules": "open"},
            ),
            element("Observation.component:text", sliceName="text", min=1),
            element("Observation.component:text.value[x]", type=[{"code": "string"}]),
        ],
    )
    quantity = _component("1", valueQuantity={"value": 1})
    text = _component("2", valueString="a")
    assert _errors(_observation(component=[quantity, text]), by_type) == []
    [(where, message)] = _errors(_observation(component=[quantity]), by_type)
    assert where == "Observation" and "Observation.component:text: minimum" in message
    boolean = _component("3", valueBoolean=True)
    [(where, message)] = _errors(_observation(component=[text, boolean]), by_type)
    assert where == "Observation.component[1].value"
    assert "a boolean is not allowed here, only Quantity, string" in message


def test_choice_slices_named_after_their_type_need_no_declared_slicing() -> None:
    ucum = _observation_profile(
        "ucum",
        [
            element("Observation.value[x]:valueQuantity", sliceName="valueQuantity"),
            element(
                "Observation.value[x]:valueQuantity.system",
                min=1,
                fixedUri="http://unitsofmeasure.org",
            ),
        ],
    )
    assert _errors(_observation(valueString="no quantity: no rule"), ucum) == []
    [(where, _)] = _errors(_observation(valueQuantity={"value": 1}), ucum)
    assert where == "Observation.value"


def test_exists_and_profile_discriminators() -> None:
    coded = profile(
        "coded-quantity",
        BASE + "coded-quantity",
        "Quantity",
        [element("Quantity.code", min=1)],
        kind="complex-type",
    )
    by_existence = _observation_profile(
        "by-existence",
        [
            element(
                "Observation.component",
                slicing={"discriminator": [{"type": "exists", "path": "value"}], "rules": "open"},
            ),
            element("Observation.component:valued", sliceName="valued", max="1"),
            element("Observation.component:valued.value[x]", min=1),
        ],
    )
    valued = _component("1", valueString="a")
    assert _errors(_observation(component=[valued, SYSTOLIC, DIASTOLIC]), by_existence) == []
    assert len(_errors(_observation(component=[valued, valued]), by_existence)) == 1
    by_profile = _observation_profile(
        "by-profile",
        [
            element(
                "Observation.component",
                slicing={
                    "discriminator": [{"type": "profile", "path": "value"}],
                    "rules": "closed",
                },
            ),
            element("Observation.component:coded", sliceName="coded"),
            element(
                "Observation.component:coded.value[x]",
                type=[{"code": "Quantity", "profile": [coded["url"]]}],
            ),
        ],
    )
    with_code = _component("1", valueQuantity={"value": 1, "code": "mm[Hg]"})
    without_code = _component("1", valueQuantity={"value": 1})
    assert _errors(_observation(component=[with_code]), by_profile, coded) == []
    [(where, _)] = _errors(_observation(component=[with_code, without_code]), by_profile, coded)
    assert where == "Observation.component[1]"
