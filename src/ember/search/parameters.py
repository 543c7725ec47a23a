"""The search parameters in force, by resource type and code: those a FHIR version
defines, plus the custom ones stored as SearchParameter resources (see `install`)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

from ember.fhir import definitions


@cache
def shipped_urls() -> frozenset[str]:
    """The urls of the parameters the definitions define (the others are custom)."""
    return frozenset(p.url for by_code in shipped().values() for p in by_code.values())


@dataclass(frozen=True, slots=True)
class SearchParameter:
    code: str
    type: str  # number, date, string, token, reference, composite, quantity, uri, special
    expression: str | None
    url: str
    description: str
    targets: tuple[str, ...] = ()  # resource types a reference parameter may point to
    # composite: (definition url of the component parameter, expression on each item)
    components: tuple[tuple[str, str], ...] = ()

    @classmethod
    def from_resource(cls, sp: dict[str, Any]) -> SearchParameter:
        """From a SearchParameter resource (shipped, or stored and checked)."""
        return cls(
            code=sp["code"],
            type=sp["type"],
            expression=sp.get("expression"),
            url=sp["url"],
            description=sp.get("description", ""),
            targets=tuple(sp.get("target", ())),
            components=tuple((c["definition"], c["expression"]) for c in sp.get("component", ())),
        )


# Parameters every resource type has (search.html#all), answered from the resource
# table itself rather than from an index.
RESOURCE_LEVEL = frozenset({"_id", "_lastUpdated"})
# Full-text parameters (search.html#text, #content), answered by ember.search.fulltext.
FULLTEXT = frozenset({"_text", "_content"})


Table = dict[str, dict[str, SearchParameter]]


# The package also carries the examples of searchparameter.html (`example` on _id,
# `example-reference` narrowing Condition.subject to Organization, ...): not definitions,
# and they would shadow the official parameters of the same code.
_EXAMPLE_ID = re.compile(r"example(-.*)?")


@cache
def shipped(version: str = "r4") -> Table:
    """{resource type (or "Resource"): {code: SearchParameter}} from the definitions."""
    by_type: Table = {}
    for sp in definitions.load(version, "SearchParameter"):
        if _EXAMPLE_ID.fullmatch(sp["id"]):
            continue
        param = SearchParameter.from_resource(sp)
        for base in sp.get("base", ()):
            by_type.setdefault(base, {})[param.code] = param
    return by_type


@dataclass(frozen=True, slots=True)
class _Registry:
    revision: int  # changes with every install: caches keyed by it stay correct
    table: Table | None  # shipped + custom; None: the shipped ones alone


_registry = _Registry(0, None)


def install(custom: Table) -> None:
    """Put custom parameters (by base type and code) in force for this process, replacing
    the custom ones installed before. Only for R4, the version custom ones are read for."""
    global _registry
    merged = {base: dict(by_code) for base, by_code in shipped().items()}
    for base, by_code in custom.items():
        merged.setdefault(base, {}).update(by_code)
    # one assignment: a search running meanwhile sees either table, never a mix
    _registry = _Registry(_registry.revision + 1, merged if custom else None)


def revision() -> int:
    """Which installed table is in force (index rows computed under another are stale)."""
    return _registry.revision


def parameters(version: str = "r4") -> Table:
    """The parameters in force: shipped and custom."""
    table = _registry.table
    return table if table is not None and version == "r4" else shipped(version)


def by_url(version: str = "r4") -> dict[str, SearchParameter]:
    """The parameters in force by canonical url (composites name their parts so)."""
    return _by_url(version, revision())


@lru_cache(maxsize=8)
def _by_url(version: str, revision: int) -> dict[str, SearchParameter]:
    return {p.url: p for scope in parameters(version).values() for p in scope.values()}


# The parameter types a composite's component may have: those whose values fit the
# columns of the composite index (see ember.search.index).
COMPONENT_TYPES = frozenset({"token", "quantity", "number", "date", "string", "reference"})


@dataclass(frozen=True, slots=True)
class Component:
    param: SearchParameter  # the parameter the component's values are compared as
    expression: str  # evaluated on each item the composite's expression selects


def components(param: SearchParameter, version: str = "r4") -> tuple[Component, ...] | None:
    """The parts of a composite parameter, None if any cannot be indexed."""
    found = []
    for url, expression in param.components:
        definition = by_url(version).get(url)
        if definition is None or definition.type not in COMPONENT_TYPES:
            return None
        found.append(Component(definition, expression))
    return tuple(found) or None


def parameter(resource_type: str, code: str, version: str = "r4") -> SearchParameter | None:
    """The parameter `code` on a type, including those defined on Resource/DomainResource."""
    table = parameters(version)
    for scope in (resource_type, "DomainResource", "Resource"):
        found = table.get(scope, {}).get(code)
        if found is not None:
            return found
    return None
