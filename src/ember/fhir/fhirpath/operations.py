"""The semantics of FHIRPath's operators on items and collections (spec section 6)."""

from __future__ import annotations

from decimal import Decimal, DivisionByZero, InvalidOperation
from typing import Any

from ember.fhir.fhirpath import quantity as quantities
from ember.fhir.fhirpath import temporal
from ember.fhir.fhirpath.errors import FHIRPathError
from ember.fhir.fhirpath.limits import charge_chars
from ember.fhir.fhirpath.nodes import Node, system_value
from ember.fhir.fhirpath.quantity import Quantity
from ember.fhir.fhirpath.temporal import Temporal

UCUM_SYSTEM = "http://unitsofmeasure.org"
_QUANTITY_TYPES = frozenset(
    {"Quantity", "Age", "Count", "Distance", "Duration", "MoneyQuantity", "SimpleQuantity"}
)
# UCUM time codes of a FHIR Quantity become calendar durations (FHIR R4 fhirpath 2.9.1.3)
_UCUM_CALENDAR = {
    "a": "year",
    "mo": "month",
    "d": "day",
    "h": "hour",
    "min": "minute",
    "s": "second",
}
_WHITESPACE = str.maketrans("\t\n\r", "   ")


def is_number(value: Any) -> bool:
    return value.__class__ is int or isinstance(value, Decimal)


def describe(value: Any) -> str:
    if value.__class__ is Node:
        return value.type_name or "element"
    return type(value).__name__


def fhir_quantity(item: Any) -> Quantity | None:
    """A FHIR Quantity node as a System.Quantity (None if it has no value)."""
    data = item.data
    value = data.get("value")
    if value is None:
        return None
    code = data.get("code")
    if code and data.get("system") == UCUM_SYSTEM:
        unit = _UCUM_CALENDAR.get(code, code)
    else:
        unit = data.get("unit") or code or "1"
    return Quantity(value if isinstance(value, Decimal) else Decimal(str(value)), unit)


def comparable_value(item: Any) -> Any:
    """The system value of an item, with FHIR Quantities converted to System.Quantity."""
    value = system_value(item)
    if value.__class__ is Node and value.type_name in _QUANTITY_TYPES:
        return fhir_quantity(value) or value
    return value


# -- equality and equivalence --------------------------------------------------------


def equal_items(a: Any, b: Any) -> bool | None:
    """Item equality (`=`); None when unknown (dates of different precision...)."""
    a, b = system_value(a), system_value(b)
    ca, cb = a.__class__, b.__class__
    if ca is str or cb is str or ca is bool or cb is bool:
        return ca is cb and a == b
    if is_number(a) and is_number(b):
        return a == b
    if isinstance(a, Temporal) and isinstance(b, Temporal):
        return temporal.equal(a, b)
    if ca is Node and cb is Node:
        return a.data == b.data
    if ca is Quantity or cb is Quantity:
        qa, qb = comparable_value(a), comparable_value(b)
        if qa.__class__ is Quantity and qb.__class__ is Quantity:
            return quantities.equal(qa, qb)
    return False


def equivalent_items(a: Any, b: Any) -> bool:
    """Item equivalence (`~`), with FHIR's rules for complex types (2.9.1.6)."""
    a, b = comparable_value(a), comparable_value(b)
    ca, cb = a.__class__, b.__class__
    if ca is str and cb is str:
        return a.translate(_WHITESPACE).lower() == b.translate(_WHITESPACE).lower()
    if ca is bool or cb is bool:
        return ca is cb and a == b
    if is_number(a) and is_number(b):
        return quantities.decimal_equivalent(Decimal(a), Decimal(b))
    if isinstance(a, Temporal) and isinstance(b, Temporal):
        return temporal.equivalent(a, b)
    if ca is Quantity and cb is Quantity:
        return quantities.equivalent(a, b)
    if ca is Node and cb is Node:
        return _json_equivalent(a.data, b.data, a.type_name)
    return False


