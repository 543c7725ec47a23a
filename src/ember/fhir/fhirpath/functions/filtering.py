"""Filtering, projection and ordering (spec 5.2, sort() from FHIRPath 2.1)."""

from __future__ import annotations

from functools import cmp_to_key
from typing import Any

from ember.fhir.fhirpath.functions.helpers import each, is_true
from ember.fhir.fhirpath.functions.registry import LAMBDA, SORT_KEY, TYPE, function
from ember.fhir.fhirpath.limits import charge_items
from ember.fhir.fhirpath.nodes import Node
from ember.fhir.fhirpath.operations import compare_items, equal_items, singleton
from ember.fhir.fhirpath.types import TypeTest


@function("where", LAMBDA)
def where(env: Any, items: list[Any], criteria: Any) -> list[Any]:
    out = []
    saved = env.index
    try:
        for index, item in enumerate(items):
            env.index = index
            result = criteria([item], env)
            if result and ((result[0] is True and len(result) == 1) or is_true(result, "where()")):
                out.append(item)
    finally:
        env.index = saved
    return out


@function("select", LAMBDA)
def select(env: Any, items: list[Any], projection: Any) -> list[Any]:
    out: list[Any] = []
    for _, result in each(env, items, projection):
        charge_items(len(result))
        out.extend(result)
    return out


@function("repeat", LAMBDA)
def repeat(env: Any, items: list[Any], projection: Any) -> list[Any]:
    """Apply the projection to its own results until nothing new turns up."""
    out: list[Any] = []
    pending = items
    while pending:
        found: list[Any] = []
        for _, result in each(env, pending, projection):
            for item in result:
                if not any(_same(item, seen) for seen in out):
                    charge_items(1)
                    out.append(item)
                    found.append(item)
        pending = found
    return out


def _same(a: Any, b: Any) -> bool:
    # elements are the same node when they are the same JSON; values by equality
    if a.__class__ is Node and a.data.__class__ is dict:
        return b.__class__ is Node and a.data is b.data
    return equal_items(a, b) is True


@function("ofType", TYPE)
def of_type(env: Any, items: list[Any], test: TypeTest) -> list[Any]:
    return [result for item in items if (result := test.as_(item)) is not None]


@function("sort", SORT_KEY, required=0)
def sort(env: Any, items: list[Any], *keys: tuple[Any, bool]) -> list[Any]:
    if not keys:
        return sorted(items, key=cmp_to_key(_compare))
    rows = [
        (item, [singleton(key([item], env), "sort()") for key, _ in keys])
        for item, _ in each(env, items, _focus)
    ]

    def compare_rows(a: tuple[Any, list[Any]], b: tuple[Any, list[Any]]) -> int:
        for (_, descending), x, y in zip(keys, a[1], b[1], strict=True):
            if x is None or y is None:  # empty keys first, whatever the direction
                result = (x is not None) - (y is not None)
            else:
                result = -_compare(x, y) if descending else _compare(x, y)
            if result:
                return result
        return 0

    return [item for item, _ in sorted(rows, key=cmp_to_key(compare_rows))]


def _focus(focus: list[Any], env: Any) -> list[Any]:
    return focus


def _compare(a: Any, b: Any) -> int:
    if a is None or b is None:  # empty keys sort first
        return (a is not None) - (b is not None)
    return compare_items(a, b) or 0
