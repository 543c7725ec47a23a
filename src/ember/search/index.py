"""Index extraction: a resource -> the search index rows written with its version.

Every search parameter of the definitions whose type has an index table is compiled
once per resource type; its values become typed rows (see `ember.search.values`).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

from ember.fhir import fhirpath
from ember.search import fulltext, values
from ember.search.parameters import (
    FULLTEXT,
    RESOURCE_LEVEL,
    SearchParameter,
    parameters,
    revision,
)
from ember.search.text import normalize
from ember.store.base import IndexRows

log = logging.getLogger(__name__)

# The parameter types with an index table; composite and special are not indexed yet.
INDEXED_TYPES = frozenset({"string", "token", "date", "reference", "number", "quantity", "uri"})

# `X as T` / `X.as(T)` raise on several items; `ofType` keeps the ones of that type,
# which is what the definitions mean (R5 rewrote them so).
_AS_OPERATOR = re.compile(r"\s+as\s+([A-Za-z]+)")
_AS_FUNCTION = re.compile(r"\.as\(")


@dataclass(frozen=True, slots=True)
class Extractor:
    param: SearchParameter
    expression: fhirpath.Expression
    fallback: fhirpath.Expression | None  # with ofType for as, when the first one fails

    def evaluate(self, resource: dict[str, Any]) -> list[Any]:
        try:
            return self.expression.evaluate(resource, resolver=_type_only)
        except fhirpath.FHIRPathError:
            if self.fallback is None:
                raise
            return self.fallback.evaluate(resource, resolver=_type_only)


def _type_only(reference: str) -> dict[str, Any] | None:
    """resolve() at indexing time: enough for `where(resolve() is Patient)`."""
    match = values.REFERENCE.search(reference)
    return {"resourceType": match["type"], "id": match["id"]} if match else None


def _with_of_type(expression: str) -> str | None:
    rewritten = _AS_FUNCTION.sub(".ofType(", _AS_OPERATOR.sub(r".ofType(\1)", expression))
    return rewritten if rewritten != expression else None


@cache
def _compile(param: SearchParameter) -> Extractor | None:
    assert param.expression is not None
    try:
        expression = fhirpath.compile(param.expression)
        fallback_text = _with_of_type(param.expression)
        fallback = fhirpath.compile(fallback_text) if fallback_text else None
    except fhirpath.FHIRPathError as exc:
        log.warning("search parameter %s is not indexed: %s", param.url, exc)
        return None
    return Extractor(param, expression, fallback)


def indexed(param: SearchParameter) -> bool:
    """Whether the parameter has index rows (resource-level ones live in `resources`)."""
    return (
        param.type in INDEXED_TYPES and bool(param.expression) and param.code not in RESOURCE_LEVEL
    )


def extractors(resource_type: str) -> tuple[Extractor, ...]:
    """The extractors of the parameters in force (custom ones change them)."""
    return _extractors(resource_type, revision())


@lru_cache(maxsize=2048)
def _extractors(resource_type: str, in_force: int) -> tuple[Extractor, ...]:
    table = parameters()
    found: dict[str, SearchParameter] = {}
    for scope in ("Resource", "DomainResource", resource_type):
        found.update(table.get(scope, {}))
    compiled = (_compile(p) for p in found.values() if indexed(p))
    return tuple(e for e in compiled if e is not None)


# How the values of each parameter type become rows: (IndexRows field, item -> rows)
_ROWS: dict[str, tuple[str, Callable[[Any], Iterator[tuple[Any, ...]]]]] = {
    "string": ("strings", lambda item: ((normalize(s), s) for s in values.strings(item))),
    "token": ("tokens", values.tokens),
    "date": ("dates", values.dates),
    "reference": ("references", values.references),
    "number": ("numbers", lambda item: ((n,) for n in values.numbers(item))),
    "quantity": ("quantities", values.quantities),
    "uri": ("uris", lambda item: ((u,) for u in values.uris(item))),
}


# parameter type -> (modifier, item -> (system, code) tokens the modifier searches)
_DERIVED_TOKENS: dict[str, tuple[str, Callable[[Any], Iterator[tuple[str | None, str]]]]] = {
    "token": ("of-type", values.identifier_types),
    "reference": ("identifier", values.reference_identifiers),
}


def index_rows(resource: dict[str, Any], only: Collection[str] | None = None) -> IndexRows:
    """The index rows of a resource; with `only`, those of these parameters alone (the
    full-text row if _text or _content is among them)."""
    rows: dict[str, list[tuple[Any, ...]]] = {field: [] for field, _ in _ROWS.values()}
    rows["token_texts"] = []
    for extractor in extractors(resource["resourceType"]):
        code, kind = extractor.param.code, extractor.param.type
        if only is not None and code not in only:
            continue
        field, convert = _ROWS[kind]
        try:
            items = extractor.evaluate(resource)
            found = {(code, *row) for item in items for row in convert(item)}
        except (fhirpath.FHIRPathError, ValueError, KeyError, TypeError) as exc:
            # one odd value must not lose the resource: the parameter goes unindexed
            log.warning("cannot index %s for %s: %s", code, resource["resourceType"], exc)
            continue
        rows[field].extend(sorted(found, key=repr))
        if kind == "token":
            texts = {(code, normalize(t)) for item in items for t in values.token_texts(item)}
            rows["token_texts"].extend(sorted(texts))
        # tokens that modifiers search, under `code:modifier` (see ember.search.plan)
        derived = _DERIVED_TOKENS.get(kind)
        if derived is not None:
            modifier, convert_item = derived
            name = f"{code}:{modifier}"
            found = {(name, *token) for item in items for token in convert_item(item)}
            rows["tokens"].extend(sorted(found, key=repr))
    wanted = only is None or not FULLTEXT.isdisjoint(only)
    text = fulltext.document(resource) if wanted and fulltext.enabled() else None
    return IndexRows(**rows, fulltext=text)
