"""Profiles (profiling.html): a resource checked against a constraining StructureDefinition.

Each profile in the chain (bodytemp -> vitalsigns) contributes its differential (or its
snapshot, when it has no differential): every element it names is checked on the JSON,
per parent instance, for

- cardinality (min/max),
- fixed[x] (equal) and pattern[x] (the instance contains the pattern),
- slices (`coding:BodyTempCode`) with value or pattern discriminators: the items that
  match a slice's discriminating values count towards its cardinality, and the slice's
  own rules apply to them.

Not checked yet: type and profile discriminators, closed slicing, ordering, element
types narrowed by the profile, and the profile's own invariants and bindings.
`mustSupport` is not a rule for instances (profiling.html#mustsupport).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ember.fhir.issues import Issue

Lookup = Callable[[str], dict[str, Any] | None]
Located = tuple[Any, str]  # a JSON value and its FHIRPath location
_MAX_CHAIN = 16  # profiles derived from profiles, at most this deep


def check_profile(
    value: dict[str, Any],
    url: str,
    lookup: Lookup,
    *,
    type_name: str | None = None,
    path: str | None = None,
) -> list[Issue]:
    """The issues of a resource (or of a `type_name` value at `path`, such as an
    extension) against the profile `url` and the profiles it derives from."""
    issues: list[Issue] = []
    type_name = type_name or value.get("resourceType", "")
    definition = lookup(url)
    if definition is None or definition.get("type") != type_name:
        return issues  # unknown, or for another type: reported by the validator
    for _ in range(_MAX_CHAIN):
        if definition is None or definition.get("derivation") != "constraint":
            break
        _profile(definition).check(value, type_name, path or type_name, issues)
        definition = lookup(definition.get("baseDefinition", ""))
    return issues


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
        or _fixed_or_pattern(element) is not None
    )


def _fixed_or_pattern(element: dict[str, Any]) -> tuple[str, Any] | None:
    for key, value in element.items():
        if key.startswith("fixed"):
            return "fixed", value
        if key.startswith("pattern"):
            return "pattern", value
    return None


def _matches(how: str, value: Any, expected: Any) -> bool:
    return value == expected if how == "fixed" else _contains(value, expected)


def _contains(value: Any, pattern: Any) -> bool:
    """Whether a value matches a pattern: every property and item of the pattern is there."""
    if isinstance(pattern, dict):
        return isinstance(value, dict) and all(
            _contains(value.get(key), item) for key, item in pattern.items()
        )
    if isinstance(pattern, list):
        values = value if isinstance(value, list) else [value]
        return all(any(_contains(v, item) for v in values) for item in pattern)
    return value == pattern


def _children(located: Located, name: str) -> list[Located]:
    """The values of child `name` ("code", "value[x]", "valueQuantity") with locations."""
    value, path = located
    if not isinstance(value, dict):
        return []
    if name.endswith("[x]"):
        stem = name[:-3]
        keys = [k for k in value if k.startswith(stem) and k[len(stem) : len(stem) + 1].isupper()]
        shown = stem
    else:
        keys, shown = ([name] if name in value else []), name
    found: list[Located] = []
    for key in keys:
        child = value[key]
        if isinstance(child, list):
            found.extend((item, f"{path}.{shown}[{i}]") for i, item in enumerate(child))
        else:
            found.append((child, f"{path}.{shown}"))
    return found


class _Profile:
    """The elements of one profile, by id, and how to find what each one constrains."""

    def __init__(self, definition: dict[str, Any]) -> None:
        self.url = definition["url"]
        snapshot = (definition.get("snapshot") or {}).get("element", [])
        differential = (definition.get("differential") or {}).get("element", [])
        # the differential is what this profile adds; the snapshot also holds what it
        # inherits, such as the slicing of extensions by url
        elements = differential or snapshot
        self.by_id = {e["id"]: e for e in [*snapshot, *differential] if "id" in e}
        root = elements[0]["id"] if elements and "id" in elements[0] else ""
        self.rules = [
            _Rule.of(element, root)
            for element in elements[1:]
            if "id" in element and "." in element["id"] and _has_rule(element)
        ]
        self._matchers: dict[str, Callable[[Any], bool] | None] = {}  # by slice id

    def check(self, value: dict[str, Any], root: str, path: str, issues: list[Issue]) -> None:
        selected: dict[str, list[Located] | None] = {}  # parents by id prefix, this run
        for rule in self.rules:
            if rule.parent_key not in selected:
                selected[rule.parent_key] = self._select([(value, path)], root, rule.parent_steps)
            parents = selected[rule.parent_key]
            if parents is None:
                continue  # a discriminator Ember does not evaluate
            for parent in parents:
                children = self._select([parent], rule.parent_id, rule.last_step)
                if children is not None:
                    self._element(rule, parent[1], children, issues)

    def _select(self, nodes: list[Located], prefix: str, steps: list[str]) -> list[Located] | None:
        """Follow element id steps (`coding:BodyTempCode`) from `nodes`; None if a slice
        cannot be told apart."""
        for step in steps:
            name, _, slice_name = step.partition(":")
            nodes = [child for node in nodes for child in _children(node, name)]
            base_id = f"{prefix}.{name}"
            if slice_name:
                slice_id = f"{base_id}:{slice_name}"
                if slice_id not in self._matchers:
                    self._matchers[slice_id] = self._slice_matcher(base_id, slice_name)
                matching = self._matchers[slice_id]
                if matching is None:
                    return None
                nodes = [node for node in nodes if matching(node[0])]
            prefix = f"{prefix}.{step}"
        return nodes

    def _slice_matcher(self, base_id: str, slice_name: str) -> Callable[[Any], bool] | None:
        slicing = self.by_id.get(base_id, {}).get("slicing")
        discriminators = slicing.get("discriminator", []) if slicing else []
        if not discriminators:
            return None
        slice_id = f"{base_id}:{slice_name}"
        tests: list[tuple[list[str], str, Any]] = []
        for discriminator in discriminators:
            kind, path = discriminator.get("type"), discriminator.get("path", "$this")
            if kind not in ("value", "pattern"):
                return None
            target = slice_id if path == "$this" else f"{slice_id}.{path}"
            expected = _fixed_or_pattern(self.by_id.get(target, {}))
            if expected is None:
                return None
            steps = [] if path == "$this" else path.split(".")
            tests.append((steps, expected[0], expected[1]))

        def matches(value: Any) -> bool:
            for steps, how, expected in tests:
                found = self._walk([(value, "")], steps)
                if not any(_matches(how, v, expected) for v, _ in found):
                    return False
            return True

        return matches

    @staticmethod
    def _walk(nodes: list[Located], steps: list[str]) -> list[Located]:
        for step in steps:
            nodes = [child for node in nodes for child in _children(node, step)]
        return nodes

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
        if rule.expected is None:
            return
        how, value = rule.expected
        for child, path in children:
            if not _matches(how, child, value):
                diagnostics = f"{rule.id}: the value does not match the {how} value {source}"
                issues.append(Issue("error", "value", diagnostics, path))


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
            max=None if maximum == "*" else int(maximum),
            expected=_fixed_or_pattern(element),
            is_slice="sliceName" in element,
        )
