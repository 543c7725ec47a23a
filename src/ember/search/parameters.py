"""The search parameters a FHIR version defines, by resource type and code."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from ember.fhir import definitions


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


# Parameters every resource type has (search.html#all), answered from the resource
# table itself rather than from an index.
RESOURCE_LEVEL = frozenset({"_id", "_lastUpdated"})


@cache
def parameters(version: str = "r4") -> dict[str, dict[str, SearchParameter]]:
    """{resource type (or "Resource"): {code: SearchParameter}} from the definitions."""
    by_type: dict[str, dict[str, SearchParameter]] = {}
    for sp in definitions.load(version, "SearchParameter"):
        param = SearchParameter(
            code=sp["code"],
            type=sp["type"],
            expression=sp.get("expression"),
            url=sp["url"],
            description=sp.get("description", ""),
            targets=tuple(sp.get("target", ())),
            components=tuple(
                (c["definition"], c["expression"]) for c in sp.get("component", ())
            ),
        )
        for base in sp.get("base", ()):
            by_type.setdefault(base, {})[param.code] = param
    return by_type


@cache
def by_url(version: str = "r4") -> dict[str, SearchParameter]:
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
