"""slice(): which elements belong to a named slice of a profile.

Slices are recognised by their `value` and `pattern` discriminators (the kinds the core
profiles use): the element at the discriminator's path must have the fixed value, or
contain the pattern, that the slice defines there.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ember.fhir.fhirpath.errors import FHIRPathError

Matcher = Callable[[Any], bool]  # element JSON -> belongs to the slice?
Evaluate = Callable[[str, Any], list[Any]]  # (path, element JSON) -> values


def slice_matcher(structure: dict[str, Any], name: str, evaluate: Evaluate) -> Matcher:
    """A test for membership in slice `name` of a StructureDefinition; raises
    FHIRPathError if the slice is unknown or uses discriminators not supported here."""
    elements = structure.get("snapshot", {}).get("element", ())
    by_id = {element["id"]: element for element in elements}
    slice_element = next((e for e in elements if e.get("sliceName") == name), None)
    if slice_element is None:
        raise FHIRPathError(f"slice(): {structure.get('url')} has no slice {name!r}")
    slice_id = slice_element["id"]
    slicing = by_id.get(slice_id.rsplit(":", 1)[0], {}).get("slicing", {})
    constraints: list[tuple[str, bool, Any]] = []  # (path, is pattern, value)
    for discriminator in slicing.get("discriminator", ()):
        if discriminator["type"] not in ("value", "pattern"):
            kind = discriminator["type"]
            raise FHIRPathError(f"slice(): {kind} discriminators are not supported")
        path = discriminator["path"]
        target = slice_element if path == "$this" else by_id.get(f"{slice_id}.{path}", {})
        for key, value in target.items():
            if key.startswith(("fixed", "pattern")):
                constraints.append((path, key.startswith("pattern"), value))

    def matches(element: Any) -> bool:
        for path, is_pattern, wanted in constraints:
            values = [element] if path == "$this" else evaluate(path, element)
            if not any(_contains(v, wanted) if is_pattern else v == wanted for v in values):
                return False
        return True

    return matches


def _contains(value: Any, pattern: Any) -> bool:
    """Whether JSON `value` has everything `pattern` has (FHIR pattern[x] semantics)."""
    if isinstance(pattern, dict):
        return isinstance(value, dict) and all(
            _contains(value.get(key), part) for key, part in pattern.items()
        )
    if isinstance(pattern, list):
        return isinstance(value, list) and all(
            any(_contains(item, part) for item in value) for part in pattern
        )
    return value == pattern
