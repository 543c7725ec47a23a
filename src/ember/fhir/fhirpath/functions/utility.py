"""Utility, type and aggregate functions: trace(), now(), type(), is(), as(), aggregate(),
and the boundary/precision functions of FHIRPath 2.1 that the suites use."""

from __future__ import annotations

from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from typing import Any

from ember.fhir.fhirpath import temporal
from ember.fhir.fhirpath.errors import FHIRPathError
from ember.fhir.fhirpath.functions.helpers import integer_value, single_value
from ember.fhir.fhirpath.functions.registry import LAMBDA, TYPE, VALUE, function
from ember.fhir.fhirpath.operations import describe, is_number, singleton
from ember.fhir.fhirpath.quantity import Quantity
from ember.fhir.fhirpath.quantity import comparable as quantities_comparable
from ember.fhir.fhirpath.temporal import Date, DateTime, Temporal, Time
from ember.fhir.fhirpath.types import TypeTest, type_info

_MAX_DECIMAL_DIGITS = 28  # the precision of Python's default decimal context


@function("trace", VALUE, LAMBDA, required=1)
def trace(env: Any, items: list[Any], name: list[Any], projection: Any = None) -> list[Any]:
    tracer = env.services.tracer
    if tracer is not None:
        label = single_value(name, "trace()")
        logged = items
        if projection is not None:
            logged = [value for item in items for value in projection([item], env)]
        tracer(str(label), logged)
    return items


def _now_parts(env: Any) -> tuple:
    moment = env.now()
    seconds = Decimal(moment.second) + Decimal(moment.microsecond // 1000) / 1000
    seconds = seconds.quantize(Decimal("0.001"))
    return (moment.year, moment.month, moment.day, moment.hour, moment.minute, seconds)


@function("now")
def now(env: Any, items: list[Any]) -> list[Any]:
    offset = env.now().strftime("%z")
    return [DateTime(_now_parts(env), f"{offset[:3]}:{offset[3:]}")]


@function("today")
def today(env: Any, items: list[Any]) -> list[Any]:
    return [Date((*_now_parts(env)[:3], None, None, None))]


@function("timeOfDay")
def time_of_day(env: Any, items: list[Any]) -> list[Any]:
    return [Time((None, None, None, *_now_parts(env)[3:]))]


@function("type")
def type_(env: Any, items: list[Any]) -> list[Any]:
    return [type_info(item, env.model) for item in items]


@function("is", TYPE)
def is_(env: Any, items: list[Any], test: TypeTest) -> list[Any]:
    item = singleton(items, "is()")
    return [] if item is None else [test.is_(item)]


@function("as", TYPE)
def as_(env: Any, items: list[Any], test: TypeTest) -> list[Any]:
    item = singleton(items, "as()")
    if item is None:
        return []
    result = test.as_(item)
    return [] if result is None else [result]


@function("aggregate", LAMBDA, VALUE, required=1)
def aggregate(
    env: Any, items: list[Any], aggregator: Any, init: list[Any] | None = None
) -> list[Any]:
    saved_index, saved_total = env.index, env.total
    total = init or []
    try:
        for index, item in enumerate(items):
            env.index, env.total = index, total
            total = aggregator([item], env)
    finally:
        env.index, env.total = saved_index, saved_total
    return total


# -- boundaries and precision -----------------------------------------------------------


def _decimal_boundary(value: Decimal, digits: int, *, high: bool) -> Decimal:
    """The least/greatest decimal the value can stand for, at `digits` decimal places.

    A value written with n decimals stands for value +/- 0.5 x 10^-n; the low boundary is
    truncated and the high one rounded (the suite's expectations), mirrored for negatives.
    """
    if value.is_signed():
        return _decimal_boundary(value.copy_negate(), digits, high=not high).copy_negate()
    written = max(-int(value.as_tuple().exponent), 0)
    half = Decimal(5).scaleb(-(written + 1))
    quantum = Decimal(1).scaleb(-digits)
    if high:
        return (value + half).quantize(quantum, rounding=ROUND_HALF_UP)
    return (value - half).quantize(quantum, rounding=ROUND_DOWN)


def _boundary(env: Any, items: list[Any], precision: list[Any] | None, *, high: bool) -> list[Any]:
    value = single_value(items, "a boundary function")
    digits = integer_value(precision, "a boundary function") if precision else None
    if value is None:
        return []
    if isinstance(value, Temporal):
        result = temporal.boundary(value, digits, high=high)
        return [] if result is None else [result]
    number = value.value if value.__class__ is Quantity else value
    if not is_number(number) or number.__class__ is bool:
        raise FHIRPathError(f"cannot take the boundary of {describe(value)}")
    digits = 8 if digits is None else digits
    if not 0 <= digits <= _MAX_DECIMAL_DIGITS:
        return []
    bound = _decimal_boundary(Decimal(number), digits, high=high)
    return [Quantity(bound, value.unit) if value.__class__ is Quantity else bound]


@function("lowBoundary", VALUE, required=0)
def low_boundary(env: Any, items: list[Any], precision: list[Any] | None = None) -> list[Any]:
    return _boundary(env, items, precision, high=False)


@function("highBoundary", VALUE, required=0)
def high_boundary(env: Any, items: list[Any], precision: list[Any] | None = None) -> list[Any]:
    return _boundary(env, items, precision, high=True)


@function("precision")
def precision(env: Any, items: list[Any]) -> list[Any]:
    value = single_value(items, "precision()")
    if value is None:
        return []
    if isinstance(value, Temporal):
        return [value.precision_digits()]
    if is_number(value) and value.__class__ is not bool:
        return [max(-int(Decimal(value).as_tuple().exponent), 0)]
    raise FHIRPathError(f"precision() is not defined for {describe(value)}")


@function("comparable", VALUE)
def comparable(env: Any, items: list[Any], other: list[Any]) -> list[Any]:
    a, b = single_value(items, "comparable()"), single_value(other, "comparable()")
    if a is None or b is None:
        return []
    if a.__class__ is not Quantity or b.__class__ is not Quantity:
        raise FHIRPathError("comparable() expects quantities")
    return [quantities_comparable(a, b)]
