"""Profiles (profiling.html): a resource checked against a constraining StructureDefinition.

Each profile in the chain (bodytemp -> vitalsigns) contributes its differential (or its
snapshot, when it has no differential): every element it names is checked on the JSON,
per parent instance, for

- cardinality (min/max),
- fixed[x] (equal) and pattern[x] (the instance contains the pattern),
- the types a choice element is narrowed to (`value[x]` as Quantity only),
- the profile's own invariants (constraints whose source is the profile, or none), on
  the elements they are declared on, the root included, like the base's invariants,
- its required and extensible bindings (with the terminology the caller gives),
- slices (`coding:BodyTempCode`, slicing.py): the items that a slice's discriminators
  select count towards its cardinality, and the slice's own rules apply to them;
  closed, openAtEnd and ordered slicing.

Not checked yet: types narrowed on elements that are not choices, and discriminators
through `resolve()`. `mustSupport` is not a rule for instances
(profiling.html#mustsupport): it stays in the (generated) snapshot.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ember.fhir.fhirpath import FHIRPathError
from ember.fhir.fhirpath.nodes import Node
from ember.fhir.issues import Issue, has_errors
from ember.fhir.model import constraints_of
from ember.fhir.validation.bindings import check_binding
from ember.fhir.validation.invariants import Invariant, compiled, evaluate
from ember.fhir.validation.located import (
    Located,
    children,
    fixed_or_pattern,
    matches,
    type_codes,
)
from ember.fhir.validation.slicing import Matcher, SlicingRules, slice_matcher
from ember.fhir.validation.terminology import Terminology

Lookup = Callable[[str], dict[str, Any] | None]
# The terminology a profile's bindings are checked with, asked for only when needed
TerminologySource = Callable[[], Terminology]
_MAX_CHAIN = 16  # profiles derived from profiles, at most this deep


def check_profile(
    value: dict[str, Any],
    url: str,
    lookup: Lookup,
    *,
    type_name: str | None = None,
    path: str | None = None,
    terminology: TerminologySource | None = None,
) -> list[Issue]:
    """The issues of a resource (or of a `type_name` value at `path`, such as an
    extension) against the profile `url` and the profiles it derives from (their
    bindings only with a `terminology`)."""
    issues: list[Issue] = []
    type_name = type_name or value.get("resourceType", "")
    definition = lookup(url)
    if definition is None or definition.get("type") != type_name:
        return issues  # unknown, or for another type: reported by the validator
    for _ in range(_MAX_CHAIN):
        if definition is None or definition.get("derivation") != "constraint":
            break
        _profile(definition).check(value, type_name, path or type_name, lookup, terminology, issues)
        definition = lookup(definition.get("baseDefinition", ""))
    return issues


def _conforms(value: Any, type_name: str, url: str, lookup: Lookup) -> bool:
    """For profile discriminators: a value (of `type_name`) that meets profile `url`."""
    definition = lookup(url)
    if definition is None or not isinstance(value, dict):
        return False
    return not has_errors(check_profile(value, url, lookup, type_name=type_name, path=""))


# Worked-out profiles by id() of their definition, which they keep alive so that the id
# stays theirs; shipped definitions live as long as the model, stored ones are few
_PROFILES: dict[int, tuple[dict[str, Any], _Profile]] = {}
_MAX_PROFILES = 256


def _profile(definition: dict[str, Any]) -> _Profile:
    cached = _PROFILES.get(id(definition))
    if cached is not None and cached[0] is definition:
        return cached[1]
    if len(_PROFILES) >= _MAX_PROFILES:
        _PROFILES.clear()
    profile = _Profile(definition)
    _PROFILES[id(definition)] = (definition, profile)
    return profile


def _has_rule(element: dict[str, Any]) -> bool:
    """Whether an element says anything an instance can break."""
    return (
        element.get("min", 0) > 0
        or element.get("max", "*") != "*"
        or fixed_or_pattern(element) is not None
        or (element.get("path", "").endswith("[x]") and "type" in element)
        or _binding_of(element) is not None
        or "constraint" in element
    )


def _binding_of(element: dict[str, Any]) -> tuple[str, str] | None:
    binding = element.get("binding")
    if not isinstance(binding, dict):
        return None
    strength, value_set = binding.get("strength"), binding.get("valueSet")
    if strength in ("required", "extensible") and isinstance(value_set, str):
        return strength, value_set
    return None


class _Profile:
    """The elements of one profile, by id, and how to find what each one constrains."""

    def __init__(self, definition: dict[str, Any]) -> None:
        self.url = definition["url"]
        snapshot = (definition.get("snapshot") or {}).get("element", [])
        differential = (definition.get("differential") or {}).get("element", [])
        # the differential is what this profile adds; the snapshot also holds what it
        # inherits, such as the slicing of extensions by url
        elements = differential or snapshot
        # the snapshot (complete, or generated with the differential merged in) wins
        self.by_id = {e["id"]: e for e in [*differential, *snapshot] if "id" in e}
        # a differential need not start with the root element (Patient.birthDate alone)
        ids = [e["id"] for e in elements if isinstance(e.get("id"), str)]
        root = ids[0].split(".", 1)[0] if ids else ""
        named = [e for e in elements if isinstance(e.get("id"), str) and "." in e["id"]]
        self.rules = [_Rule.of(element, root) for element in named if _has_rule(element)]
        self.slicings = [
            (_Rule.of(element, root), rules)
            for element in named
            if "slicing" in element
            and ":" not in element["id"].rsplit(".", 1)[-1]  # not a re-slicing
            and (rules := SlicingRules.of(self.by_id, element["id"], _conforms)) is not None
        ]
        self._matchers: dict[str, Matcher | None] = {}  # by slice id
        self.root_id = root
        self.invariants = {
            element["id"]: found
            for element in elements
            if "id" in element and (found := self._own_invariants(element))
        }

    def _own_invariants(self, element: dict[str, Any]) -> tuple[Invariant, ...]:
        """The constraints the profile adds to an element, compiled; one that does not
        compile is left out (a stored profile may carry anything)."""
        found: list[Invariant] = []
        for constraint in constraints_of(element):
            if constraint.source in (None, self.url):
                try:
                    found += compiled([constraint], "r4")
                except FHIRPathError:
                    continue
        return tuple(found)

    def check(
        self,
        value: dict[str, Any],
        root: str,
        path: str,
        lookup: Lookup,
        terminology: TerminologySource | None,
        issues: list[Issue],
    ) -> None:
        selected: dict[str, list[Located] | None] = {}  # parents by id prefix, this run

        def parents_of(rule: _Rule) -> list[Located]:
            if rule.parent_key not in selected:
                start = [Located(value, path, value.get("resourceType"))]
                selected[rule.parent_key] = self._select(start, root, rule.parent_steps, lookup)
            return selected[rule.parent_key] or []  # None: a discriminator not evaluated

        source = f"(from {self.url})"
        if self.root_id in self.invariants:
            node = Node(value, root)  # the root element's id is the type's name
            evaluate(self.invariants[self.root_id], node, value, path, issues)
        for rule in self.rules:
            for parent in parents_of(rule):
                found = self._select([parent], rule.parent_id, rule.last_step, lookup)
                if found is None:
                    continue
                self._element(rule, parent.path, found, issues)
                if rule.binding is not None and terminology is not None:
                    self._binding(rule, found, terminology, issues)
                if rule.id in self.invariants:
                    only_type = self._only_type(rule.id)
                    for child in found:
                        node = Node(child.value, child.type_name or only_type)
                        evaluate(self.invariants[rule.id], node, value, child.path, issues)
        for rule, slicing in self.slicings:
            for parent in parents_of(rule):
                slicing.check(children(parent, rule.last_step[0]), lookup, source, issues)

    def _select(
        self, nodes: list[Located], prefix: str, steps: list[str], lookup: Lookup
    ) -> list[Located] | None:
        """Follow element id steps (`coding:BodyTempCode`) from `nodes`; None if a slice
        cannot be told apart."""
        for step in steps:
            name, _, slice_name = step.partition(":")
            nodes = [child for node in nodes for child in children(node, name)]
            base_id = f"{prefix}.{name}"
            if slice_name:
                slice_id = f"{base_id}:{slice_name}"
                if slice_id not in self._matchers:
                    self._matchers[slice_id] = slice_matcher(
                        self.by_id, base_id, slice_name, _conforms
                    )
                matcher = self._matchers[slice_id]
                if matcher is None:
                    return None
                nodes = [node for node in nodes if matcher(node, lookup)]
            prefix = f"{prefix}.{step}"
        return nodes

    def _only_type(self, element_id: str) -> str | None:
        """The type of an element's values when it has one (backbone elements' types
        are named by their path, as in the model)."""
        element = self.by_id.get(element_id, {})
        types = type_codes(element)
        if len(types) != 1:
            return None
        only = next(iter(types))
        return str(element.get("path", only)) if only in ("BackboneElement", "Element") else only

    def _binding(
        self,
        rule: _Rule,
        found: list[Located],
        terminology: TerminologySource,
        issues: list[Issue],
    ) -> None:
        assert rule.binding is not None
        strength, value_set = rule.binding
        only_type = self._only_type(rule.id)
        for child in found:
            type_name = child.type_name or only_type
            if type_name is not None:
                # named like the base binding's issue, so that a profile repeating
                # it adds no second issue
                check_binding(
                    terminology(),
                    strength,
                    value_set,
                    rule.id,
                    type_name,
                    child.value,
                    child.path,
                    issues,
                )

    def _element(
        self, rule: _Rule, parent_path: str, children: list[Located], issues: list[Issue]
    ) -> None:
        source = f"(from {self.url})"
        if len(children) < rule.min:
            what = "a matching slice" if rule.is_slice else "an element"
            diagnostics = (
                f"{rule.id}: minimum required = {rule.min}, but only found {len(children)}; "
                f"{what} is required {source}"
            )
            issues.append(Issue("error", "structure", diagnostics, parent_path))
        if rule.max is not None and len(children) > rule.max:
            diagnostics = (
                f"{rule.id}: maximum allowed = {rule.max}, but found {len(children)} {source}"
            )
            issues.append(Issue("error", "structure", diagnostics, parent_path))
        for child in children:
            if rule.types and child.type_name is not None and child.type_name not in rule.types:
                allowed = ", ".join(sorted(rule.types))
                diagnostics = (
                    f"{rule.id}: a {child.type_name} is not allowed here, only {allowed} {source}"
                )
                issues.append(Issue("error", "structure", diagnostics, child.path))
        if rule.expected is None:
            return
        how, value = rule.expected
        for child in children:
            if not matches(how, child.value, value):
                diagnostics = f"{rule.id}: the value does not match the {how} value {source}"
                issues.append(Issue("error", "value", diagnostics, child.path))


@dataclass(frozen=True, slots=True)
class _Rule:
    """What one element of a profile requires, and where it applies."""

    id: str  # "Observation.code.coding:BodyTempCode"
    parent_steps: list[str]  # id steps below the root to the parent ("code")
    parent_key: str
    parent_id: str  # "Observation.code"
    last_step: list[str]  # ["coding:BodyTempCode"]
    min: int
    max: int | None
    expected: tuple[str, Any] | None  # ("fixed" | "pattern", value)
    is_slice: bool
    types: frozenset[str]  # the types a choice element allows, if narrowed (else empty)
    binding: tuple[str, str] | None  # (strength, value set) the profile binds it to

    @classmethod
    def of(cls, element: dict[str, Any], root: str) -> _Rule:
        steps = element["id"].split(".")[1:]
        maximum = element.get("max", "*")
        return cls(
            id=element["id"],
            parent_steps=steps[:-1],
            parent_key=".".join(steps[:-1]),
            parent_id=".".join([root, *steps[:-1]]),
            last_step=steps[-1:],
            min=element.get("min", 0),
            max=int(maximum) if isinstance(maximum, str) and maximum.isdigit() else None,
            expected=fixed_or_pattern(element),
            is_slice="sliceName" in element,
            binding=_binding_of(element),
            types=type_codes(element) if element.get("path", "").endswith("[x]") else frozenset(),
        )
