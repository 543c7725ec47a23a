"""Subsetting and combining (spec 5.3, 5.4)."""

from __future__ import annotations

from typing import Any

from ember.fhir.fhirpath.errors import FHIRPathError
from ember.fhir.fhirpath.functions.helpers import integer_value
from ember.fhir.fhirpath.functions.registry import VALUE, function
from ember.fhir.fhirpath.limits import charge_items
from ember.fhir.fhirpath.operations import contains_item, distinct, union


@function("single")
def single(env: Any, items: list[Any]) -> list[Any]:
    if len(items) > 1:
        raise FHIRPathError(f"single() found {len(items)} items")
    return items


@function("first")
def first(env: Any, items: list[Any]) -> list[Any]:
    return items[:1]


@function("last")
def last(env: Any, items: list[Any]) -> list[Any]:
    return items[-1:]


@function("tail")
def tail(env: Any, items: list[Any]) -> list[Any]:
    return items[1:]


@function("skip", VALUE)
def skip(env: Any, items: list[Any], count: list[Any]) -> list[Any]:
    number = integer_value(count, "skip()")
    if number is None:
        return []
    return items[max(number, 0) :]


@function("take", VALUE)
def take(env: Any, items: list[Any], count: list[Any]) -> list[Any]:
    number = integer_value(count, "take()")
    if number is None or number <= 0:
        return []
    return items[:number]


@function("intersect", VALUE)
def intersect(env: Any, items: list[Any], other: list[Any]) -> list[Any]:
    return distinct([item for item in items if contains_item(other, item)])


@function("exclude", VALUE)
def exclude(env: Any, items: list[Any], other: list[Any]) -> list[Any]:
    return [item for item in items if not contains_item(other, item)]


@function("union", VALUE)
def union_(env: Any, items: list[Any], other: list[Any]) -> list[Any]:
    return union(items, other)


@function("combine", VALUE)
def combine(env: Any, items: list[Any], other: list[Any]) -> list[Any]:
    charge_items(len(items) + len(other))
    return items + other