def _json_equivalent(x: Any, y: Any, type_name: str | None = None) -> bool:
    if x.__class__ is dict and y.__class__ is dict:
        if type_name == "Coding":
            return x.get("system") == y.get("system") and x.get("code") == y.get("code")
        if type_name == "CodeableConcept":
            return any(
                _json_equivalent(cx, cy, "Coding")
                for cx in x.get("coding", ())
                for cy in y.get("coding", ())
            )
        keys = x.keys() - {"id"}
        if keys != y.keys() - {"id"}:
            return False
        return all(_json_equivalent(x[key], y[key]) for key in keys)
    if x.__class__ is list and y.__class__ is list:
        return _matches_unordered(x, y, _json_equivalent)
    return equivalent_items(x, y)


def _matches_unordered(left: list[Any], right: list[Any], same: Any) -> bool:
    if len(left) != len(right):
        return False
    unmatched = list(right)
    for item in left:
        for i, candidate in enumerate(unmatched):
            if same(item, candidate):
                del unmatched[i]
                break
        else:
            return False
    return True


def equals(left: list[Any], right: list[Any]) -> list[Any]:
    if not left or not right:
        return []
    if len(left) != len(right):
        return [False]
    unknown = False
    for a, b in zip(left, right, strict=True):
        result = equal_items(a, b)
        if result is False:
            return [False]
        unknown = unknown or result is None
    return [] if unknown else [True]


def not_equals(left: list[Any], right: list[Any]) -> list[Any]:
    result = equals(left, right)
    return [not result[0]] if result else result


def equivalent(left: list[Any], right: list[Any]) -> list[Any]:
    return [_matches_unordered(left, right, equivalent_items)]


def not_equivalent(left: list[Any], right: list[Any]) -> list[Any]:
    return [not _matches_unordered(left, right, equivalent_items)]


# -- comparison ----------------------------------------------------------------------


def compare_items(a: Any, b: Any) -> int | None:
    """-1/0/1 for ordered operands, None if unknown; raises on incomparable types."""
    a, b = comparable_value(a), comparable_value(b)
    ca, cb = a.__class__, b.__class__
    if ca is str and cb is str:
        return (a > b) - (a < b)
    if is_number(a) and is_number(b) and ca is not bool and cb is not bool:
        return (a > b) - (a < b)
    if isinstance(a, Temporal) and isinstance(b, Temporal):
        try:
            return temporal.compare(a, b)
        except TypeError as exc:
            raise FHIRPathError(str(exc)) from None
    if ca is Quantity and cb is Quantity:
        return quantities.compare(a, b)
    raise FHIRPathError(f"cannot compare {describe(a)} with {describe(b)}")


def singleton(items: list[Any], what: str) -> Any:
    """The single item of a collection (None if empty); more than one is an error."""
    if not items:
        return None
    if len(items) > 1:
        raise FHIRPathError(f"{what} expects a single item, got {len(items)}")
    return items[0]


def comparison(operator: str) -> Any:
    tests = {
        "<": lambda c: c < 0,
        "<=": lambda c: c <= 0,
        ">": lambda c: c > 0,
        ">=": lambda c: c >= 0,
    }
    test = tests[operator]

    def compare(left: list[Any], right: list[Any]) -> list[Any]:
        a, b = singleton(left, operator), singleton(right, operator)
        if a is None or b is None:
            return []
        result = compare_items(a, b)
        return [] if result is None else [test(result)]

    return compare


# -- booleans ------------------------------------------------------------------------


def to_boolean(items: list[Any], what: str = "a boolean operator") -> bool | None:
    """Singleton evaluation as Boolean (spec 4.5): a single non-boolean item is true."""
    if not items:
        return None
    if len(items) > 1:
        raise FHIRPathError(f"{what} expects a single boolean, got {len(items)} items")
    value = system_value(items[0])
    return value if value.__class__ is bool else True


# -- collections ---------------------------------------------------------------------


