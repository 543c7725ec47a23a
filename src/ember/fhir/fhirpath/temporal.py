"""FHIRPath Date, DateTime and Time values: partial precision, comparison, arithmetic.

A value keeps the components it was written with (`@2014-01` has no day), because the
comparison rules depend on precision: comparing values of different precision can be
unknown (empty) rather than true or false (spec 6.1.1, 6.2).
"""

from __future__ import annotations

import calendar
import re
from datetime import datetime, timedelta, timezone
from decimal import ROUND_DOWN, Decimal
from typing import ClassVar

# Precision levels: an index into the component tuple.
YEAR, MONTH, DAY, HOUR, MINUTE, SECOND = range(6)
_MINIMA = (1, 1, 1, 0, 0, Decimal(0))
_EARLIEST_OFFSET = "+14:00"  # an unzoned value may be as early as UTC-14h...
_LATEST_OFFSET = "-12:00"  # ...or as late as UTC+12h

_DATE = r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?"
_TIME = r"(\d{2})(?::(\d{2})(?::(\d{2}(?:\.\d+)?))?)?"
_TIMEZONE = r"(Z|[+-]\d{2}:\d{2})"
_DATE_RE = re.compile(_DATE)
_DATETIME_RE = re.compile(rf"{_DATE}(?:T{_TIME}{_TIMEZONE}?)?")
_TIME_RE = re.compile(_TIME)


class Temporal:
    """Common behaviour of Date, DateTime and Time; `parts` is (Y, M, D, h, m, s)."""

    __slots__ = ("parts", "precision", "tz")
    type_name: ClassVar[str]
    first: ClassVar[int]  # first component level of the type
    last: ClassVar[int]  # finest component level of the type

    def __init__(self, parts: tuple, tz: str | None = None) -> None:
        self.parts = parts  # missing components are None; seconds are a Decimal
        self.tz = tz
        self.precision = max(i for i, p in enumerate(parts) if p is not None)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        return (
            type(other) is type(self)
            and self.parts == other.parts  # type: ignore[attr-defined]
            and self.tz == other.tz  # type: ignore[attr-defined]
        )

    def __hash__(self) -> int:
        return hash((type(self), self.parts, self.tz))

    @property
    def has_fraction(self) -> bool:
        second = self.parts[SECOND]
        return second is not None and second.as_tuple().exponent < 0  # type: ignore[union-attr]

    def precision_digits(self) -> int:
        """precision(): the number of digits the value is written with (@2014 has 4)."""
        digits = _DIGITS[self.precision]
        return digits + 3 if self.has_fraction else digits


_DIGITS = (4, 6, 8, 10, 12, 14)
_TIME_DIGITS = (2, 4, 6)


class Date(Temporal):
    __slots__ = ()
    type_name = "Date"
    first = YEAR
    last = DAY

    @classmethod
    def parse(cls, text: str) -> Date | None:
        match = _DATE_RE.fullmatch(text)
        if match is None:
            return None
        parts = _checked((*_numbers(match.groups()), None, None, None))
        return cls(parts) if parts else None

    def __str__(self) -> str:
        return _format_date(self.parts)


class DateTime(Temporal):
    __slots__ = ()
    type_name = "DateTime"
    first = YEAR
    last = SECOND

    @classmethod
    def parse(cls, text: str) -> DateTime | None:
        match = _DATETIME_RE.fullmatch(text)
        if match is None:
            return None
        groups = match.groups()
        parts = _checked(_numbers(groups[:6]))
        if parts is None or (groups[6] and parts[HOUR] is None):
            return None
        return cls(parts, groups[6])

    def __str__(self) -> str:
        text = _format_date(self.parts)
        if self.precision >= HOUR:
            text += "T" + _format_time(self.parts) + (self.tz or "")
        return text


class Time(Temporal):
    __slots__ = ()
    type_name = "Time"
    first = HOUR
    last = SECOND

    @classmethod
    def parse(cls, text: str) -> Time | None:
        match = _TIME_RE.fullmatch(text)
        if match is None:
            return None
        parts = _checked(_numbers((None, None, None, *match.groups())))
        return cls(parts) if parts else None

    def __str__(self) -> str:
        return "T" + _format_time(self.parts)

    def precision_digits(self) -> int:
        digits = _TIME_DIGITS[self.precision - HOUR]
        return digits + 3 if self.has_fraction else digits


def _numbers(groups: tuple) -> tuple:
    values: list[int | Decimal | None] = [int(g) if g is not None else None for g in groups[:5]]
    values += [Decimal(g) if g is not None else None for g in groups[5:6]]
    return tuple(values)


def _checked(parts: tuple) -> tuple | None:
    year, month, day, hour, minute, second = parts
    if month is not None and not 1 <= month <= 12:
        return None
    if day is not None and not 1 <= day <= calendar.monthrange(year, month)[1]:
        return None
    if hour is not None and hour > 23:
        return None
    if minute is not None and minute > 59:
        return None
    if second is not None and second >= 60:
        return None
    return parts


