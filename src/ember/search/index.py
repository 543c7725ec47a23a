"""Index extraction: a resource -> the search index rows written with its version.

Every search parameter of the definitions whose type has an index table is compiled
once per resource type; its values become typed rows (see `ember.search.values`).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass, replace
from functools import cache, lru_cache, partial
from typing import Any

from ember.fhir import fhirpath
from ember.fhir.fhirpath import limits as fhirpath_limits
from ember.fhir.model import get_model
from ember.search import branches, fulltext, values
from ember.search.parameters import (
    FULLTEXT,
    RESOURCE_LEVEL,
    SearchParameter,
    components,
    parameters,
    revision,
    shipped_urls,
)
from ember.search.text import normalize
from ember.store.base import COMPONENT_COLUMNS, COMPOSITE_COLUMNS, IndexRows, contained_type

log = logging.getLogger(__name__)

# The parameter types with an index table; special ones are not indexed.
INDEXED_TYPES = frozenset(
    {"string", "token", "date", "reference", "number", "quantity", "uri", "composite"}
)

# What evaluating a custom parameter's expression on one resource may build in all (see
# ember.fhir.fhirpath.limits): FHIR's limit on one string (1 MiB characters), and items
# enough for any real resource. Beyond them its value is dropped with a warning.
CUSTOM_MAX_CHARS = 1 << 20
CUSTOM_MAX_ITEMS = 100_000

# `X as T` / `X.as(T)` raise on several items; `ofType` keeps the ones of that type,
# which is what the definitions mean (R5 rewrote them so).
_AS_OPERATOR = re.compile(r"\s+as\s+([A-Za-z]+)")
_AS_FUNCTION = re.compile(r"\.as\(")


@dataclass(frozen=True, slots=True)
class Extractor:
    param: SearchParameter
    expression: fhirpath.Expression
    fallback: fhirpath.Expression | None  # with ofType for as, when the first one fails
    # a composite's parts, evaluated on each item its expression selects
    components: tuple[Extractor, ...] = ()
    # the resource properties the expression starts from (None: unknown); a resource
    # with none of them has no values for it, so it is not evaluated
    keys: frozenset[str] | None = None
    trusted: bool = True  # shipped; a custom one is evaluated within bounds

    def evaluate(self, resource: dict[str, Any], item: Any = None) -> list[Any]:
        """The values in a resource (or, for a component, in one item of it)."""
        if self.trusted:
            return self._evaluate(resource, item)
        with fhirpath_limits.bounded(CUSTOM_MAX_CHARS, CUSTOM_MAX_ITEMS):
            return self._evaluate(resource, item)

    def _evaluate(self, resource: dict[str, Any], item: Any) -> list[Any]:
        try:
            return self.expression.evaluate(resource, context=item, resolver=_type_only)
        except fhirpath.FHIRPathError:
            if self.fallback is None:
                raise
            return self.fallback.evaluate(resource, context=item, resolver=_type_only)


def _type_only(reference: str) -> dict[str, Any] | None:
    """resolve() at indexing time: enough for `where(resolve() is Patient)`."""
    match = values.REFERENCE.search(reference)
    return {"resourceType": match["type"], "id": match["id"]} if match else None


def _with_of_type(expression: str) -> str | None:
    rewritten = _AS_FUNCTION.sub(".ofType(", _AS_OPERATOR.sub(r".ofType(\1)", expression))
    return rewritten if rewritten != expression else None


@cache
def _compile(param: SearchParameter, text: str | None = None) -> Extractor | None:
    """The extractor of a parameter (of its component `text`, for a composite's part)."""
    source = text or param.expression
    assert source is not None
    try:
        expression = fhirpath.compile(source)
        fallback_text = _with_of_type(source)
        fallback = fhirpath.compile(fallback_text) if fallback_text else None
    except fhirpath.FHIRPathError as exc:
        log.warning("search parameter %s is not indexed: %s", param.url, exc)
        return None
    trusted = param.url in shipped_urls()
    if param.type != "composite" or text is not None:
        return Extractor(param, expression, fallback, trusted=trusted)
    parts = components(param) or ()
    compiled = tuple(_compile(part.param, part.expression) for part in parts)
    if not parts or any(c is None for c in compiled):
        return None
    parts_compiled = tuple(c for c in compiled if c is not None)
    return Extractor(param, expression, fallback, parts_compiled, trusted=trusted)


def indexed(param: SearchParameter) -> bool:
    """Whether the parameter has index rows (resource-level ones live in `resources`)."""
    return (
        param.type in INDEXED_TYPES
        and bool(param.expression)
        and param.code not in RESOURCE_LEVEL
        and (param.type != "composite" or components(param) is not None)
    )


def extractors(resource_type: str) -> tuple[Extractor, ...]:
    """The extractors of the parameters in force (custom ones change them)."""
    return _extractors(resource_type, revision())


def indexed_parameters(resource_type: str) -> list[SearchParameter]:
    """Which parameters in force a resource of this type is indexed for."""
    table = parameters()
    found: dict[str, SearchParameter] = {}
    for scope in ("Resource", "DomainResource", resource_type):
        found.update(table.get(scope, {}))
    return [p for p in found.values() if indexed(p)]


@lru_cache(maxsize=2048)
def _extractors(resource_type: str, in_force: int) -> tuple[Extractor, ...]:
    compiled = (_for_type(p, resource_type) for p in indexed_parameters(resource_type))
    return tuple(e for e in compiled if e is not None)


@cache
def _for_type(param: SearchParameter, resource_type: str) -> Extractor | None:
    """How a parameter is extracted from one resource type: only the union branches
    that can match the type are evaluated, and only on resources that have an element
    they start from (ember.search.branches). Composites are compiled whole."""
    assert param.expression is not None
    if param.type == "composite":
        return _compile(param)
    model = get_model()
    own = branches.for_type(param.expression, resource_type, model)
    extractor = _compile(param, own) if own is not None else None
    if extractor is None or own is None:
        return None
    return replace(extractor, keys=branches.starting_keys(own, resource_type, model))


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


# Where each component type's values go in a composite index row
_COMPONENT_SLOTS = {
    kind: tuple(COMPOSITE_COLUMNS.index(column) for column in columns)
    for kind, columns in COMPONENT_COLUMNS.items()
}


# Component values already worked out within one resource: (expression, id of the item)
# -> (the item, kept so its id stays its own, and the rows). Composites share parts:
# Observation's code-value-* all read `code` of the same item.
ComponentMemo = dict[tuple[str, int], tuple[Any, list[tuple[Any, ...]]]]


def _component_rows(
    part: Extractor,
    resource: dict[str, Any],
    item: Any,
    convert: Callable[[str], Callable[[Any], Iterator[tuple[Any, ...]]]],
    memo: ComponentMemo,
) -> list[tuple[Any, ...]]:
    key = (part.expression.text, id(item))
    known = memo.get(key)
    if known is not None and known[0] is item:
        return known[1]
    to_rows = convert(part.param.type)
    rows = [row for value in part.evaluate(resource, item) for row in to_rows(value)]
    memo[key] = (item, rows)
    return rows


def _composite_rows(
    extractor: Extractor,
    resource: dict[str, Any],
    items: list[Any],
    convert: Callable[[str], Callable[[Any], Iterator[tuple[Any, ...]]]],
    memo: ComponentMemo,
) -> set[tuple[Any, ...]]:
    """A row per value of each component of each item, numbered by item and component,
    so that a search matches the components of one item together. An item lacking a
    component can match no search and gets no rows (the last component, usually the
    value, is looked at first: it is the one most often missing)."""
    found: set[tuple[Any, ...]] = set()
    for number, item in enumerate(items):
        parts: list[tuple[int, list[tuple[Any, ...]]]] = []
        for position in reversed(range(len(extractor.components))):
            part = extractor.components[position]
            rows = _component_rows(part, resource, item, convert, memo)
            if not rows:
                break
            parts.append((position, rows))
        else:
            for position, rows in parts:
                kind = extractor.components[position].param.type
                for row in rows:
                    cells: list[Any] = [None] * len(COMPOSITE_COLUMNS)
                    cells[:3] = [extractor.param.code, number, position]
                    for slot, cell in zip(_COMPONENT_SLOTS[kind], row, strict=True):
                        cells[slot] = cell
                    found.add(tuple(cells))
    return found


def _ordered(rows: set[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """The rows in a fixed order (values of mixed types: compared by repr); repr is
    dear, and a single row needs no sorting."""
    return sorted(rows, key=repr) if len(rows) > 1 else list(rows)


def index_rows(
    resource: dict[str, Any],
    local_base: str | None = None,
    only: Collection[str] | None = None,
) -> IndexRows:
    """The index rows of a resource; `local_base` is this server's base URL (absolute
    references under it point here, any other absolute URL elsewhere); with `only`, the
    rows of these parameters alone (the full-text row if _text or _content is among
    them). The resources it contains get rows of their own (search.html#contained)."""
    rows = rows_of(resource, extractors(resource["resourceType"]), local_base, only)
    inside = list(_contained(resource))
    if not inside:
        return rows
    local = {f"#{local}": contained_type(type_) for type_, local, _ in inside}
    contained = [
        (type_, local_id, _to_contained(rows_of(item, extractors(type_), local_base, only), local))
        for type_, local_id, item in inside
    ]
    return replace(_to_contained(rows, local), contained=contained)


def _to_contained(rows: IndexRows, local: dict[str, str]) -> IndexRows:
    """References to contained resources (`#id`, by `local`: `#id` -> their row type)
    target their rows (see ember.store.base.CONTAINED_PREFIX)."""
    references = []
    for row in rows.references:
        code, type_, _, _, url = row
        inside = type_ is None and url in local
        references.append((code, local[url], url, None, url) if inside else row)
    return replace(rows, references=references)


def _contained(resource: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(type, local id, resource) of the contained resources a reference can name: those
    with an id (the first of a repeated one) and a known type."""
    seen: set[str] = set()
    model = get_model()
    for item in resource.get("contained", ()):
        if not isinstance(item, dict):
            continue
        type_, local = item.get("resourceType"), item.get("id")
        if not isinstance(local, str) or not isinstance(type_, str) or local in seen:
            continue
        if model.is_resource_type(type_):
            seen.add(local)
            yield type_, local, item


def rows_of(
    resource: dict[str, Any],
    using: Iterable[Extractor],
    local_base: str | None = None,
    only: Collection[str] | None = None,
) -> IndexRows:
    """The index rows the extractors give for a resource (see index_rows)."""
    rows: dict[str, list[tuple[Any, ...]]] = {field: [] for field, _ in _ROWS.values()}
    rows["token_texts"] = []
    rows["composites"] = []
    memo: ComponentMemo = {}
    to_references = partial(values.references, local_base=local_base)

    def converter(kind: str) -> Callable[[Any], Iterator[tuple[Any, ...]]]:
        return to_references if kind == "reference" else _ROWS[kind][1]

    for extractor in using:
        if extractor.keys is not None and extractor.keys.isdisjoint(resource):
            continue
        code, kind = extractor.param.code, extractor.param.type
        if only is not None and code not in only:
            continue
        try:
            items = extractor.evaluate(resource)
            if not items:  # most parameters of a resource: no rows of any kind
                continue
            if kind == "composite":
                composites = _composite_rows(extractor, resource, items, converter, memo)
                rows["composites"].extend(_ordered(composites))
                continue
            field, to_rows = _ROWS[kind][0], converter(kind)
            found = {(code, *row) for item in items for row in to_rows(item)}
        except (fhirpath.FHIRPathError, ValueError, KeyError, TypeError) as exc:
            # one odd value must not lose the resource: the parameter goes unindexed
            log.warning(
                "cannot index %s (%s) for %s: %s",
                code,
                extractor.param.url,
                resource["resourceType"],
                exc,
            )
            continue
        rows[field].extend(_ordered(found))
        if kind == "token":
            texts = {(code, normalize(t)) for item in items for t in values.token_texts(item)}
            rows["token_texts"].extend(sorted(texts))
        # tokens that modifiers search, under `code:modifier` (see ember.search.plan)
        derived = _DERIVED_TOKENS.get(kind)
        if derived is not None:
            modifier, convert_item = derived
            name = f"{code}:{modifier}"
            found = {(name, *token) for item in items for token in convert_item(item)}
            rows["tokens"].extend(_ordered(found))
    wanted = only is None or not FULLTEXT.isdisjoint(only)
    text = fulltext.document(resource) if wanted and fulltext.enabled() else None
    return IndexRows(**rows, fulltext=text)
