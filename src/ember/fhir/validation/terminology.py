"""A small internal expansion of the shipped ValueSets, enough for the base bindings,
and of the ValueSets and CodeSystems a server stores (from an IG package or the API),
which a `find` callback supplies for the URLs Ember does not ship.

A value set expands to a set of (system, code) pairs when that can be worked out from
what Ember ships: `compose.include` of whole code systems (complete content), of listed
concepts, and of other value sets; `exclude` of the same. Anything else (filters, code
systems Ember does not ship, such as SNOMED CT or LOINC) makes the expansion unknown,
and an unknown expansion never produces an error.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import cache
from typing import Any

from ember.fhir import definitions

Codes = frozenset[tuple[str, str]]
# A stored resource of a type ("ValueSet", "CodeSystem") by canonical URL, if any
Find = Callable[[str, str], dict[str, Any] | None]


class Terminology:
    """The shipped ValueSets and CodeSystems of one FHIR version (then those `find`
    supplies), expanded on demand."""

    def __init__(self, version: str, find: Find | None = None) -> None:
        self._value_sets = {vs["url"]: vs for vs in definitions.load(version, "ValueSet")}
        self._code_systems = {cs["url"]: cs for cs in definitions.load(version, "CodeSystem")}
        self._find = find
        self._expansions: dict[str, Codes | None] = {}
        self._system_codes: dict[str, frozenset[str] | None] = {}
        self._bare_codes: dict[str, frozenset[str] | None] = {}

    def _resource(self, type_: str, url: str) -> dict[str, Any] | None:
        shipped = self._value_sets if type_ == "ValueSet" else self._code_systems
        found = shipped.get(url)
        if found is None and self._find is not None:
            found = self._find(type_, url)
        return found

    def expansion(self, value_set_url: str) -> Codes | None:
        """The codes of a value set, or None when Ember cannot tell."""
        url = value_set_url.split("|", 1)[0]
        if url in self._expansions:
            return self._expansions[url]
        self._expansions[url] = None  # a value set that includes itself stays unknown
        value_set = self._resource("ValueSet", url)
        codes = self._expand(value_set) if value_set is not None else None
        self._expansions[url] = codes
        return codes

    def codes_without_systems(self, value_set_url: str) -> frozenset[str] | None:
        """The codes of a value set without their systems: a `code` carries none."""
        if value_set_url not in self._bare_codes:
            expansion = self.expansion(value_set_url)
            self._bare_codes[value_set_url] = (
                None if expansion is None else frozenset(code for _, code in expansion)
            )
        return self._bare_codes[value_set_url]

    def is_value_set(self, url: str) -> bool:
        return url.split("|", 1)[0] in self._value_sets

    def is_code_system(self, url: str) -> bool:
        return url.split("|", 1)[0] in self._code_systems

    def code_system_codes(self, system: str) -> frozenset[str] | None:
        """Every code of a complete shipped code system, or None when not known."""
        if system not in self._system_codes:
            code_system = self._resource("CodeSystem", system)
            if code_system is None or code_system.get("content") != "complete":
                self._system_codes[system] = None
            else:
                self._system_codes[system] = frozenset(_codes(code_system.get("concept", ())))
        return self._system_codes[system]

    def _expand(self, value_set: dict[str, Any]) -> Codes | None:
        compose = value_set.get("compose")
        if compose is None:
            return None
        included: set[tuple[str, str]] = set()
        for include in compose.get("include", ()):
            codes = self._part(include)
            if codes is None:
                return None
            included |= codes
        for exclude in compose.get("exclude", ()):
            codes = self._part(exclude)
            if codes is None:
                return None
            included -= codes
        return frozenset(included)

    def _part(self, part: dict[str, Any]) -> Codes | None:
        """The codes of one include or exclude: the intersection of what it names."""
        if "filter" in part:
            return None
        selections: list[Codes] = []
        system = part.get("system")
        if system is not None:
            if "concept" in part:
                selections.append(frozenset((system, c["code"]) for c in part["concept"]))
            else:
                codes = self.code_system_codes(system)
                if codes is None:
                    return None
                selections.append(frozenset((system, code) for code in codes))
        for url in part.get("valueSet", ()):
            codes = self.expansion(url)
            if codes is None:
                return None
            selections.append(codes)
        if not selections:
            return None
        result = selections[0]
        for codes in selections[1:]:
            result &= codes
        return result


def _codes(concepts: Iterable[dict[str, Any]]) -> Iterable[str]:
    for concept in concepts:
        yield concept["code"]
        yield from _codes(concept.get("concept", ()))


@cache
def terminology_for(version: str) -> Terminology:
    return Terminology(version)
