"""SearchParameter resources stored on the server, as search parameters in force.

A stored SearchParameter whose status is active or draft adds its code to each of its
base types (all types for Resource and DomainResource); a retired or deleted one adds
nothing. One that has the url of a parameter Ember ships (loading the specification's
definitions stores them) is that parameter: it is kept, but changes nothing.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from ember.fhir import fhirpath
from ember.fhir.fhirpath.functions.strings import REGEX_FUNCTIONS
from ember.fhir.fhirpath.parser import parse
from ember.fhir.fhirpath.syntax import function_names
from ember.fhir.issues import Issue
from ember.fhir.model import Model
from ember.search.index import INDEXED_TYPES
from ember.search.parameters import SearchParameter, Table, shipped, shipped_urls
from ember.store.base import Reader

log = logging.getLogger(__name__)

_ALL_TYPES = frozenset({"Resource", "DomainResource"})
# Codes are used in URLs with `:modifier` and `.chain` after them; `_` starts the
# parameters of all resources (search.html#all).
_CODE = re.compile(r"[A-Za-z][A-Za-z0-9\-]*")
_IN_FORCE = frozenset({"active", "draft"})

# Composite parameters are indexed from the shipped definitions only: a custom one's
# components would need checking against the parameters in force first.
CUSTOM_TYPES = INDEXED_TYPES - {"composite"}


@dataclass(frozen=True, slots=True)
class Custom:
    resource_id: str
    bases: tuple[str, ...]
    param: SearchParameter

    @property
    def types(self) -> tuple[str, ...] | None:
        """The resource types it applies to; None: all of them."""
        return None if _ALL_TYPES & set(self.bases) else self.bases

    def indexing(self) -> tuple[object, ...]:
        """What decides its index rows (a change of anything else needs no rebuild)."""
        p = self.param
        return (p.code, p.type, p.expression, self.types)


def definition(resource: dict[str, Any], resource_id: str) -> Custom | None:
    """The parameter a stored SearchParameter puts in force, if any (see module doc)."""
    if resource.get("status") not in _IN_FORCE or resource.get("url") in shipped_urls():
        return None
    if not _usable(resource):  # stored before these checks existed: left out
        log.warning("SearchParameter/%s cannot be applied: left out of search", resource_id)
        return None
    param = SearchParameter.from_resource(resource)
    return Custom(resource_id, tuple(resource["base"]), param)


def _usable(resource: dict[str, Any]) -> bool:
    code, bases, expression = resource.get("code"), resource.get("base"), resource.get("expression")
    return (
        isinstance(code, str)
        and bool(_CODE.fullmatch(code))
        and resource.get("type") in INDEXED_TYPES
        and isinstance(expression, str)
        and isinstance(resource.get("url"), str)
        and isinstance(bases, list)
        and all(isinstance(b, str) for b in bases)
    )


def load(reader: Reader) -> dict[str, Custom]:
    """The custom parameters stored, by resource id."""
    rows = reader.query(
        "SELECT r.id, v.content FROM resources r "
        "JOIN resource_versions v ON v.res_pk = r.pk AND v.version = r.version "
        "WHERE r.type = ? AND r.deleted = ?",
        ["SearchParameter", False],
    )
    found = (definition(orjson.loads(content), id_) for id_, content in rows)
    return {custom.resource_id: custom for custom in found if custom is not None}


def table(customs: Iterable[Custom]) -> Table:
    """{base: {code: parameter}} of custom parameters, for `parameters.install`."""
    by_base: Table = {}
    for custom in customs:
        for base in custom.bases:
            by_base.setdefault(base, {})[custom.param.code] = custom.param
    return by_base


def _issue(message: str, expression: str, code: str = "invalid") -> Issue:
    return Issue("error", code, message, f"SearchParameter.{expression}")


def _shipped_on(type_: str, code: str) -> bool:
    table = shipped()
    return any(code in table.get(scope, {}) for scope in (type_, "DomainResource", "Resource"))


def _clashes(code: str, bases: tuple[str, ...], model: Model) -> list[str]:
    """The types on which `code` is already a parameter Ember ships."""
    types = sorted(model.resource_types) if _ALL_TYPES & set(bases) else bases
    return [t for t in types if _shipped_on(t, code)]


def check(
    resource: dict[str, Any], model: Model, stored: Mapping[str, Custom] | None = None
) -> list[Issue]:
    """What keeps a SearchParameter from being a parameter Ember can apply; clashes with
    `stored` custom ones are checked if given."""
    if resource.get("url") in shipped_urls():
        return []
    issues: list[Issue] = []
    code, kind = resource.get("code"), resource.get("type")
    if not isinstance(code, str) or not _CODE.fullmatch(code):
        issues.append(
            _issue(f"code {code!r} must be letters, digits and '-', starting with a letter", "code")
        )
    if kind not in CUSTOM_TYPES:
        supported = ", ".join(sorted(CUSTOM_TYPES))
        issues.append(
            _issue(f"type {kind!r} is not supported (only {supported})", "type", "not-supported")
        )
    bases = resource.get("base", ())
    for n, base in enumerate(bases):
        if base not in _ALL_TYPES and not model.is_resource_type(base):
            issues.append(_issue(f"{base!r} is not a resource type", f"base[{n}]"))
    for n, target in enumerate(resource.get("target", ())):
        if not model.is_resource_type(target):
            issues.append(_issue(f"{target!r} is not a resource type", f"target[{n}]"))
    expression = resource.get("expression")
    if not isinstance(expression, str) or not expression.strip():
        issues.append(_issue("expression is required to index the parameter", "expression"))
    else:
        try:
            fhirpath.compile(expression)
            untimed = sorted(set(function_names(parse(expression))) & REGEX_FUNCTIONS)
        except fhirpath.FHIRPathError as exc:
            issues.append(_issue(f"expression does not compile: {exc}", "expression"))
        else:
            if untimed:
                issues.append(
                    _issue(
                        f"expression uses {', '.join(untimed)}: regular expressions are not "
                        "allowed in custom search parameters (their time cannot be bounded)",
                        "expression",
                        "not-supported",
                    )
                )
    if issues or not isinstance(code, str):
        return issues
    taken = _clashes(code, tuple(bases), model)[:5]
    others = (
        c
        for c in (stored or {}).values()
        if c.param.code == code
        and c.resource_id != resource.get("id")
        and (c.types is None or _ALL_TYPES & set(bases) or set(c.types) & set(bases))
    )
    taken += [f"{', '.join(c.bases)} (SearchParameter/{c.resource_id})" for c in others]
    if taken:
        issues.append(
            _issue(
                f"code {code!r} is already a search parameter of {', '.join(taken)}",
                "code",
                "business-rule",
            )
        )
    return issues
