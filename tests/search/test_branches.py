"""Per-type union branches: the same index rows as evaluating the whole expression."""

from __future__ import annotations

import orjson

from ember.fhir.model import get_model
from ember.search.branches import for_type, starting_keys
from ember.search.index import _compile as whole_expression  # every branch, as before
from ember.search.index import extractors, indexed_parameters, rows_of
from tests.shared import shared_testdata

MODEL = get_model()


def test_only_the_branches_of_the_type_are_kept() -> None:
    expression = "Account.subject.where(resolve() is Patient) | Observation.subject | Condition.x"
    assert for_type(expression, "Observation", MODEL) == "Observation.subject"
    assert for_type(expression, "Patient", MODEL) is None


def test_branches_of_ancestor_types_and_plain_paths_are_kept() -> None:
    expression = "Resource.meta.tag | DomainResource.text | extension.value | Patient.name"
    assert for_type(expression, "Observation", MODEL) == (
        "Resource.meta.tag | DomainResource.text | extension.value"
    )


def test_casts_and_parenthesised_unions_are_split_by_their_leading_type() -> None:
    expression = "(Observation.value as Quantity) | (Patient.a | Group.b) | Group.c.first()"
    assert for_type(expression, "Observation", MODEL) == "(Observation.value as Quantity)"
    assert for_type(expression, "Group", MODEL) == "(Patient.a | Group.b) | Group.c.first()"


def test_branches_that_yield_something_from_nothing_are_kept() -> None:
    expression = "Patient.name.exists() | Group.name.count() | Patient.active"
    assert for_type(expression, "Group", MODEL) == "Patient.name.exists() | Group.name.count()"


def test_an_expression_without_union_is_unchanged() -> None:
    assert for_type("Observation.code", "Observation", MODEL) == "Observation.code"


def test_the_properties_an_expression_starts_from() -> None:
    keys = starting_keys("Observation.code | Observation.component.code", "Observation", MODEL)
    assert keys == {"code", "_code", "component", "_component"}
    keys = starting_keys("(Observation.value as Quantity) | name.given", "Observation", MODEL)
    assert keys is None  # Observation has no `name`: unknown, so always evaluated
    keys = starting_keys("Resource.meta.tag | Observation.value", "Observation", MODEL)
    assert keys is not None and {"meta", "valueQuantity", "valueString"} <= keys
    assert starting_keys("Observation.extension('urn:x').value", "Observation", MODEL) == {
        "extension",
        "_extension",
    }


def test_no_starting_properties_when_a_branch_gives_something_from_nothing() -> None:
    assert starting_keys("Observation.code.exists()", "Observation", MODEL) is None
    assert starting_keys("Observation.code | %resource.id", "Observation", MODEL) is None
    assert starting_keys("Observation.code.count()", "Observation", MODEL) is None


def test_the_spec_examples_get_exactly_the_rows_of_the_whole_expressions() -> None:
    folder = shared_testdata("examples", "r4")
    checked = 0
    for path in sorted(folder.glob("*.json")):
        resource = orjson.loads(path.read_bytes())
        type_ = resource["resourceType"]
        whole = [whole_expression(p) for p in indexed_parameters(type_)]
        expected = rows_of(resource, [e for e in whole if e is not None])
        assert rows_of(resource, extractors(type_)) == expected, path.name
        checked += 1
    assert checked > 700
