"""Extensions by URL (extensibility.html): the URL must be absolute and name an extension
definition the server knows, the value must be of a type that definition allows, the
parts of a complex extension must be ones it defines, and the definition's own
constraints (cardinality, value types, fixed values, slices) apply as a profile of the
extension, and it must be used where its context allows (extensibility.html#context):
on an element whose path or type its `element` contexts name (or a subtype of such a
type), or inside an extension its `extension` contexts name. `fhirpath` contexts are
not evaluated (allowed).

Run by `$validate`, not on write: a server stores extensions it does not know
(extensibility.html#exchange), but a validation against the definitions cannot pass
content whose meaning it cannot check.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from typing import Any

from ember.fhir.issues import Issue
from ember.fhir.model import Model
from ember.fhir.validation.profiles import check_profile
from ember.fhir.validation.walk import Instance, instances

_INDEX = re.compile(r"\[\d+\]")
_ABSOLUTE_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:\S+")
# An extension definition by URL, if the server knows it
DefinitionLookup = Callable[[str], dict[str, Any] | None]


def check_extensions(
    resource: dict[str, Any], model: Model, lookup: DefinitionLookup
) -> list[Issue]:
    issues: list[Issue] = []
    by_path: dict[str, Instance] = {}  # where each extension's holder is found
    uses: Counter[tuple[str, str]] = Counter()  # (holder path, url) -> how many
    limits: dict[str, int] = {}  # url -> how many times it may be used on one element
    for instance in instances(resource, model):
        by_path[instance.path] = instance
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
        # its value's type and cardinality, its parts and their values
        issues += check_profile(instance.value, url, lookup, type_name="Extension", path=path)
        _check_parts(instance.value, url, definition, path, issues)
        holder_path = path.rsplit(".", 1)[0]
        uses[holder_path, url] += 1
        limit = _max_uses(definition)
        if limit is not None:
            limits[url] = limit
        holder = by_path.get(holder_path)
        if holder is not None and not _allowed_on(definition, holder, model):
            where = _INDEX.sub("", holder.path)
            diagnostics = f"The extension {url} is not allowed to be used at {where}"
            issues.append(Issue("error", "structure", diagnostics, path))
    for (holder_path, url), count in uses.items():
        if url in limits and count > limits[url]:
            diagnostics = (
                f"The extension {url} may be used at most {limits[url]} times here, found {count}"
            )
            issues.append(Issue("error", "structure", diagnostics, holder_path))
    return issues


def _max_uses(definition: dict[str, Any]) -> int | None:
    """The root element's max: how often the extension may appear on one element."""
    for part in ("snapshot", "differential"):
        elements = (definition.get(part) or {}).get("element") or []
        if elements and elements[0].get("id") == "Extension" and "max" in elements[0]:
            maximum = elements[0]["max"]
            return None if maximum == "*" else int(maximum)
    return None


def _allowed_on(definition: dict[str, Any], holder: Instance, model: Model) -> bool:
    contexts = definition.get("context")
    if not isinstance(contexts, list) or not contexts:
        return True  # no context declared: anywhere
    names = {_INDEX.sub("", holder.path), holder.type_name}
    if holder.element is not None:
        names.add(holder.element.path)
    for context in contexts:
        kind = context.get("type") if isinstance(context, dict) else None
        expression = context.get("expression") if isinstance(context, dict) else None
        if kind == "fhirpath" or not isinstance(expression, str):
            return True
        if kind == "extension":
            if holder.type_name == "Extension" and holder.value.get("url") == expression:
                return True
        elif expression in names or model.is_subtype(holder.type_name, expression):
            return True
    return False


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
