"""_summary and _elements: subsets of a resource (search.html#summary, #elements).

A subset is marked with the SUBSETTED tag so that nobody mistakes it for the whole
resource (and Ember refuses it as the body of an update).
"""

from __future__ import annotations

from typing import Any

from ember.fhir.model import Model, TypeDef

SUBSETTED_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ObservationValue"
SUBSETTED = {"system": SUBSETTED_SYSTEM, "code": "SUBSETTED"}
SUMMARY_MODES = ("true", "text", "data", "count", "false")

_ALWAYS = ("resourceType", "id", "meta")


def is_subsetted(resource: dict[str, Any]) -> bool:
    tags = resource.get("meta", {}).get("tag", ())
    return any(
        isinstance(t, dict) and t.get("code") == "SUBSETTED" and t.get("system") == SUBSETTED_SYSTEM
        for t in tags
    )


def _mark(resource: dict[str, Any]) -> dict[str, Any]:
    meta = dict(resource.get("meta", {}))
    meta["tag"] = [*meta.get("tag", []), SUBSETTED]
    resource["meta"] = meta
    return resource


def _keep(name: str, type_def: TypeDef) -> tuple[bool, bool]:
    """(is summary, is mandatory) for a JSON property of a type (`_x` follows `x`)."""
    found = type_def.element(name.removeprefix("_"))
    if found is None:
        return False, False
    element = found[0]
    return element.is_summary, element.min > 0


def _summary_of(node: dict[str, Any], type_def: TypeDef, model: Model) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for name, value in node.items():
        if name in _ALWAYS:
            result[name] = value
            continue
        summary, mandatory = _keep(name, type_def)
        if not (summary or mandatory):
            continue
        found = type_def.element(name.removeprefix("_"))
        child = model.find_type(found[1]) if found else None
        if child is not None and child.kind == "backbone" and not name.startswith("_"):
            # Backbone elements are filtered by their own children's summary flags.
            if isinstance(value, list):
                result[name] = [_summary_of(v, child, model) for v in value]
            else:
                result[name] = _summary_of(value, child, model)
        else:
            result[name] = value
    return result


def summary(resource: dict[str, Any], mode: str, model: Model) -> dict[str, Any]:
    """The resource as `_summary=mode` asks (true, text, data or false)."""
    if mode == "false":
        return resource
    if mode == "data":
        return _mark({k: v for k, v in resource.items() if k != "text"})
    type_def = model.type(resource["resourceType"])
    if mode == "text":
        kept = {}
        for name, value in resource.items():
            if name in _ALWAYS or name == "text" or _keep(name, type_def)[1]:
                kept[name] = value
        return _mark(kept)
    return _mark(_summary_of(resource, type_def, model))


def elements(resource: dict[str, Any], names: list[str], model: Model) -> dict[str, Any]:
    """Only the named top-level elements, plus id, meta and mandatory elements."""
    wanted = {n.rsplit(".", 1)[-1] for n in names}  # "Patient.name" and "name" alike
    type_def = model.type(resource["resourceType"])
    kept = {}
    for name, value in resource.items():
        base = name.removeprefix("_")
        found = type_def.element(base)
        stem = found[0].name if found else base
        if name in _ALWAYS or stem in wanted or base in wanted or _keep(name, type_def)[1]:
            kept[name] = value
    return _mark(kept)
