"""The functions FHIR adds to FHIRPath (FHIR R4 fhirpath.html 2.9.1.5)."""

from __future__ import annotations

from typing import Any

from ember.fhir.fhirpath.errors import FHIRPathError
from ember.fhir.fhirpath.functions.helpers import string_value
from ember.fhir.fhirpath.functions.registry import VALUE, function
from ember.fhir.fhirpath.narrative import html_checks
from ember.fhir.fhirpath.nodes import Node, StepFunction, step, system_value, to_python
from ember.fhir.fhirpath.operations import singleton
from ember.fhir.fhirpath.slicing import slice_matcher

_CORE_PROFILE = "http://hl7.org/fhir/StructureDefinition/"
_EXTENSION_STEPS: dict[int, StepFunction] = {}


@function("extension", VALUE)
def extension(env: Any, items: list[Any], url: list[Any]) -> list[Any]:
    wanted = string_value(url, "extension()")
    if wanted is None:
        return []
    extensions = _EXTENSION_STEPS.get(id(env.model))
    if extensions is None:
        extensions = _EXTENSION_STEPS[id(env.model)] = step("extension", env.model)
    return [node for node in extensions(items) if node.data.get("url") == wanted]


@function("hasValue")
def has_value(env: Any, items: list[Any]) -> list[Any]:
    item = items[0] if len(items) == 1 else None
    return [
        item.__class__ is Node
        and item.data is not None
        and item.data.__class__ is not dict
        and env.model.is_primitive(item.type_name)
    ]


@function("getValue")
def get_value(env: Any, items: list[Any]) -> list[Any]:
    item = singleton(items, "getValue()")
    if item.__class__ is not Node or item.data is None or item.data.__class__ is dict:
        return []
    return [system_value(item)]


# -- references -------------------------------------------------------------------------


@function("resolve")
def resolve(env: Any, items: list[Any]) -> list[Any]:
    out = []
    for item in items:
        if item.__class__ is Node and item.data.__class__ is dict:
            reference = item.data.get("reference")
        else:
            reference = system_value(item)
        if reference.__class__ is not str or not reference:
            continue
        target = _locate(env, reference)
        if target is not None:
            out.append(Node(target, target.get("resourceType")))
    return out


def _locate(env: Any, reference: str) -> dict[str, Any] | None:
    """Find a reference in the resource's contained list, the enclosing Bundle, or
    through the resolver callback."""
    if reference.startswith("#"):
        resource = env.resource[0] if env.resource else None
        if resource is None or resource.__class__ is not Node:
            return None
        if reference == "#":
            return resource.data
        wanted = reference[1:]
        return next((c for c in resource.data.get("contained", ()) if c.get("id") == wanted), None)
    root = env.root_node()
    if root is not None and root.type_name == "Bundle":
        found = _in_bundle(root.data, reference)
        if found is not None:
            return found
    if env.services.resolver is not None:
        return env.services.resolver(reference)
    return None


def _in_bundle(bundle: dict[str, Any], reference: str) -> dict[str, Any] | None:
    relative = reference.split("/_history/")[0]
    for entry in bundle.get("entry", ()):
        resource = entry.get("resource")
        if resource is None:
            continue
        if entry.get("fullUrl") == reference:
            return resource
        local = f"{resource.get('resourceType')}/{resource.get('id')}"
        if relative == local or relative.endswith("/" + local):
            return resource
    return None


# -- terminology and profiles -----------------------------------------------------------


@function("memberOf", VALUE)
def member_of(env: Any, items: list[Any], value_set: list[Any]) -> list[Any]:
    item = singleton(items, "memberOf()")
    url = string_value(value_set, "memberOf()")
    if item is None or url is None:
        return []
    if env.services.terminology is None:
        raise FHIRPathError("memberOf() needs a terminology callback (terminology=...)")
    result = env.services.terminology(to_python(item), url)
    return [] if result is None else [bool(result)]


@function("conformsTo", VALUE)
def conforms_to(env: Any, items: list[Any], structure: list[Any]) -> list[Any]:
    item = singleton(items, "conformsTo()")
    url = string_value(structure, "conformsTo()")
    if item is None or url is None:
        return []
    if env.services.conforms_to is not None:
        result = env.services.conforms_to(to_python(item), url)
        return [] if result is None else [bool(result)]
    return [_is_core_type(env, item, url)]


def _is_core_type(env: Any, item: Any, url: str) -> bool:
    """Without a profile validator, a core type's own definition is checked by type only."""
    definition = env.model.structure_definitions.get(url)
    if definition is None or definition.get("derivation") == "constraint":
        raise FHIRPathError(f"conformsTo(): cannot check profile {url!r} without a validator")
    type_name = item.type_name if item.__class__ is Node else None
    return type_name is not None and env.model.is_subtype(type_name, definition["type"])


@function("htmlChecks")
def html_checks_(env: Any, items: list[Any]) -> list[Any]:
    item = singleton(items, "htmlChecks()")
    if item is None:
        return []
    if item.__class__ is not Node or item.type_name != "xhtml" or item.data.__class__ is not str:
        return []
    return [html_checks(item.data)]


@function("checkModifiers", VALUE, required=0)
def check_modifiers(env: Any, items: list[Any], modifiers: list[Any] | None = None) -> list[Any]:
    allowed = {system_value(m) for m in modifiers or []}
    for item in items:
        if item.__class__ is Node and item.data.__class__ is dict:
            for modifier in item.data.get("modifierExtension", ()):
                if modifier.get("url") not in allowed:
                    raise FHIRPathError(f"unknown modifier extension {modifier.get('url')!r}")
    return items


@function("slice", VALUE, VALUE)
def slice_(env: Any, items: list[Any], structure: list[Any], name: list[Any]) -> list[Any]:
    url, slice_name = string_value(structure, "slice()"), string_value(name, "slice()")
    if url is None or slice_name is None:
        return []
    definition = env.model.structure_definitions.get(url)
    if definition is None:
        raise FHIRPathError(f"slice(): unknown structure {url!r}")
    model = env.model

    def evaluate(path: str, element: Any) -> list[Any]:
        from ember.fhir.fhirpath.api import compile  # the engine evaluating itself

        return compile(path, version=model.version).evaluate(element)

    matches = slice_matcher(definition, slice_name, evaluate)
    return [item for item in items if matches(to_python(item))]


@function("elementDefinition")
def element_definition(env: Any, items: list[Any]) -> list[Any]:
    out = []
    for item in items:
        if item.__class__ is not Node:
            continue
        path = item.element.path if item.element is not None else item.type_name
        definition = _element_definitions(env.model).get(path) if path else None
        if definition is not None:
            out.append(Node(definition, "ElementDefinition"))
    return out


_DEFINITIONS: dict[int, dict[str, dict[str, Any]]] = {}


def _element_definitions(model: Any) -> dict[str, dict[str, Any]]:
    """The snapshot ElementDefinitions of the base types, by path."""
    index = _DEFINITIONS.get(id(model))
    if index is None:
        index = {}
        for definition in model.structure_definitions.values():
            if definition.get("derivation") == "constraint":
                continue
            for element in definition.get("snapshot", {}).get("element", ()):
                index.setdefault(element["path"], element)
        _DEFINITIONS[id(model)] = index
    return index