def _format_date(parts: tuple) -> str:
    year, month, day = parts[:3]
    text = f"{year:04d}"
    if month is not None:
        text += f"-{month:02d}"
        if day is not None:
            text += f"-{day:02d}"
    return text


def _format_time(parts: tuple) -> str:
    hour, minute, second = parts[3:]
    text = f"{hour:02d}"
    if minute is not None:
        text += f":{minute:02d}"
        if second is not None:
            whole = int(second)
            fraction = str(second - whole) if second.as_tuple().exponent < 0 else ""
            text += f":{whole:02d}{fraction[1:]}"
    return text


def _offset_minutes(tz: str) -> int:
    if tz == "Z":
        return 0
    sign = -1 if tz[0] == "-" else 1
    return sign * (int(tz[1:3]) * 60 + int(tz[4:6]))


def parse_fhir(type_name: str, text: str) -> Temporal | None:
    """A FHIR date/dateTime/instant/time primitive as a FHIRPath value."""
    if type_name == "date":
        return Date.parse(text)
    if type_name == "time":
        return Time.parse(text)
    return DateTime.parse(text)


# -- comparison --------------------------------------------------------------------


def _as_datetime(value: Temporal) -> Temporal:
    return DateTime(value.parts) if type(value) is Date else value


def compare(a: Temporal, b: Temporal) -> int | None:
    """-1/0/1, or None when precision or time zones leave the order unknown.

    Raises TypeError for values of incomparable types (a Time with a Date).
    """
    if (type(a) is Time) != (type(b) is Time):
        raise TypeError("cannot compare a Time with a Date or DateTime")
    if (a.tz is None) != (b.tz is None):
        return _compare_ranges(_as_datetime(a), _as_datetime(b))
    pa, pb = _normalised(a), _normalised(b)
    for level in range(a.first, SECOND + 1):
        x, y = pa[level], pb[level]
        if x is None and y is None:
            return 0
        if x is None or y is None:
            return None
        if x != y:
            return -1 if x < y else 1
    return 0


def _normalised(value: Temporal) -> tuple:
    """The components shifted to UTC when the value has a time zone."""
    if value.tz is None or _offset_minutes(value.tz) == 0:
        return value.parts
    parts = value.parts
    moment = datetime(*(p if p is not None else _MINIMA[i] for i, p in enumerate(parts[:5])))
    moment -= timedelta(minutes=_offset_minutes(value.tz))
    shifted = (moment.year, moment.month, moment.day, moment.hour, moment.minute)
    kept = tuple(s if p is not None else None for s, p in zip(shifted, parts[:5], strict=True))
    return (*kept, parts[SECOND])


def _compare_ranges(a: Temporal, b: Temporal) -> int | None:
    """Order values of which only one has a time zone: known only if their ranges are apart.

    An unzoned value may be in any zone from +14:00 to -12:00, so it stands for a range.
    """
    try:
        a_low, a_high = _instant(a, high=False), _instant(a, high=True)
        b_low, b_high = _instant(b, high=False), _instant(b, high=True)
    except (OverflowError, ValueError):
        return None
    if a_high < b_low:
        return -1
    if a_low > b_high:
        return 1
    return None


def _instant(value: Temporal, *, high: bool) -> datetime:
    bound = boundary(value, None, high=high)
    assert bound is not None and bound.tz is not None
    year, month, day, hour, minute, second = bound.parts
    whole = int(second)
    micro = int((second - whole) * 1_000_000)
    zone = timezone(timedelta(minutes=_offset_minutes(bound.tz)))
    return datetime(year, month, day, hour, minute, whole, micro, tzinfo=zone)


def equal(a: Temporal, b: Temporal) -> bool | None:
    """`=`: None (empty) when precision differs after equal leading components."""
    if (type(a) is Time) != (type(b) is Time):
        return False
    result = compare(a, b)
    return None if result is None else result == 0


def equivalent(a: Temporal, b: Temporal) -> bool:
    """`~`: like equality, but differing precision is simply not equivalent."""
    if (type(a) is Time) != (type(b) is Time) or a.precision != b.precision:
        return False
    return equal(a, b) is True


# -- boundaries and arithmetic -----------------------------------------------------


