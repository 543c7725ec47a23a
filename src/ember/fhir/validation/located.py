"""Values found in JSON by element names, with their FHIRPath locations and, where the
JSON says it, their type; and the fixed/pattern comparison profiles use."""

from __future__ import annotations

from typing import Any, NamedTuple

from ember.fhir.model import get_model


class Located(NamedTuple):
    value: Any
    path: str  # FHIRPath location ("Observation.component[1].value")
    type_name: str | None  # a choice's type by its key ("Quantity"), a resource's type


def children(node: Located, name: str) -> list[Located]:
    """The values of child `name` ("code", "value[x]", "valueQuantity") with locations."""
    value, path, _ = node
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
        choice_type = _choice_type(key[len(shown) :]) if key != name else None
        child = value[key]
        items = enumerate(child) if isinstance(child, list) else [(None, child)]
        for index, item in items:
            where = f"{path}.{shown}" if index is None else f"{path}.{shown}[{index}]"
            found.append(Located(item, where, choice_type or _resource_type(item)))
    return found


def descend(nodes: list[Located], steps: list[str]) -> list[Located]:
    for step in steps:
        nodes = [child for node in nodes for child in children(node, step)]
    return nodes


def _choice_type(suffix: str) -> str | None:
    """The type a choice key names: "Quantity", or a primitive ("DateTime" -> "dateTime")."""
    if not suffix:
        return None
    primitive = suffix[0].lower() + suffix[1:]
    return primitive if get_model("r4").is_primitive(primitive) else suffix


def _resource_type(value: Any) -> str | None:
    kind = value.get("resourceType") if isinstance(value, dict) else None
    return kind if isinstance(kind, str) else None


def type_codes(element: dict[str, Any] | None) -> frozenset[str]:
    """The type codes an element definition allows."""
    return frozenset(
        t["code"] for t in (element or {}).get("type", ()) if isinstance(t, dict) and "code" in t
    )


def fixed_or_pattern(element: dict[str, Any]) -> tuple[str, Any] | None:
    for key, value in element.items():
        if key.startswith("fixed"):
            return "fixed", value
        if key.startswith("pattern"):
            return "pattern", value
    return None


def matches(how: str, value: Any, expected: Any) -> bool:
    return value == expected if how == "fixed" else contains(value, expected)


def contains(value: Any, pattern: Any) -> bool:
    """Whether a value matches a pattern: every property and item of the pattern is there."""
    if isinstance(pattern, dict):
        return isinstance(value, dict) and all(
            contains(value.get(key), item) for key, item in pattern.items()
        )
    if isinstance(pattern, list):
        values = value if isinstance(value, list) else [value]
        return all(any(contains(v, item) for v in values) for item in pattern)
    return value == pattern