def distinct(items: list[Any]) -> list[Any]:
    """Items without duplicates (by `=`), first occurrence kept."""
    out: list[Any] = []
    seen: set[Any] = set()
    others: list[Any] = []
    for item in items:
        value = system_value(item)
        cls = value.__class__
        if cls is str or cls is bool or cls is int or isinstance(value, Decimal):
            key = (cls is str, cls is bool, value)  # 1 and 1.0 are equal, '1' and True not
            if key in seen:
                continue
            seen.add(key)
        else:
            if any(equal_items(value, other) is True for other in others):
                continue
            others.append(value)
        out.append(item)
    return out


def union(left: list[Any], right: list[Any]) -> list[Any]:
    return distinct(left + right)


def contains_item(items: list[Any], item: Any) -> bool:
    return any(equal_items(item, candidate) is True for candidate in items)


# -- arithmetic ----------------------------------------------------------------------


def _number_operands(operator: str, a: Any, b: Any) -> None:
    if not (is_number(a) and is_number(b)) or a.__class__ is bool or b.__class__ is bool:
        raise FHIRPathError(f"cannot apply {operator!r} to {describe(a)} and {describe(b)}")


def add(a: Any, b: Any) -> Any:
    ca, cb = a.__class__, b.__class__
    if ca is str and cb is str:
        charge_chars(len(a) + len(b))
        return a + b
    if isinstance(a, Temporal) and cb is Quantity:
        return date_arithmetic(a, b, 1)
    if ca is Quantity and cb is Quantity:
        return quantities.add(a, b)
    _number_operands("+", a, b)
    return a + b


def subtract(a: Any, b: Any) -> Any:
    if isinstance(a, Temporal) and b.__class__ is Quantity:
        return date_arithmetic(a, b, -1)
    if a.__class__ is Quantity and b.__class__ is Quantity:
        return quantities.add(a, b, -1)
    _number_operands("-", a, b)
    return a - b


def multiply(a: Any, b: Any) -> Any:
    if a.__class__ is Quantity or b.__class__ is Quantity:
        return quantities.multiply(_as_quantity(a, "*"), _as_quantity(b, "*"))
    _number_operands("*", a, b)
    return a * b


def divide(a: Any, b: Any) -> Any:
    if a.__class__ is Quantity or b.__class__ is Quantity:
        return quantities.divide(_as_quantity(a, "/"), _as_quantity(b, "/"))
    _number_operands("/", a, b)
    if b == 0:
        return None
    return Decimal(a) / Decimal(b)


def integer_divide(a: Any, b: Any) -> Any:
    _number_operands("div", a, b)
    if b == 0:
        return None
    if a.__class__ is int and b.__class__ is int:
        quotient = abs(a) // abs(b)
        return quotient if (a >= 0) == (b >= 0) else -quotient
    return int(Decimal(a) / Decimal(b))


def modulo(a: Any, b: Any) -> Any:
    _number_operands("mod", a, b)
    if b == 0:
        return None
    if a.__class__ is int and b.__class__ is int:
        remainder = abs(a) % abs(b)
        return remainder if a >= 0 else -remainder
    try:
        return Decimal(a) % Decimal(b)
    except (InvalidOperation, DivisionByZero):
        return None


def _as_quantity(value: Any, operator: str) -> Quantity:
    if value.__class__ is Quantity:
        return value
    if is_number(value) and value.__class__ is not bool:
        return Quantity(Decimal(value), "1")
    raise FHIRPathError(f"cannot apply {operator!r} to {describe(value)}")


def date_arithmetic(value: Temporal, amount: Quantity, sign: int) -> Temporal:
    unit = amount.time_unit()
    if unit is None:
        raise FHIRPathError(f"cannot add or subtract {amount} to or from a date/time")
    try:
        return temporal.add(value, amount.value * sign, unit)
    except ValueError as exc:
        raise FHIRPathError(str(exc)) from None


def negate(value: Any) -> Any:
    if value.__class__ is Quantity:
        return Quantity(-value.value, value.unit)
    if not is_number(value) or value.__class__ is bool:
        raise FHIRPathError(f"cannot negate {describe(value)}")
    return -value
