"""Index extraction: a resource -> the search index rows written with its version.

Each indexed parameter's FHIRPath expression (from the definitions) is compiled once
and evaluated over the resource; the values become typed rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from typing import Any

from ember.fhir import fhirpath
from ember.search.parameters import parameter
from ember.store.base import IndexRows

# The token parameters indexed so far; the search engine grows this to every
# parameter of the definitions.
INDEXED_TOKEN_PARAMETERS = frozenset({"identifier"})


@cache
def _extractors(resource_type: str) -> tuple[tuple[str, fhirpath.Expression], ...]:
    extractors = []
    for code in sorted(INDEXED_TOKEN_PARAMETERS):
        param = parameter(resource_type, code)
        if param is not None and param.type == "token" and param.expression:
            extractors.append((code, fhirpath.compile(param.expression)))
    return tuple(extractors)


def token_values(item: Any) -> Iterator[tuple[str | None, str]]:
    """(system, code) pairs a value stands for, by its shape (search.html#token)."""
    if isinstance(item, bool):
        yield None, "true" if item else "false"
    elif isinstance(item, str):
        yield None, item
    elif isinstance(item, dict):
        if "coding" in item:  # CodeableConcept
            for coding in item["coding"]:
                yield from token_values(coding)
        elif "code" in item and isinstance(item["code"], str):  # Coding
            yield item.get("system"), item["code"]
        elif "value" in item and isinstance(item["value"], str):  # Identifier, ContactPoint
            yield item.get("system"), item["value"]


def index_rows(resource: dict[str, Any]) -> IndexRows:
    tokens: list[tuple[str, str | None, str]] = []
    for code, expression in _extractors(resource["resourceType"]):
        seen: set[tuple[str | None, str]] = set()
        for item in expression.evaluate(resource):
            for value in token_values(item):
                if value not in seen:
                    seen.add(value)
                    tokens.append((code, value[0], value[1]))
    return IndexRows(tokens=tokens)
