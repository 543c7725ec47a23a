"""Type specifiers and the type tests behind `is`, `as`, `ofType()` and `type()`."""

from __future__ import annotations

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


class TypeTest:
    """A resolved type specifier and the tests behind `is`, `as` and `ofType()`.

    Unqualified names mean "the FHIR type, else the System type" (spec 10.1). Results
    for FHIR nodes depend only on the node's type and are remembered per type.
    """

    __slots__ = ("_as_cache", "_is_cache", "model", "name", "namespace", "unwraps")

    def __init__(self, namespace: str | None, name: str, model: Model) -> None:
        self.namespace = namespace
        self.name = name
        self.model = model
        # `as System.String` (or an unqualified System-only name) unwraps FHIR primitives
        self.unwraps = namespace == "System" or (
            namespace is None and name in SYSTEM_TYPES and model.find_type(name) is None
        )
        self._is_cache: dict[str, bool] = {}
        self._as_cache: dict[str, bool] = {}

    def __str__(self) -> str:
        return f"{self.namespace}.{self.name}" if self.namespace else self.name

    def is_(self, item: Any) -> bool:
        """`is`: the item's type is the named type or derives from it."""
        if item.__class__ is Node and item.type_name is not None:
            match = self._is_cache.get(item.type_name)
            if match is None:
                match = self.namespace != "System" and self.model.is_subtype(
                    item.type_name, self.name
                )
                self._is_cache[item.type_name] = match
            return match
        if self.namespace == "FHIR":
            return False
        return self.name == "Any" or system_type_name(system_value(item)) == self.name

    def as_(self, item: Any) -> Any:
        """`as`/`ofType()`: the item (or its system value) if of the type, else None.

        FHIR primitives are independent types here (a code is not returned as a string),
        as the FHIR page on ofType() says.
        """
        if item.__class__ is not Node or item.type_name is None:
            return item if self.is_(item) else None
        if self.unwraps:
            value = system_value(item)
            return value if value is not item and system_type_name(value) == self.name else None
        type_name = item.type_name
        match = self._as_cache.get(type_name)
        if match is None:
            if self.model.is_primitive(type_name):
                match = type_name == self.name
            else:
                match = self.model.is_subtype(type_name, self.name)
            self._as_cache[type_name] = match
        return item if match else None


def resolve(spec: TypeSpecifier, model: Model) -> TypeTest:
    """Check a type specifier against the model; unknown unqualified names are errors."""
    namespace, name = spec.namespace, spec.name
    if namespace not in (None, "FHIR", "System"):
        raise FHIRPathError(f"unknown type namespace {namespace!r}", position=spec.position)
    if namespace is None and model.find_type(name) is None and name not in SYSTEM_TYPES:
        raise FHIRPathError(f"unknown type {name!r}", position=spec.position)
    return TypeTest(namespace, name, model)


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
