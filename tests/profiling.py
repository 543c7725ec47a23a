"""StructureDefinitions for tests: constraining profiles given by their differential."""

from __future__ import annotations

from typing import Any


def profile(
    id_: str, url: str, type_: str, elements: list[dict[str, Any]], **more: Any
) -> dict[str, Any]:
    """A profile of `type_` (a resource type or Extension) with only a differential,
    whose root element comes first."""
    return {
        "resourceType": "StructureDefinition",
        "id": id_,
        "url": url,
        "name": "".join(part.capitalize() for part in id_.split("-")),
        "status": "active",
        "kind": "complex-type" if type_ == "Extension" else "resource",
        "abstract": False,
        "type": type_,
        "baseDefinition": f"http://hl7.org/fhir/StructureDefinition/{type_}",
        "derivation": "constraint",
        "differential": {"element": [{"id": type_, "path": type_}, *elements]},
        **more,
    }


def element(id_: str, **rules: Any) -> dict[str, Any]:
    """A differential element: its path is its id without slice names."""
    path = ".".join(step.split(":")[0] for step in id_.split("."))
    return {"id": id_, "path": path, **rules}
