"""What structural validation needs to know about each type, worked out once.

A `TypePlan` answers, for one type, everything the validator asks per JSON
property: which element it is, whether it repeats, how its values are checked.
Plans are built lazily from the model and kept for the life of the model.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from enum import Enum
from functools import cache

from ember.fhir.model import Element, Model
from ember.fhir.validation.primitives import PrimitiveCheck, primitive_check


class ValueKind(Enum):
    PRIMITIVE = "primitive"
    COMPLEX = "complex"  # datatypes and backbone elements: a JSON object
    RESOURCE = "resource"  # a nested resource, typed by its own resourceType


@dataclass(frozen=True, slots=True)
class Property:
    """One JSON property name of a type (choice elements have one per type)."""

    json_name: str
    element: Element
    type_name: str
    kind: ValueKind
    check: PrimitiveCheck | None  # primitives only
    choice_stem: str | None  # the element name ("value") when one form of a choice
    is_array: bool
    max_items: int  # the element's max, with "*" as sys.maxsize
    single_check: PrimitiveCheck | None  # `check` when exactly one value is allowed


@dataclass(frozen=True, slots=True)
class Requirement:
    """An element with a minimum cardinality, and the JSON names that supply it."""

    element: Element
    json_names: tuple[str, ...]  # includes `_name` forms: an extension-only primitive counts


@dataclass(frozen=True, slots=True)
class TypePlan:
    name: str
    is_resource: bool
    properties: dict[str, Property]  # by JSON name
    primitive_siblings: dict[str, Property]  # "_given" -> the property of "given"
    requirements: tuple[Requirement, ...]


class Plans(dict[str, TypePlan]):
    """The plans of one model's types by type name, each built on first use.

    A dict, so that looking up an already built plan costs no Python-level call.
    """

    def __init__(self, model: Model) -> None:
        super().__init__()
        self.model = model
        self._checks: dict[str, PrimitiveCheck] = {}

    def __missing__(self, type_name: str) -> TypePlan:
        plan = self[type_name] = self._build(type_name)
        return plan

    def _build(self, type_name: str) -> TypePlan:
        typedef = self.model.type(type_name)
        properties: dict[str, Property] = {}
        siblings: dict[str, Property] = {}
        requirements: list[Requirement] = []
        for element in typedef.elements.values():
            names: list[str] = []
            for json_name, value_type in element.json_names().items():
                prop = self._property(json_name, element, value_type)
                properties[json_name] = prop
                names.append(json_name)
                if prop.kind is ValueKind.PRIMITIVE:
                    siblings["_" + json_name] = prop
                    names.append("_" + json_name)
            if element.min > 0:
                requirements.append(Requirement(element, tuple(names)))
        return TypePlan(
            name=type_name,
            is_resource=typedef.is_resource,
            properties=properties,
            primitive_siblings=siblings,
            requirements=tuple(requirements),
        )

    def _property(self, json_name: str, element: Element, type_name: str) -> Property:
        value_type = self.model.type(type_name)
        if value_type.is_primitive:
            kind, check = ValueKind.PRIMITIVE, self._check(type_name)
        elif value_type.is_resource:
            kind, check = ValueKind.RESOURCE, None
        else:
            kind, check = ValueKind.COMPLEX, None
        is_single = not element.is_array and element.max != 0
        return Property(
            json_name=json_name,
            element=element,
            type_name=type_name,
            kind=kind,
            check=check,
            choice_stem=element.name if element.is_choice else None,
            is_array=element.is_array,
            max_items=sys.maxsize if element.max is None else element.max,
            single_check=check if is_single else None,
        )

    def _check(self, type_name: str) -> PrimitiveCheck:
        check = self._checks.get(type_name)
        if check is None:
            check = self._checks[type_name] = primitive_check(
                self.model, self.model.type(type_name)
            )
        return check


@cache
def plans_for(model: Model) -> Plans:
    """The shared plans of a model (models themselves are cached singletons)."""
    return Plans(model)
