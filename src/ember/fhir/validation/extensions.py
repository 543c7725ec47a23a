"""Extensions by URL (extensibility.html): the URL must be absolute and name an extension
definition the server knows, the value must be of a type that definition allows, the
parts of a complex extension must be ones it defines, and the definition's own
constraints (cardinality, fixed values, slices) apply as a profile of the extension.

Run by `$validate`, not on write: a server stores extensions it does not know
(extensibility.html#exchange), but a validation against the definitions cannot pass
content whose meaning it cannot check.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from ember.fhir.issues import Issue
from ember.fhir.model import Model
from ember.fhir.validation.profiles import check_profile
from ember.fhir.validation.walk import instances

_ABSOLUTE_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:\S+")
# An extension definition by URL, if the server knows it
DefinitionLookup = Callable[[str], dict[str, Any] | None]


def check_extensions(
    resource: dict[str, Any], model: Model, lookup: DefinitionLookup
) -> list[Issue]:
    issues: list[Issue] = []
    for instance in instances(resource, model):
        element = instance.element
        if instance.type_name != "Extension" or element is None:
            continue
        url = instance.value.get("url")
        if not isinstance(url, str) or element.path == "Extension.extension":
            continue  # a part of a complex extension is named relative to it
        path = instance.path
        if _ABSOLUTE_URL.fullmatch(url) is None:
            issues.append(Issue("error", "value", f"Extension.url {url!r} must be absolute", path))
            continue
        definition = lookup(url.split("|", 1)[0])
        if definition is None or definition.get("type") != "Extension":
            diagnostics = f"The extension {url} could not be found so is not allowed here"
            issues.append(Issue("error", "structure", diagnostics, path))
            continue
        issues += check_profile(instance.value, url, lookup, type_name="Extension", path=path)
        _check_parts(instance.value, url, definition, path, issues)
        value_type = _value_type(instance.value, model)
        allowed = _value_types(definition)
        if value_type is not None and allowed is not None and value_type not in allowed:
            shown = ", ".join(sorted(allowed)) or "no value"
            diagnostics = f"The extension {url} allows the types [{shown}] but has a {value_type}"
            issues.append(Issue("error", "structure", diagnostics, f"{path}.value"))
    return issues


def _check_parts(
    extension: dict[str, Any],
    url: str,
    definition: dict[str, Any],
    path: str,
    issues: list[Issue],
) -> None:
    """The parts of a complex extension are the ones its definition names."""
    defined = _part_urls(definition)
    parts = extension.get("extension")
    if not defined or not isinstance(parts, list):
        return
    for index, part in enumerate(parts):
        part_url = part.get("url") if isinstance(part, dict) else None
        if isinstance(part_url, str) and part_url not in defined:
            diagnostics = f"Sub-extension url '{part_url}' is not defined by the extension {url}"
            issues.append(Issue("error", "structure", diagnostics, f"{path}.extension[{index}]"))


def _part_urls(definition: dict[str, Any]) -> frozenset[str]:
    """The fixed urls of a complex extension's parts (`Extension.extension:name.url`)."""
    snapshot = definition.get("snapshot") or definition.get("differential") or {}
    return frozenset(
        element["fixedUri"]
        for element in snapshot.get("element", ())
        if element.get("path") == "Extension.extension.url" and "fixedUri" in element
    )


def _value_type(extension: dict[str, Any], model: Model) -> str | None:
    for key in extension:
        found = model.element("Extension", key.lstrip("_"))
        if found is not None and found[0].name == "value":
            return found[1]
    return None


def _value_types(definition: dict[str, Any]) -> frozenset[str] | None:
    """The value types the definition allows; None when it does not say (a differential)."""
    snapshot = definition.get("snapshot") or definition.get("differential") or {}
    for element in snapshot.get("element", ()):
        if element.get("id") == "Extension.value[x]":
            if element.get("max") == "0":
                return frozenset()
            return frozenset(t["code"] for t in element.get("type", ()))
    return None
