"""Math functions (spec 5.7); Decimal results are computed with extra digits and rounded
to the context precision, so `16.log(2)` is exactly 4."""

from __future__ import annotations

from collections.abc import Callable
from decimal import ROUND_CEILING, ROUND_DOWN, ROUND_FLOOR, ROUND_HALF_UP, Decimal, localcontext
from decimal import InvalidOperation as DecimalError
from typing import Any

from ember.fhir.fhirpath.errors import FHIRPathError
from ember.fhir.fhirpath.functions.helpers import single_value
from ember.fhir.fhirpath.functions.registry import VALUE, function
from ember.fhir.fhirpath.operations import describe, is_number
from ember.fhir.fhirpath.quantity import Quantity


def _number(items: list[Any], name: str) -> Any:
    value = single_value(items, f"{name}()")
    if value is not None and (not is_number(value) or value.__class__ is bool):
        raise FHIRPathError(f"{name}() expects a number, got {describe(value)}")
    return value


def _precise(compute: Callable[[], Decimal]) -> Decimal | None:
    with localcontext() as context:
        context.prec = 40
        try:
            result = compute()
        except (DecimalError, ArithmeticError):
            return None
    if result.is_nan() or result.is_infinite():
        return None
    return +result  # back to the default precision


def _math(name: str, operation: Callable[[Any], Any]) -> None:
    def impl(env: Any, items: list[Any]) -> list[Any]:
        value = _number(items, name)
        if value is None:
            return []
        result = operation(value)
        return [] if result is None else [result]

    function(name)(impl)


@function("abs")
def abs_(env: Any, items: list[Any]) -> list[Any]:
    value = single_value(items, "abs()")
    if value is None:
        return []
    if value.__class__ is Quantity:
        return [Quantity(abs(value.value), value.unit)]
    return [abs(_number(items, "abs"))]


_math("ceiling", lambda v: int(Decimal(v).to_integral_value(rounding=ROUND_CEILING)))
_math("floor", lambda v: int(Decimal(v).to_integral_value(rounding=ROUND_FLOOR)))
_math("truncate", lambda v: int(Decimal(v).to_integral_value(rounding=ROUND_DOWN)))
_math("exp", lambda v: _precise(lambda: Decimal(v).exp()))
_math("ln", lambda v: _precise(lambda: Decimal(v).ln()) if v > 0 else None)
_math("sqrt", lambda v: _precise(lambda: Decimal(v).sqrt()) if v >= 0 else None)


@function("log", VALUE)
def log(env: Any, items: list[Any], base: list[Any]) -> list[Any]:
    value, radix = _number(items, "log"), _number(base, "log")
    if value is None or radix is None or value <= 0 or radix <= 0 or radix == 1:
        return []
    result = _precise(lambda: Decimal(value).ln() / Decimal(radix).ln())
    return [] if result is None else [result]


@function("power", VALUE)
def power(env: Any, items: list[Any], exponent: list[Any]) -> list[Any]:
    value, power_ = _number(items, "power"), _number(exponent, "power")
    if value is None or power_ is None:
        return []
    if value.__class__ is int and power_.__class__ is int and power_ >= 0:
        return [value**power_]
    if value < 0 and Decimal(power_) != Decimal(power_).to_integral_value():
        return []  # no real result
    result = _precise(lambda: Decimal(value) ** Decimal(power_))
    return [] if result is None else [result]


@function("round", VALUE, required=0)
def round_(env: Any, items: list[Any], precision: list[Any] | None = None) -> list[Any]:
    value = _number(items, "round")
    digits = _number(precision, "round") if precision else 0
    if value is None or digits is None:
        return []
    if digits.__class__ is not int or digits < 0:
        raise FHIRPathError("round() precision must be a non-negative integer")
    return [Decimal(value).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)]
