"""Slicing (profiling.html#slicing): which items of a sliced element belong to a slice,
and the rules of the slicing itself.

A slice's members are told apart by its slicing's discriminators, each a path below the
item and a kind:
- value / pattern: the value there equals (contains) the slice's fixed[x] / pattern[x];
- exists: something is there (the slice's element there has min >= 1) or not (max 0);
- type: the item's type (a choice's key, a resource's resourceType) is one the slice's
  element there allows; choice slices named after their type (`value[x]:valueQuantity`)
  need no declared slicing;
- profile: the value there conforms to a profile its element names (type.profile).
A slicing whose discriminators cannot be evaluated (no fixed value to compare, a
`resolve()` path) is not used: its slices are not checked rather than misjudged.

The slicing rules: `closed` (every item must belong to a slice), `openAtEnd` (items
that belong to none come last), `ordered` (items in the order of the slices).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ember.fhir.issues import Issue
from ember.fhir.validation.located import (
    Located,
    descend,
    fixed_or_pattern,
    matches,
    type_codes,
)

Lookup = Callable[[str], dict[str, Any] | None]
# Whether a value of a type conforms to a profile (found by the lookup)
Conforms = Callable[[Any, str, str, Lookup], bool]
# Whether an item belongs to a slice
Matcher = Callable[[Located, Lookup], bool]
ElementsById = dict[str, dict[str, Any]]


def slice_matcher(
    by_id: ElementsById, base_id: str, slice_name: str, conforms: Conforms
) -> Matcher | None:
    """How to tell the members of slice `slice_name` of element `base_id`; None when
    its discriminators cannot be evaluated."""
    slice_id = f"{base_id}:{slice_name}"
    slicing = by_id.get(base_id, {}).get("slicing")
    discriminators = slicing.get("discriminator", []) if slicing else []
    if not discriminators:
        return _implied_type_matcher(by_id, base_id, slice_name)
    tests: list[Callable[[Located, Lookup], bool]] = []
    for discriminator in discriminators:
        kind, path = discriminator.get("type"), discriminator.get("path", "$this")
        if not isinstance(path, str) or "(" in path:
            return None  # resolve(), extension('...') and other functions
        target = slice_id if path == "$this" else f"{slice_id}.{path}"
        steps = [] if path == "$this" else path.split(".")
        if target not in by_id and f"{target}[x]" in by_id:  # "value" names value[x]
            target, steps = f"{target}[x]", [*steps[:-1], f"{steps[-1]}[x]"]
        element = by_id.get(target)
        if path == "url" and fixed_or_pattern(element or {}) is None:
            element = _extension_url(by_id.get(slice_id)) or element
        test = _test(kind, steps, element, conforms)
        if test is None:
            return None
        tests.append(test)
    return lambda node, lookup: all(test(node, lookup) for test in tests)


def _extension_url(slice_: dict[str, Any] | None) -> dict[str, Any] | None:
    """An extension slice given by its profile alone (`type.profile`, the usual way): its
    url is that profile's canonical URL (profiling.html#slicing, extensions by url)."""
    types = slice_.get("type") if slice_ else None
    if not isinstance(types, list) or len(types) != 1 or not isinstance(types[0], dict):
        return None
    profiles = types[0].get("profile")
    if types[0].get("code") != "Extension" or not isinstance(profiles, list) or len(profiles) != 1:
        return None
    return {"fixedUri": str(profiles[0]).split("|", 1)[0]}


def _implied_type_matcher(by_id: ElementsById, base_id: str, slice_name: str) -> Matcher | None:
    """`value[x]:valueQuantity`: the slice of the choice's Quantity values."""
    stem = base_id.rsplit(".", 1)[-1].removesuffix("[x]")
    if not base_id.endswith("[x]") or not slice_name.startswith(stem):
        return None
    types = type_codes(by_id.get(f"{base_id}:{slice_name}"))
    named = slice_name[len(stem) :]
    # the slice's own type, else the type its name says (a copy of the choice has all)
    wanted = types if len(types) == 1 else frozenset({named, named[:1].lower() + named[1:]})
    return lambda node, lookup: node.type_name in wanted


def _test(
    kind: Any, steps: list[str], element: dict[str, Any] | None, conforms: Conforms
) -> Callable[[Located, Lookup], bool] | None:
    if element is None:
        return None
    if kind in ("value", "pattern"):
        expected = fixed_or_pattern(element)
        if expected is None:
            return None
        how, value = expected
        return lambda node, lookup: any(
            matches(how, found.value, value) for found in descend([node], steps)
        )
    if kind == "exists":
        if element.get("min", 0) >= 1:
            return lambda node, lookup: bool(descend([node], steps))
        if element.get("max") == "0":
            return lambda node, lookup: not descend([node], steps)
        return None
    if kind == "type":
        types = type_codes(element)
        if not types:
            return None
        return lambda node, lookup: any(
            found.type_name in types for found in descend([node], steps)
        )
    if kind == "profile":
        profiles = [
            (str(t.get("code")), url)
            for t in element.get("type", ())
            if isinstance(t, dict)
            for url in t.get("profile", ())
        ]
        if not profiles:
            return None
        return lambda node, lookup: any(
            conforms(found.value, found.type_name or type_code, url, lookup)
            for found in descend([node], steps)
            for type_code, url in profiles
        )
    return None


@dataclass(frozen=True, slots=True)
class SlicingRules:
    """The rules of one sliced element, with the matchers of its slices in order."""

    element_id: str
    closed: bool
    open_at_end: bool
    ordered: bool
    slices: tuple[tuple[str, Matcher], ...]  # slice name, matcher

    @classmethod
    def of(cls, by_id: ElementsById, element_id: str, conforms: Conforms) -> SlicingRules | None:
        """The rules worth checking (not plain open unordered slicing), if evaluable."""
        slicing = by_id[element_id].get("slicing") or {}
        rules = slicing.get("rules", "open")
        ordered = slicing.get("ordered") is True
        if rules == "open" and not ordered:
            return None
        prefix = f"{element_id}:"
        names = [
            id_[len(prefix) :]
            for id_ in by_id
            if id_.startswith(prefix) and "." not in id_[len(prefix) :]
        ]
        slices = []
        for name in names:
            matcher = slice_matcher(by_id, element_id, name, conforms)
            if matcher is None:
                return None
            slices.append((name, matcher))
        return cls(element_id, rules == "closed", rules == "openAtEnd", ordered, tuple(slices))

    def check(self, items: list[Located], lookup: Lookup, source: str, issues: list[Issue]) -> None:
        last_slice, unmatched_seen = -1, False
        for item in items:
            index = next(
                (i for i, (_, matcher) in enumerate(self.slices) if matcher(item, lookup)), None
            )
            if index is None:
                unmatched_seen = True
                if self.closed:
                    diagnostics = (
                        f"{self.element_id}: this element does not match any known slice "
                        f"and the slicing is closed {source}"
                    )
                    issues.append(Issue("error", "structure", diagnostics, item.path))
                continue
            if self.open_at_end and unmatched_seen:
                diagnostics = (
                    f"{self.element_id}: an element of slice {self.slices[index][0]} comes "
                    f"after elements of no slice, which must come last (openAtEnd) {source}"
                )
                issues.append(Issue("error", "structure", diagnostics, item.path))
            if self.ordered and index < last_slice:
                diagnostics = (
                    f"{self.element_id}: slice {self.slices[index][0]} is out of order "
                    f"(the slicing is ordered) {source}"
                )
                issues.append(Issue("error", "structure", diagnostics, item.path))
            last_slice = max(last_slice, index)
