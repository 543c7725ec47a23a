"""iif() and the conversion functions (spec 5.5)."""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from ember.fhir.fhirpath import ucum
from ember.fhir.fhirpath.errors import FHIRPathError
from ember.fhir.fhirpath.functions.helpers import single_value, string_value
from ember.fhir.fhirpath.functions.registry import LAMBDA, VALUE, function
from ember.fhir.fhirpath.nodes import Node, system_value
from ember.fhir.fhirpath.operations import describe, fhir_quantity, is_number
from ember.fhir.fhirpath.quantity import CALENDAR_UNITS, Quantity, convert
from ember.fhir.fhirpath.temporal import Date, DateTime, Time


@function("iif", LAMBDA, LAMBDA, LAMBDA, required=2)
def iif(
    env: Any, items: list[Any], criterion: Any, when_true: Any, otherwise: Any = None
) -> list[Any]:
    # the arguments see the input item as $this; only the chosen branch is evaluated
    if len(items) > 1:
        raise FHIRPathError("iif() cannot be invoked on more than one item")
    test = criterion(items, env)
    if len(test) > 1:
        raise FHIRPathError("iif() criterion must be a single boolean")
    value = system_value(test[0]) if test else None
    if value is not None and value.__class__ is not bool:
        raise FHIRPathError(f"iif() criterion must be a boolean, got {describe(value)}")
    if value is True:
        return when_true(items, env)
    return otherwise(items, env) if otherwise is not None else []


def _converter(name: str, convert: Callable[[Any], Any]) -> None:
    """Register toX() and convertsToX() for one conversion (None = cannot convert)."""

    def to(env: Any, items: list[Any]) -> list[Any]:
        value = single_value(items, f"to{name}()")
        if value is None:
            return []
        result = convert(value)
        return [] if result is None else [result]

    def converts(env: Any, items: list[Any]) -> list[Any]:
        value = single_value(items, f"convertsTo{name}()")
        if value is None:
            return []
        return [convert(value) is not None]

    function(f"to{name}")(to)
    function(f"convertsTo{name}")(converts)


_TRUE = frozenset({"true", "t", "yes", "y", "1", "1.0"})
_FALSE = frozenset({"false", "f", "no", "n", "0", "0.0"})
_INTEGER = re.compile(r"[+-]?\d+")
_DECIMAL = re.compile(r"[+-]?\d+(\.\d+)?")
_QUANTITY = re.compile(r"(?P<value>[+-]?\d+(?:\.\d+)?)\s*(?:'(?P<ucum>[^']+)'|(?P<word>[a-z]+))?")


def to_boolean(value: Any) -> bool | None:
    if value.__class__ is bool:
        return value
    if value.__class__ is str:
        lowered = value.lower()
        return True if lowered in _TRUE else False if lowered in _FALSE else None
    if is_number(value):
        return True if value == 1 else False if value == 0 else None
    return None


def to_integer(value: Any) -> int | None:
    if value.__class__ is bool:
        return int(value)
    if value.__class__ is int:
        return value
    if value.__class__ is str and _INTEGER.fullmatch(value):
        return int(value)
    return None


def to_decimal(value: Any) -> Decimal | None:
    if value.__class__ is bool:
        return Decimal(int(value))
    if is_number(value):
        return Decimal(value)
    if value.__class__ is str and _DECIMAL.fullmatch(value):
        return Decimal(value)
    return None


def to_string(value: Any) -> str | None:
    if value.__class__ is bool:
        return "true" if value else "false"
    if value.__class__ is Node:
        return None
    return str(value)


def to_date(value: Any) -> Date | None:
    if isinstance(value, Date):
        return value
    if isinstance(value, DateTime):
        return Date((*value.parts[:3], None, None, None))
    if value.__class__ is str:
        parsed = DateTime.parse(value)
        return to_date(parsed) if parsed is not None else None
    return None


def to_datetime(value: Any) -> DateTime | None:
    if isinstance(value, DateTime):
        return value
    if isinstance(value, Date):
        return DateTime(value.parts)
    if value.__class__ is str:
        return DateTime.parse(value)
    return None


def to_time(value: Any) -> Time | None:
    if isinstance(value, Time):
        return value
    if value.__class__ is str:
        return Time.parse(value.removeprefix("T"))
    return None


def to_quantity(value: Any) -> Quantity | None:
    if value.__class__ is Quantity:
        return value
    if value.__class__ is bool:
        return Quantity(Decimal(int(value)), "1")
    if is_number(value):
        return Quantity(Decimal(value), "1")
    if value.__class__ is Node:
        return fhir_quantity(value) if value.data.__class__ is dict else None
    if value.__class__ is str:
        match = _QUANTITY.fullmatch(value.strip())
        if match is None:
            return None
        unit = match.group("ucum") or match.group("word") or "1"
        if match.group("word") and unit not in CALENDAR_UNITS:
            return None
        if match.group("ucum") and ucum.canonical(unit) is None and unit not in CALENDAR_UNITS:
            return None
        return Quantity(Decimal(match.group("value")), unit)
    return None


_converter("Boolean", to_boolean)
_converter("Integer", to_integer)
_converter("Decimal", to_decimal)
_converter("String", to_string)
_converter("Date", to_date)
_converter("DateTime", to_datetime)
_converter("Time", to_time)


def _quantity_in(value: Any, unit: list[Any]) -> Quantity | None:
    quantity = to_quantity(value)
    target = string_value(unit, "toQuantity()") if unit else None
    if quantity is None or target is None:
        return quantity
    return convert(quantity, target)


@function("toQuantity", VALUE, required=0)
def to_quantity_(env: Any, items: list[Any], unit: list[Any] | None = None) -> list[Any]:
    value = single_value(items, "toQuantity()")
    if value is None:
        return []
    result = _quantity_in(value, unit or [])
    return [] if result is None else [result]


@function("convertsToQuantity", VALUE, required=0)
def converts_to_quantity(env: Any, items: list[Any], unit: list[Any] | None = None) -> list[Any]:
    value = single_value(items, "convertsToQuantity()")
    if value is None:
        return []
    return [_quantity_in(value, unit or []) is not None]
