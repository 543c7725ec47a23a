"""Expansion of ValueSets over CodeSystems a `find` callback supplies (stored ones):
whole systems, listed concepts, imports and filters on a code system's hierarchy."""

from __future__ import annotations

from typing import Any

import pytest

from ember.fhir.validation.terminology import Terminology

CS = "http://example.org/cs"

CODE_SYSTEM = {
    "resourceType": "CodeSystem",
    "url": CS,
    "status": "active",
    "content": "complete",
    "concept": [
        {
            "code": "animal",
            "concept": [
                {
                    "code": "mammal",
                    "concept": [
                        {"code": "dog", "property": [{"code": "pet", "valueBoolean": True}]},
                        {"code": "cat", "property": [{"code": "pet", "valueBoolean": True}]},
                    ],
                },
                {"code": "bird"},
            ],
        },
        # a second parent by property, as in the definitions' code systems
        {"code": "eagle", "property": [{"code": "subsumedBy", "valueCode": "bird"}]},
    ],
}


def _value_set(url: str, *includes: dict[str, Any], exclude: Any = ()) -> dict[str, Any]:
    compose: dict[str, Any] = {"include": list(includes)}
    if exclude:
        compose["exclude"] = list(exclude)
    return {"resourceType": "ValueSet", "url": url, "status": "active", "compose": compose}


def _terminology(*value_sets: dict[str, Any]) -> Terminology:
    stored = {("CodeSystem", CS): CODE_SYSTEM} | {("ValueSet", v["url"]): v for v in value_sets}
    return Terminology("r4", lambda type_, url: stored.get((type_, url)))


def _codes(terminology: Terminology, url: str) -> set[str] | None:
    found = terminology.expansion(url)
    return None if found is None else {code for system, code in found if system == CS}


@pytest.mark.parametrize(
    ("filters", "codes"),
    [
        ([{"property": "concept", "op": "is-a", "value": "mammal"}], {"mammal", "dog", "cat"}),
        ([{"property": "concept", "op": "descendent-of", "value": "mammal"}], {"dog", "cat"}),
        ([{"property": "concept", "op": "descendent-of", "value": "bird"}], {"eagle"}),
        (
            [{"property": "concept", "op": "is-not-a", "value": "mammal"}],
            {"animal", "bird", "eagle"},
        ),
        ([{"property": "concept", "op": "=", "value": "cat"}], {"cat"}),
        ([{"property": "pet", "op": "=", "value": "true"}], {"dog", "cat"}),
        (
            [
                {"property": "concept", "op": "is-a", "value": "animal"},
                {"property": "pet", "op": "=", "value": "true"},
            ],
            {"dog", "cat"},
        ),
        ([{"property": "concept", "op": "is-a", "value": "plant"}], set()),
        ([{"property": "concept", "op": "regex", "value": "d.*"}], None),
    ],
)
def test_filters_on_a_hierarchy(filters: list[dict[str, Any]], codes: set[str] | None) -> None:
    terminology = _terminology(_value_set("urn:vs", {"system": CS, "filter": filters}))
    assert _codes(terminology, "urn:vs") == codes


def test_whole_systems_concepts_imports_and_excludes() -> None:
    terminology = _terminology(
        _value_set("urn:whole", {"system": CS}),
        _value_set("urn:listed", {"system": CS, "concept": [{"code": "dog"}, {"code": "x"}]}),
        _value_set(
            "urn:imported",
            {"valueSet": ["urn:whole"]},
            exclude=[
                {"system": CS, "filter": [{"property": "concept", "op": "is-a", "value": "bird"}]}
            ],
        ),
        _value_set("urn:both", {"valueSet": ["urn:whole", "urn:listed"]}),
        _value_set("urn:unknown", {"system": "http://example.org/elsewhere"}),
    )
    assert _codes(terminology, "urn:whole") == {"animal", "mammal", "dog", "cat", "bird", "eagle"}
    assert _codes(terminology, "urn:listed") == {"dog", "x"}  # listed concepts are taken as is
    assert _codes(terminology, "urn:imported") == {"animal", "mammal", "dog", "cat"}
    assert _codes(terminology, "urn:both") == {"dog"}  # the intersection of the imports
    assert _codes(terminology, "urn:unknown") is None
    assert terminology.knows_value_set("urn:whole|1.0")
    assert not terminology.knows_value_set("urn:none")
    hierarchy = terminology.hierarchy(CS)
    assert hierarchy is not None
    assert hierarchy.related("eagle", below=False) == {"eagle", "bird", "animal"}
    assert hierarchy.related("animal", below=True) == hierarchy.codes
