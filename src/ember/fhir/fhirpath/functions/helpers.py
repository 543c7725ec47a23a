"""Small helpers shared by the function modules."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ember.fhir.fhirpath.errors import FHIRPathError
from ember.fhir.fhirpath.nodes import system_value
from ember.fhir.fhirpath.operations import describe, singleton


def single_value(items: list[Any], what: str) -> Any:
    """The system value of a singleton collection; None if empty."""
    item = singleton(items, what)
    return None if item is None else system_value(item)


def string_value(items: list[Any], what: str) -> str | None:
    """A singleton string (None if empty); anything else is an error."""
    value = single_value(items, what)
    if value is not None and value.__class__ is not str:
        raise FHIRPathError(f"{what} expects a string, got {describe(value)}")
    return value


def integer_value(items: list[Any], what: str) -> int | None:
    value = single_value(items, what)
    if value is not None and value.__class__ is not int:
        raise FHIRPathError(f"{what} expects an integer, got {describe(value)}")
    return value


def each(env: Any, items: list[Any], expression: Any) -> Iterator[tuple[Any, list[Any]]]:
    """Evaluate a lambda argument per item, with $this and $index set."""
    saved = env.index
    try:
        for index, item in enumerate(items):
            env.index = index
            yield item, expression([item], env)
    finally:
        env.index = saved


def is_true(result: list[Any], what: str) -> bool:
    """Whether a criteria result counts as true (singleton evaluation, spec 4.5)."""
    if not result:
        return False
    if len(result) == 1 and result[0] is True:
        return True
    if len(result) > 1:
        raise FHIRPathError(f"{what} criteria must give a single boolean, got {len(result)} items")
    value = system_value(result[0])
    return value is True or value.__class__ is not bool
