"""Tree navigation (spec 5.8)."""

from __future__ import annotations

from typing import Any

from ember.fhir.fhirpath.functions.registry import function
from ember.fhir.fhirpath.nodes import children as children_of


@function("children")
def children(env: Any, items: list[Any]) -> list[Any]:
    out: list[Any] = []
    for item in items:
        out.extend(children_of(item, env.model))
    return out


@function("descendants")
def descendants(env: Any, items: list[Any]) -> list[Any]:
    """All descendants, each node before its own children (document order)."""
    model = env.model
    out: list[Any] = []
    stack: list[Any] = []
    for item in reversed(items):
        stack.extend(reversed(children_of(item, model)))
    while stack:
        node = stack.pop()
        out.append(node)
        stack.extend(reversed(children_of(node, model)))
    return out
