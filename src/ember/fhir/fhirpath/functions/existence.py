"""Existence functions (spec 5.1) and not()."""

from __future__ import annotations

from typing import Any

from ember.fhir.fhirpath.errors import FHIRPathError
from ember.fhir.fhirpath.functions.helpers import each, is_true
from ember.fhir.fhirpath.functions.registry import LAMBDA, VALUE, function
from ember.fhir.fhirpath.nodes import system_value
from ember.fhir.fhirpath.operations import contains_item, distinct, to_boolean


@function("empty")
def empty(env: Any, items: list[Any]) -> list[Any]:
    return [not items]


@function("exists", LAMBDA, required=0)
def exists(env: Any, items: list[Any], criteria: Any = None) -> list[Any]:
    if criteria is None:
        return [bool(items)]
    return [any(is_true(result, "exists()") for _, result in each(env, items, criteria))]


@function("all", LAMBDA)
def all_(env: Any, items: list[Any], criteria: Any) -> list[Any]:
    return [all(is_true(result, "all()") for _, result in each(env, items, criteria))]


def _booleans(items: list[Any], what: str) -> list[bool]:
    values = [system_value(item) for item in items]
    for value in values:
        if value.__class__ is not bool:
            raise FHIRPathError(f"{what} expects booleans")
    return values


@function("allTrue")
def all_true(env: Any, items: list[Any]) -> list[Any]:
    return [all(_booleans(items, "allTrue()"))]


@function("anyTrue")
def any_true(env: Any, items: list[Any]) -> list[Any]:
    return [any(_booleans(items, "anyTrue()"))]


@function("allFalse")
def all_false(env: Any, items: list[Any]) -> list[Any]:
    return [not any(_booleans(items, "allFalse()"))]


@function("anyFalse")
def any_false(env: Any, items: list[Any]) -> list[Any]:
    return [not all(_booleans(items, "anyFalse()"))]


@function("subsetOf", VALUE)
def subset_of(env: Any, items: list[Any], other: list[Any]) -> list[Any]:
    return [all(contains_item(other, item) for item in items)]


@function("supersetOf", VALUE)
def superset_of(env: Any, items: list[Any], other: list[Any]) -> list[Any]:
    return [all(contains_item(items, item) for item in other)]


@function("count")
def count(env: Any, items: list[Any]) -> list[Any]:
    return [len(items)]


@function("distinct")
def distinct_(env: Any, items: list[Any]) -> list[Any]:
    return distinct(items)


@function("isDistinct")
def is_distinct(env: Any, items: list[Any]) -> list[Any]:
    return [len(distinct(items)) == len(items)]


@function("not")
def not_(env: Any, items: list[Any]) -> list[Any]:
    value = to_boolean(items, "not()")
    return [] if value is None else [not value]
