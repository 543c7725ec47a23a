"""FHIR date/dateTime/instant values as half-open time ranges (search.html#date).

A value stands for the whole period its precision covers: `2024` is all of 2024,
`2024-03-05T10:00` is that minute. Times without a zone are read as UTC.
"""

from __future__ import annotations

import re
from calendar import monthrange
from datetime import UTC, datetime, timedelta, timezone

_DATE = re.compile(
    r"^(?P<year>\d{4})(?:-(?P<month>\d{2})(?:-(?P<day>\d{2})"
    r"(?:T(?P<hour>\d{2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?:\.(?P<fraction>\d+))?)?"
    r"(?P<zone>Z|[+-]\d{2}:\d{2})?)?)?)?$"
)


def _zone(text: str | None) -> timezone:
    if not text or text == "Z":
        return UTC
    sign = 1 if text[0] == "+" else -1
    hours, minutes = int(text[1:3]), int(text[4:6])
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)

# Open ends of periods (a Period without start or end) in the same µs scale.
EARLIEST = -(2**62)
LATEST = 2**62


def _micros(moment: datetime) -> int:
    # exact integer arithmetic, also before 1970
    return (moment - _EPOCH) // _MICROSECOND


def parse_range(text: str) -> tuple[int, int]:
    """(start, end) in µs since the epoch, end exclusive; raises ValueError."""
    match = _DATE.match(text)
    if not match:
        raise ValueError(f"{text!r} is not a valid date or dateTime")
    parts = match.groupdict()
    year = int(parts["year"])
    if parts["month"] is None:
        start = datetime(year, 1, 1, tzinfo=UTC)
        return _micros(start), _micros(start.replace(year=year + 1))
    month = int(parts["month"])
    if parts["day"] is None:
        start = datetime(year, month, 1, tzinfo=UTC)
        end = start + timedelta(days=monthrange(year, month)[1])
        return _micros(start), _micros(end)
    day = int(parts["day"])
    if parts["hour"] is None:
        start = datetime(year, month, day, tzinfo=UTC)
        return _micros(start), _micros(start + timedelta(days=1))
    zone = _zone(parts["zone"])
    hour, minute = int(parts["hour"]), int(parts["minute"])
    if parts["second"] is None:
        start = datetime(year, month, day, hour, minute, tzinfo=zone)
        return _micros(start), _micros(start + timedelta(minutes=1))
    second = int(parts["second"])
    fraction = parts["fraction"]
    if fraction is None:
        start = datetime(year, month, day, hour, minute, second, tzinfo=zone)
        return _micros(start), _micros(start + timedelta(seconds=1))
    micro = int((fraction + "000000")[:6])
    start = datetime(year, month, day, hour, minute, second, micro, tzinfo=zone)
    step = 10 ** max(0, 6 - len(fraction))
    return _micros(start), _micros(start) + step


def approximate(start: int, end: int, now: int) -> tuple[int, int]:
    """The range `ap` searches: widened on both sides by 10% of the gap between now and
    the value (search.html#prefix), so a date long ago is matched more loosely."""
    gap = max(abs(now - start), abs(now - end))
    margin = gap // 10
    return start - margin, end + margin


def now_micros() -> int:
    return _micros(datetime.now(UTC))
