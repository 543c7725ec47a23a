"""Every element instance of a structurally valid resource, typed by the model.

The rule checks (invariants, bindings) visit the same instances; this walk finds them
once. Locations are FHIRPath (`Observation.component[1].value`: a choice element is
named by its stem), primitives carry their `_name` sibling, and each instance knows the
resource that is `%resource` for it: the entry's resource inside a Bundle, the container
for a contained resource (so `ref-1`'s `%rootResource.contained` sees its siblings).
"""

from __future__ import annotations

from functools import cache
from typing import Any, NamedTuple

from ember.fhir.model import Element, Model


class Instance(NamedTuple):  # a tuple: made tens of thousands of times per big resource
    value: Any  # a dict for complex types and resources; the JSON value of a primitive
    ext: dict[str, Any] | None  # a primitive's `_name` sibling (id, extensions)
    element: Element | None  # the element holding it; None for a resource
    type_name: str
    path: str
    root: dict[str, Any]  # %resource


def instances(resource: dict[str, Any], model: Model) -> list[Instance]:
    """The resource itself, then every element in it, depth first."""
    found: list[Instance] = []
    _Walk(model, _properties_of(model), found).resource(resource, None, None)
    return found


# What the walk needs of a JSON property name: the element, its type, and whether that
# type is primitive or a resource (looked up once per model and type, not per element)
Property = tuple[Element, str, bool, bool]


@cache
def _properties_of(model: Model) -> dict[str, dict[str, Property]]:
    """The property tables of a model by type name, filled as the walk meets types."""
    return {}


def _property(model: Model, element: Element, value_type: str) -> Property:
    kind = model.type(value_type).kind
    return element, value_type, kind == "primitive-type", kind == "resource"


class _Walk:
    """Appends the instances to `found`; a plain recursion (nested generators cost a
    step per level for every instance they pass up)."""

    def __init__(
        self, model: Model, properties: dict[str, dict[str, Property]], found: list[Instance]
    ) -> None:
        self.model = model
        self.properties = properties
        self.found = found

    def resource(
        self, data: dict[str, Any], path: str | None, container: dict[str, Any] | None
    ) -> None:
        type_name = data.get("resourceType")
        if not isinstance(type_name, str) or not self.model.is_resource_type(type_name):
            return
        path = path or type_name
        root = container if container is not None else data
        self.found.append(Instance(data, None, None, type_name, path, root))
        self.children(data, type_name, path, root, data)

    def of_type(self, type_name: str) -> dict[str, Property]:
        found = self.properties.get(type_name)
        if found is None:
            by_json_name = self.model.type(type_name).by_json_name
            found = self.properties[type_name] = {
                json_name: _property(self.model, element, value_type)
                for json_name, (element, value_type) in by_json_name.items()
            }
        return found

    def children(
        self,
        obj: dict[str, Any],
        type_name: str,
        path: str,
        root: dict[str, Any],
        resource: dict[str, Any],
    ) -> None:
        properties = self.of_type(type_name)
        found = self.found
        for key, value in obj.items():
            is_sibling = key[0] == "_"
            if is_sibling and key[1:] in obj:
                continue  # visited with its value
            prop = properties.get(key[1:] if is_sibling else key)
            if prop is None:
                continue
            element, value_type, is_primitive, is_resource = prop
            element_path = f"{path}.{element.name}"
            if is_primitive:
                if is_sibling:
                    self.primitives(None, value, element, value_type, element_path, root)
                else:
                    ext = obj.get("_" + key)
                    self.primitives(value, ext, element, value_type, element_path, root)
            elif is_resource:
                # contained resources see their container as %resource
                container = resource if element.name == "contained" else None
                for item, item_path in _items(value, element_path):
                    if isinstance(item, dict):
                        self.resource(item, item_path, container)
            else:
                for item, item_path in _items(value, element_path):
                    if isinstance(item, dict):
                        found.append(Instance(item, None, element, value_type, item_path, root))
                        self.children(item, value_type, item_path, root, resource)

    def primitives(
        self,
        value: Any,
        ext: Any,
        element: Element,
        type_name: str,
        path: str,
        root: dict[str, Any],
    ) -> None:
        if isinstance(value, list) or isinstance(ext, list):
            pairs = _aligned(value, ext, path)
        else:
            pairs = ((value, ext, path),)
        for item, item_ext, item_path in pairs:
            item_ext = item_ext if isinstance(item_ext, dict) else None
            if item is None and item_ext is None:
                continue
            self.found.append(Instance(item, item_ext, element, type_name, item_path, root))
            if item_ext:
                # the primitive's own id and extensions, located at the primitive
                self.children(item_ext, type_name, item_path, root, root)


def _aligned(values: Any, exts: Any, path: str) -> list[tuple[Any, Any, str]]:
    """The values of a repeating primitive with their `_name` siblings, by index."""
    values = values if isinstance(values, list) else []
    exts = exts if isinstance(exts, list) else []
    return [
        (
            values[index] if index < len(values) else None,
            exts[index] if index < len(exts) else None,
            f"{path}[{index}]",
        )
        for index in range(max(len(values), len(exts)))
    ]


def _items(value: Any, path: str) -> list[tuple[Any, str]] | tuple[tuple[Any, str]]:
    if isinstance(value, list):
        return [(item, f"{path}[{index}]") for index, item in enumerate(value)]
    return ((value, path),)
