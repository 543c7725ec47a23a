"""A small internal expansion of the shipped ValueSets, enough for the base bindings,
and of the ValueSets and CodeSystems a server stores (from an IG package or the API),
which a `find` callback supplies for the URLs Ember does not ship.

A value set expands to a set of (system, code) pairs when that can be worked out from
what Ember has: `compose.include` of whole code systems (complete content), of listed
concepts, of other value sets, and filters on a complete code system's hierarchy
(`concept` is-a, descendent-of, is-not-a, =) or on its concepts' properties (=);
`exclude` of the same. Anything else (other filters, code systems Ember does not have,
such as SNOMED CT or LOINC) makes the expansion unknown, and an unknown expansion never
produces an error.

A code system's hierarchy is the nesting of its concepts and their `subsumedBy` and
`parent` properties.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import cache
from typing import Any

from ember.fhir import definitions

Codes = frozenset[tuple[str, str]]
# A stored resource of a type ("ValueSet", "CodeSystem") by canonical URL, if any
Find = Callable[[str, str], dict[str, Any] | None]
Links = dict[str, set[str]]  # code -> its parents (or children)

_PARENT_PROPERTIES = frozenset({"subsumedBy", "parent"})


class Hierarchy:
    """The concepts of a complete code system and how they subsume each other."""

    def __init__(self, concepts: Iterable[dict[str, Any]]) -> None:
        self.concepts: dict[str, dict[str, Any]] = {}
        self.parents: Links = {}
        self._walk(concepts, None)
        self.codes = frozenset(self.concepts)
        self.children: Links = {}
        for child, its_parents in self.parents.items():
            for parent in its_parents:
                self.children.setdefault(parent, set()).add(child)

    def _walk(self, concepts: Iterable[dict[str, Any]], parent: str | None) -> None:
        for concept in concepts:
            code = concept["code"]
            self.concepts.setdefault(code, concept)
            links = self.parents.setdefault(code, set())
            if parent is not None:
                links.add(parent)
            for prop in concept.get("property", ()):
                parent_code = prop.get("valueCode")
                if prop.get("code") in _PARENT_PROPERTIES and isinstance(parent_code, str):
                    links.add(parent_code)
            self._walk(concept.get("concept", ()), code)

    def related(self, code: str, below: bool) -> set[str]:
        """`code` and every code it subsumes (below) or that subsumes it (above)."""
        links = self.children if below else self.parents
        found = {code}
        frontier = [code]
        while frontier:
            following = [n for c in frontier for n in links.get(c, ()) if n not in found]
            found.update(following)
            frontier = following
        return found

    def filtered(self, prop: Any, op: Any, value: Any) -> set[str] | None:
        """The codes a ValueSet filter selects (valueset.html#filter), None if unknown."""
        if not isinstance(value, str):
            return None
        if prop == "concept" and op in ("is-a", "descendent-of", "is-not-a"):
            below = self.related(value, below=True) if value in self.concepts else set()
            if op == "is-not-a":
                return set(self.codes - below)
            return below - {value} if op == "descendent-of" else below
        if prop == "concept" and op == "=":
            return {value} & self.codes
        if op == "=":
            return {code for code, concept in self.concepts.items() if _has(concept, prop, value)}
        return None


def _has(concept: dict[str, Any], name: Any, value: str) -> bool:
    """Whether a concept has property `name` with `value` (written as a string)."""
    for prop in concept.get("property", ()):
        if prop.get("code") == name:
            found = next((v for k, v in prop.items() if k.startswith("value")), None)
            text = str(found).lower() if isinstance(found, bool) else str(found)
            if text == value:
                return True
    return False


class Terminology:
    """The shipped ValueSets and CodeSystems of one FHIR version (then those `find`
    supplies), expanded on demand."""

    def __init__(self, version: str, find: Find | None = None) -> None:
        self._value_sets = {vs["url"]: vs for vs in definitions.load(version, "ValueSet")}
        self._code_systems = {cs["url"]: cs for cs in definitions.load(version, "CodeSystem")}
        self._find = find
        self._expansions: dict[str, Codes | None] = {}
        self._bare_codes: dict[str, frozenset[str] | None] = {}
        self._hierarchies: dict[str, Hierarchy | None] = {}

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
        """Whether the value set is shipped."""
        return url.split("|", 1)[0] in self._value_sets

    def knows_value_set(self, url: str) -> bool:
        """Whether the value set is shipped or stored."""
        return self._resource("ValueSet", url.split("|", 1)[0]) is not None

    def hierarchy(self, system: str) -> Hierarchy | None:
        """The hierarchy of a complete code system, shipped or stored; None if unknown."""
        if system not in self._hierarchies:
            code_system = self._resource("CodeSystem", system)
            complete = code_system is not None and code_system.get("content") == "complete"
            self._hierarchies[system] = (
                Hierarchy(code_system.get("concept", ())) if complete and code_system else None
            )
        return self._hierarchies[system]

    def is_code_system(self, url: str) -> bool:
        return url.split("|", 1)[0] in self._code_systems

    def code_system_codes(self, system: str) -> frozenset[str] | None:
        """Every code of a complete code system, or None when not known."""
        hierarchy = self.hierarchy(system)
        return None if hierarchy is None else hierarchy.codes

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
        selections: list[Codes] = []
        system = part.get("system")
        if "filter" in part:
            filtered = self._filtered(system, part["filter"])
            if filtered is None:
                return None
            selections.append(filtered)
        if system is not None:
            if "concept" in part:
                selections.append(frozenset((system, c["code"]) for c in part["concept"]))
            elif "filter" not in part:
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

    def _filtered(self, system: Any, filters: Iterable[dict[str, Any]]) -> Codes | None:
        """The codes of `system` all the filters select, None if unknown."""
        hierarchy = self.hierarchy(system) if isinstance(system, str) else None
        if hierarchy is None:
            return None
        codes = set(hierarchy.concepts)
        for item in filters:
            selected = hierarchy.filtered(item.get("property"), item.get("op"), item.get("value"))
            if selected is None:
                return None
            codes &= selected
        return frozenset((system, code) for code in codes)


@cache
def terminology_for(version: str) -> Terminology:
    return Terminology(version)
