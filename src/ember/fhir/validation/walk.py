"""Every element instance of a structurally valid resource, typed by the model.

The rule checks (invariants, bindings) visit the same instances; this walk finds them
once. Locations are FHIRPath (`Observation.component[1].value`: a choice element is
named by its stem), primitives carry their `_name` sibling, and each instance knows the
resource that is `%resource` for it: the entry's resource inside a Bundle, the container
for a contained resource (so `ref-1`'s `%rootResource.contained` sees its siblings).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ember.fhir.model import Element, Model


@dataclass(frozen=True, slots=True)
class Instance:
    value: Any  # a dict for complex types and resources; the JSON value of a primitive
    ext: dict[str, Any] | None  # a primitive's `_name` sibling (id, extensions)
    element: Element | None  # the element holding it; None for a resource
    type_name: str
    path: str
    root: dict[str, Any]  # %resource


def instances(resource: dict[str, Any], model: Model) -> Iterator[Instance]:
    """The resource itself, then every element in it, depth first."""
    return _resource(model, resource, None, None)


def _resource(
    model: Model, data: dict[str, Any], path: str | None, container: dict[str, Any] | None
) -> Iterator[Instance]:
    type_name = data.get("resourceType")
    if not isinstance(type_name, str) or not model.is_resource_type(type_name):
        return
    path = path or type_name
    root = container if container is not None else data
    yield Instance(data, None, None, type_name, path, root)
    yield from _children(model, data, type_name, path, root, data)


def _children(
    model: Model,
    obj: dict[str, Any],
    type_name: str,
    path: str,
    root: dict[str, Any],
    resource: dict[str, Any],
) -> Iterator[Instance]:
    by_json_name = model.type(type_name).by_json_name
    for key, value in obj.items():
        is_sibling = key[0] == "_"
        if is_sibling and key[1:] in obj:
            continue  # visited with its value
        found = by_json_name.get(key[1:] if is_sibling else key)
        if found is None:
            continue
        element, value_type = found
        element_path = f"{path}.{element.name}"
        kind = model.type(value_type).kind
        if kind == "primitive-type":
            if is_sibling:
                yield from _primitives(model, None, value, element, value_type, element_path, root)
            else:
                yield from _primitives(
                    model, value, obj.get("_" + key), element, value_type, element_path, root
                )
        elif kind == "resource":
            # contained resources see their container as %resource
            container = resource if element.name == "contained" else None
            for item, item_path in _items(value, element_path):
                if isinstance(item, dict):
                    yield from _resource(model, item, item_path, container)
        else:
            for item, item_path in _items(value, element_path):
                if isinstance(item, dict):
                    yield Instance(item, None, element, value_type, item_path, root)
                    yield from _children(model, item, value_type, item_path, root, resource)


def _primitives(
    model: Model,
    value: Any,
    ext: Any,
    element: Element,
    type_name: str,
    path: str,
    root: dict[str, Any],
) -> Iterator[Instance]:
    if isinstance(value, list) or isinstance(ext, list):
        values = value if isinstance(value, list) else []
        exts = ext if isinstance(ext, list) else []
        pairs = [
            (
                values[index] if index < len(values) else None,
                exts[index] if index < len(exts) else None,
                f"{path}[{index}]",
            )
            for index in range(max(len(values), len(exts)))
        ]
    else:
        pairs = [(value, ext, path)]
    for item, item_ext, item_path in pairs:
        item_ext = item_ext if isinstance(item_ext, dict) else None
        if item is None and item_ext is None:
            continue
        yield Instance(item, item_ext, element, type_name, item_path, root)
        if item_ext:
            # the primitive's own id and extensions, located at the primitive
            yield from _children(model, item_ext, type_name, item_path, root, root)


def _items(value: Any, path: str) -> list[tuple[Any, str]]:
    if isinstance(value, list):
        return [(item, f"{path}[{index}]") for index, item in enumerate(value)]
    return [(value, path)]
