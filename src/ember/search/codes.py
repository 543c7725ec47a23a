"""Code sets that token modifiers search for (search.html#token): `:in` / `:not-in` a
shipped ValueSet's expansion, `:below` / `:above` a code in a shipped CodeSystem's
hierarchy (concept nesting, and the `subsumedBy` / `parent` properties)."""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from typing import Any

from ember.fhir import definitions
from ember.fhir.validation.terminology import terminology_for

Codes = frozenset[tuple[str, str]]  # (system, code)

# More codes than this in one search would make an unreasonably long statement.
MAX_CODES = 5000
_PARENT_PROPERTIES = frozenset({"subsumedBy", "parent"})


class UnknownCodes(LookupError):
    """The server cannot work out the codes asked for; the message says why."""


def value_set_codes(url: str, version: str = "r4") -> Codes:
    """The expansion of a shipped ValueSet; raises UnknownCodes."""
    terminology = terminology_for(version)
    if not terminology.is_value_set(url):
        raise UnknownCodes(f"the value set {url} is not known to this server")
    codes = terminology.expansion(url)
    if codes is None:
        raise UnknownCodes(
            f"the value set {url} cannot be expanded here (it uses filters or code systems "
            "this server does not ship)"
        )
    return _bounded(codes, url)


Links = dict[str, set[str]]  # code -> its parents (or children)


@cache
def _hierarchy(version: str) -> dict[str, tuple[Links, Links]]:
    """{code system url: (parents, children)} for the shipped complete code systems."""
    found: dict[str, tuple[Links, Links]] = {}
    for code_system in definitions.load(version, "CodeSystem"):
        if "url" in code_system and code_system.get("content") == "complete":
            parents: Links = {}
            _walk(code_system.get("concept", ()), None, parents)
            children: Links = {}
            for child, its_parents in parents.items():
                for parent in its_parents:
                    children.setdefault(parent, set()).add(child)
            found[code_system["url"]] = (parents, children)
    return found


def _walk(concepts: Iterable[dict[str, Any]], parent: str | None, into: Links) -> None:
    for concept in concepts:
        code = concept["code"]
        links = into.setdefault(code, set())
        if parent is not None:
            links.add(parent)
        for prop in concept.get("property", ()):
            if prop.get("code") in _PARENT_PROPERTIES and isinstance(prop.get("valueCode"), str):
                links.add(prop["valueCode"])
        _walk(concept.get("concept", ()), code, into)


def subsumption_codes(system: str, code: str, below: bool, version: str = "r4") -> Codes:
    """`code` with every code it subsumes (below) or that subsumes it (above), in the
    shipped code system `system`; raises UnknownCodes."""
    hierarchy = _hierarchy(version).get(system)
    if hierarchy is None:
        raise UnknownCodes(f"the code system {system} is not known to this server")
    parents, children = hierarchy
    if code not in parents:
        raise UnknownCodes(f"{code!r} is not a code of {system}")
    links = children if below else parents
    found = {code}
    frontier = [code]
    while frontier:
        following = [n for c in frontier for n in links.get(c, ()) if n not in found]
        found.update(following)
        frontier = following
    return _bounded(frozenset((system, c) for c in found), f"{system}|{code}")


def _bounded(codes: Codes, what: str) -> Codes:
    if len(codes) > MAX_CODES:
        raise UnknownCodes(f"{what} stands for {len(codes)} codes, more than {MAX_CODES}")
    return codes