def boundary(value: Temporal, digits: int | None, *, high: bool) -> Temporal | None:
    """lowBoundary()/highBoundary(): the earliest/latest value at `digits` precision.

    Returns None for a precision the type does not have.
    """
    table = _TIME_DIGITS if type(value) is Time else _DIGITS[: value.last + 1]
    has_millis = value.last == SECOND
    if digits is None:
        digits = table[-1] + 3 if has_millis else table[-1]
    millis = has_millis and digits == table[-1] + 3
    if digits not in table and not millis:
        return None
    level = SECOND if millis else table.index(digits) + value.first
    parts = list(value.parts)
    for i in range(value.first, SECOND + 1):
        if i > level:
            parts[i] = None
        elif i == SECOND:
            parts[i] = _second_boundary(parts[i], 3 if millis else 0, high=high)
        elif parts[i] is None:
            parts[i] = _maximum(i, parts) if high else _MINIMA[i]
    tz = value.tz
    if type(value) is DateTime:
        if level < HOUR:
            tz = None
        elif tz is None:
            tz = _LATEST_OFFSET if high else _EARLIEST_OFFSET
    return type(value)(tuple(parts), tz)


def _second_boundary(second: Decimal | None, decimals: int, *, high: bool) -> Decimal:
    quantum = Decimal(1).scaleb(-decimals)
    if second is None:
        return (Decimal(60) - quantum if high else Decimal(0)).quantize(quantum)
    written = max(-int(second.as_tuple().exponent), 0)
    if written >= decimals or not high:
        return second.quantize(quantum, rounding=ROUND_DOWN)
    # a value written with fewer decimals stands for [s, s + 10^-written)
    return second.quantize(quantum) + Decimal(1).scaleb(-written) - quantum


def _maximum(level: int, parts: list) -> int:
    if level == MONTH:
        return 12
    if level == DAY:
        return calendar.monthrange(parts[YEAR], parts[MONTH])[1]
    return (23, 59)[level - HOUR]


_UNIT_LEVELS = {
    "year": YEAR,
    "month": MONTH,
    "day": DAY,
    "hour": HOUR,
    "minute": MINUTE,
    "second": SECOND,
}
# how many of a level make one of the next coarser level, when converting a quantity
# finer than the value (spec 6.7.1: `@2016 + 365 days` is `@2017`)
_PER_COARSER = {MONTH: 12, DAY: 30, HOUR: 24, MINUTE: 60, SECOND: 60}


def add(value: Temporal, amount: Decimal, unit: str) -> Temporal:
    """value + amount of a calendar unit (year ... millisecond), spec 6.7.

    Raises ValueError when the unit does not apply to the type or the result is out of
    range.
    """
    steps = amount.to_integral_value(rounding=ROUND_DOWN)
    if unit == "week":
        steps, unit = steps * 7, "day"
    elif unit == "millisecond":
        steps, unit = steps / 1000, "second"
    level = _UNIT_LEVELS[unit]
    if level < value.first or (type(value) is Date and level > DAY):
        raise ValueError(f"cannot add {unit}s to a {value.type_name}")
    if level == SECOND and not value.has_fraction:
        steps = steps.to_integral_value(rounding=ROUND_DOWN)
    while level > value.precision:
        steps = (steps / _PER_COARSER[level]).to_integral_value(rounding=ROUND_DOWN)
        level -= 1
    parts = list(value.parts)
    if level <= MONTH:
        months = (
            parts[YEAR] * 12 + (parts[MONTH] or 1) - 1 + int(steps) * (12 if level == YEAR else 1)
        )
        year, month = divmod(months, 12)
        parts[YEAR] = year
        if parts[MONTH] is not None:
            parts[MONTH] = month + 1
        if parts[DAY] is not None:
            parts[DAY] = min(parts[DAY], calendar.monthrange(year, month + 1)[1])
    else:
        parts = _add_definite(value, parts, level, steps)
    if not 1 <= (parts[YEAR] or 1) <= 9999:
        raise ValueError("date/time arithmetic result is out of range")
    return type(value)(tuple(parts), value.tz)


def _add_definite(value: Temporal, parts: list, level: int, steps: Decimal) -> list:
    filled = [p if p is not None else _MINIMA[i] for i, p in enumerate(parts)]
    if type(value) is Time:
        filled[:3] = [2000, 1, 1]  # any date: a time of day wraps around
    second = filled[SECOND]
    whole = int(second)
    try:
        moment = datetime(*filled[:5], whole, int((second - whole) * 1_000_000))
        if level == SECOND:
            moment += timedelta(microseconds=int(steps * 1_000_000))
        else:
            moment += timedelta(**{("days", "hours", "minutes")[level - DAY]: int(steps)})
    except OverflowError:
        raise ValueError("date/time arithmetic result is out of range") from None
    new = (moment.year, moment.month, moment.day, moment.hour, moment.minute)
    result = [n if p is not None else None for n, p in zip(new, parts[:5], strict=True)]
    if parts[SECOND] is None:
        return [*result, None]
    exponent = int(parts[SECOND].as_tuple().exponent)
    seconds = Decimal(moment.second) + Decimal(moment.microsecond) / 1_000_000
    return [*result, seconds.quantize(Decimal(1).scaleb(min(exponent, 0)), rounding=ROUND_DOWN)]
