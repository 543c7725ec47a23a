"""The System.Quantity type: a Decimal value with a UCUM unit or a calendar duration.

Calendar durations (`4 days`) and UCUM units (`4 'd'`) relate as the spec's table says:
week and below are interchangeable with their UCUM counterparts; year and month are
only equivalent (`~`) to 'a' and 'mo', never equal or comparable (spec 4.1.8).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from ember.fhir.fhirpath import ucum

_CALENDAR = ("year", "month", "week", "day", "hour", "minute", "second", "millisecond")
# keyword (singular or plural) -> singular
CALENDAR_UNITS: dict[str, str] = {
    **{unit: unit for unit in _CALENDAR},
    **{unit + "s": unit for unit in _CALENDAR},
}
# the definite UCUM unit of each calendar duration, for conversion
_CALENDAR_UCUM = {
    "year": "a",
    "month": "mo",
    "week": "wk",
    "day": "d",
    "hour": "h",
    "minute": "min",
    "second": "s",
    "millisecond": "ms",
}
_MONTHS = {"year": 12, "month": 1}  # years and months convert only to each other


class Quantity:
    __slots__ = ("unit", "value")

    def __init__(self, value: Decimal, unit: str = "1") -> None:
        self.value = value
        self.unit = unit

    def __str__(self) -> str:
        if self.unit in CALENDAR_UNITS:
            return f"{self.value} {self.unit}"
        return f"{self.value} '{self.unit}'"

    def __repr__(self) -> str:
        return f"Quantity({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Quantity) and self.value == other.value and self.unit == other.unit

    def __hash__(self) -> int:
        return hash((self.value, self.unit))

    @property
    def calendar_unit(self) -> str | None:
        """The singular calendar keyword, if the unit is one."""
        return CALENDAR_UNITS.get(self.unit)

    def time_unit(self) -> str | None:
        """The calendar unit to use in date/time arithmetic (spec 6.7), if any.

        Calendar keywords and the definite UCUM units of a week or less qualify; UCUM
        'a' and 'mo' do not, since their length is not a calendar year or month.
        """
        keyword = self.calendar_unit
        if keyword is not None:
            return keyword
        for keyword, code in _CALENDAR_UCUM.items():
            if code == self.unit and keyword not in _MONTHS:
                return keyword
        return None


def _scale(unit: str, *, equivalence: bool) -> tuple[Decimal, tuple] | None:
    """(factor, dimension) of a unit; year/month get a dimension of their own unless
    comparing for equivalence, where they stand for UCUM 'a' and 'mo'."""
    keyword = CALENDAR_UNITS.get(unit)
    if keyword is not None:
        if keyword in _MONTHS and not equivalence:
            return Decimal(_MONTHS[keyword]), (("calendar month", 1),)
        unit = _CALENDAR_UCUM[keyword]
    return ucum.canonical(unit)


def _canonical_values(
    a: Quantity, b: Quantity, *, equivalence: bool = False
) -> tuple[Decimal, Decimal] | None:
    if a.unit == b.unit:
        return a.value, b.value
    scale_a = _scale(a.unit, equivalence=equivalence)
    scale_b = _scale(b.unit, equivalence=equivalence)
    if scale_a is None or scale_b is None or scale_a[1] != scale_b[1]:
        return None
    return a.value * scale_a[0], b.value * scale_b[0]


def comparable(a: Quantity, b: Quantity) -> bool:
    return _canonical_values(a, b) is not None


def equal(a: Quantity, b: Quantity) -> bool | None:
    values = _canonical_values(a, b)
    return None if values is None else values[0] == values[1]


def equivalent(a: Quantity, b: Quantity) -> bool:
    values = _canonical_values(a, b, equivalence=True)
    if values is None:
        return False
    return decimal_equivalent(*values)


def compare(a: Quantity, b: Quantity) -> int | None:
    values = _canonical_values(a, b)
    if values is None:
        return None
    x, y = values
    return (x > y) - (x < y)


def decimal_equivalent(x: Decimal, y: Decimal) -> bool:
    """Equal when rounded to the precision of the less precise operand (spec 6.1.2)."""
    places = min(_decimal_places(x), _decimal_places(y))
    quantum = Decimal(1).scaleb(-places)
    try:
        return x.quantize(quantum) == y.quantize(quantum)
    except InvalidOperation:
        return x == y


def _decimal_places(value: Decimal) -> int:
    exponent = int(value.normalize().as_tuple().exponent)
    return max(-exponent, 0)


# -- arithmetic ----------------------------------------------------------------------


def add(a: Quantity, b: Quantity, sign: int = 1) -> Quantity | None:
    """a + b (or a - b with sign=-1) in the more granular unit; None if incompatible."""
    if a.unit == b.unit:
        return Quantity(a.value + sign * b.value, a.unit)
    scale_a, scale_b = _scale(a.unit, equivalence=False), _scale(b.unit, equivalence=False)
    if scale_a is None or scale_b is None or scale_a[1] != scale_b[1]:
        return None
    if scale_a[0] <= scale_b[0]:
        return Quantity(a.value + sign * b.value * scale_b[0] / scale_a[0], a.unit)
    return Quantity(a.value * scale_a[0] / scale_b[0] + sign * b.value, b.unit)


def convert(quantity: Quantity, unit: str) -> Quantity | None:
    """The quantity in another unit of the same dimension; None if not convertible."""
    if unit == quantity.unit:
        return quantity
    source = _scale(quantity.unit, equivalence=False)
    target = _scale(unit, equivalence=False)
    if source is None or target is None or source[1] != target[1]:
        return None
    return Quantity(quantity.value * source[0] / target[0], unit)


def multiply(a: Quantity, b: Quantity) -> Quantity:
    return Quantity(a.value * b.value, _product_unit(_ucum_unit(a), _ucum_unit(b), "."))


def divide(a: Quantity, b: Quantity) -> Quantity | None:
    if b.value == 0:
        return None
    if a.unit == b.unit:
        return Quantity(a.value / b.value, "1")
    return Quantity(a.value / b.value, _product_unit(_ucum_unit(a), _ucum_unit(b), "/"))


def _ucum_unit(quantity: Quantity) -> str:
    keyword = quantity.calendar_unit
    return _CALENDAR_UCUM[keyword] if keyword else quantity.unit


def _product_unit(left: str, right: str, operator: str) -> str:
    if right == "1":
        return left
    if left == "1" and operator == ".":
        return right
    wrap = "({})" if any(c in right for c in "./") else "{}"
    return f"{left}{operator}{wrap.format(right)}"
