"""How each type's properties are laid out in the XML and RDF formats.

JSON names a property; XML also needs its position (element order is the definition
order), whether it is an XML attribute (`representation: xmlAttr`: element ids and
Extension.url), and RDF needs the predicate (the path where the element is defined,
e.g. `DomainResource.text`, choice types expanded: `Observation.valueQuantity`).
All of it is derived once per type from the StructureDefinitions and cached.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any, Literal

from ember.fhir.model import Model, TypeDef, get_model

FHIR_NAMESPACE = "http://hl7.org/fhir"
XHTML_NAMESPACE = "http://www.w3.org/1999/xhtml"

# primitive: a value plus optional id/extension (`_name` in JSON); complex: an object;
# resource: a whole resource (contained, Bundle.entry.resource, ...); xhtml: narrative div.
FieldKind = Literal["primitive", "complex", "resource", "xhtml"]


@dataclass(frozen=True, slots=True)
class Field:
    """One property of a type as the formats see it (choice elements expand per type)."""

    name: str  # JSON property name and XML element/attribute name ("valueQuantity")
    type: str  # the concrete type ("Quantity", "string", "Observation.component")
    order: int  # position of the element in definition order
    is_array: bool
    kind: FieldKind
    is_attribute: bool  # written as an XML attribute rather than a child element
    predicate: str  # RDF predicate, without the "fhir:" prefix


@dataclass(frozen=True, slots=True)
class Layout:
    """The fields of one type, by JSON name, and which of them are XML attributes."""

    type: TypeDef
    fields: dict[str, Field]
    attributes: tuple[str, ...]  # in definition order

    @property
    def is_primitive(self) -> bool:
        return self.type.is_primitive


@cache
def layout(type_name: str, version: str = "r4") -> Layout:
    """The cached layout of a type (raises LookupError for unknown types)."""
    model = get_model(version)
    typedef = model.type(type_name)
    snapshot = _snapshot_by_path(model, _root_name(type_name))
    fields: dict[str, Field] = {}
    for order, element in enumerate(typedef.elements.values()):
        definition = snapshot.get(element.path, {})
        is_attribute = "xmlAttr" in definition.get("representation", ())
        base_path = definition.get("base", {}).get("path", element.path)
        for json_name, field_type in element.json_names().items():
            fields[json_name] = Field(
                name=json_name,
                type=field_type,
                order=order,
                is_array=element.is_array,
                kind=_kind(model, field_type),
                is_attribute=is_attribute,
                predicate=_predicate(base_path, element.is_choice, json_name, element.name),
            )
    attributes = tuple(name for name, f in fields.items() if f.is_attribute)
    return Layout(typedef, fields, attributes)


def _root_name(type_name: str) -> str:
    # Backbone types are named by path ("Observation.component"): their definition
    # lives in the StructureDefinition of the root type.
    return type_name.split(".", 1)[0]


@cache
def _snapshot_by_path(model: Model, root: str) -> dict[str, dict[str, Any]]:
    url = model.type(root).url
    sd = model.structure_definitions[url] if url else {}
    return {e["path"]: e for e in sd.get("snapshot", {}).get("element", ())}


def _kind(model: Model, type_name: str) -> FieldKind:
    if type_name == "xhtml":
        return "xhtml"
    if type_name == "Resource":
        return "resource"
    return "primitive" if model.is_primitive(type_name) else "complex"


def _predicate(base_path: str, is_choice: bool, json_name: str, stem: str) -> str:
    if not is_choice:
        return base_path
    # "Observation.value[x]" + "valueQuantity" -> "Observation.valueQuantity"
    return base_path.removesuffix(stem + "[x]") + json_name
