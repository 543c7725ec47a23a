"""Type specifiers and the type tests behind `is`, `as`, `ofType()` and `type()`."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ember.fhir.fhirpath.errors import FHIRPathError
from ember.fhir.fhirpath.nodes import Node, system_value
from ember.fhir.fhirpath.quantity import Quantity
from ember.fhir.fhirpath.syntax import TypeSpecifier
from ember.fhir.fhirpath.temporal import Temporal
from ember.fhir.model import Model

SYSTEM_TYPES = frozenset(
    {"Any", "Boolean", "Integer", "Decimal", "String", "Date", "DateTime", "Time", "Quantity"}
)


@dataclass(frozen=True, slots=True)
class TypeRef:
    """A resolved type specifier; namespace None means "FHIR, else System" (spec 10.1)."""

    namespace: str | None
    name: str

    def __str__(self) -> str:
        return f"{self.namespace}.{self.name}" if self.namespace else self.name


def resolve(spec: TypeSpecifier, model: Model) -> TypeRef:
    """Check a type specifier against the model; unknown unqualified names are errors."""
    namespace, name = spec.namespace, spec.name
    if namespace not in (None, "FHIR", "System"):
        raise FHIRPathError(f"unknown type namespace {namespace!r}", position=spec.position)
    if namespace is None and model.find_type(name) is None and name not in SYSTEM_TYPES:
        raise FHIRPathError(f"unknown type {name!r}", position=spec.position)
    return TypeRef(namespace, name)


def system_type_name(value: Any) -> str | None:
    """The System type of a system value (None for nodes)."""
    cls = value.__class__
    if cls is bool:
        return "Boolean"
    if cls is int:
        return "Integer"
    if cls is str:
        return "String"
    if isinstance(value, Decimal):
        return "Decimal"
    if isinstance(value, Temporal):
        return value.type_name
    if cls is Quantity:
        return "Quantity"
    return None


def is_type(item: Any, ref: TypeRef, model: Model) -> bool:
    """`is`: the item's type is the named type or derives from it."""
    if item.__class__ is Node and item.type_name is not None:
        return ref.namespace != "System" and model.is_subtype(item.type_name, ref.name)
    if ref.namespace == "FHIR":
        return False
    name = system_type_name(system_value(item))
    return ref.name == "Any" or name == ref.name


def as_type(item: Any, ref: TypeRef, model: Model) -> Any:
    """`as`/`ofType()`: the item (or its system value) if of the type, else None.

    FHIR primitives are independent types here (a code is not returned as a string),
    as the FHIR page on ofType() says; a System type unwraps a FHIR primitive.
    """
    if item.__class__ is Node and item.type_name is not None:
        if ref.namespace == "System" or (
            ref.namespace is None and ref.name in SYSTEM_TYPES and model.find_type(ref.name) is None
        ):
            value = system_value(item)
            return value if value is not item and system_type_name(value) == ref.name else None
        type_name = item.type_name
        if model.is_primitive(type_name):
            return item if type_name == ref.name else None
        return item if model.is_subtype(type_name, ref.name) else None
    return item if is_type(item, ref, model) else None


def type_info(item: Any, model: Model) -> Node:
    """type(): a SimpleTypeInfo/ClassInfo-like node with namespace, name and baseType."""
    if item.__class__ is Node and item.type_name is not None:
        typedef = model.find_type(item.type_name)
        base = typedef.base if typedef else None
        info = {"namespace": "FHIR", "name": item.type_name}
        if base:
            info["baseType"] = f"FHIR.{base}"
        return Node(info, None)
    name = system_type_name(system_value(item)) or "Any"
    return Node({"namespace": "System", "name": name, "baseType": "System.Any"}, None)
