"""Dates as the time ranges their precision covers."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ember.search.dates import approximate, parse_range


def _us(*args: int) -> int:
    moment = datetime(*args, tzinfo=UTC)  # type: ignore[misc]
    return int(moment.timestamp()) * 1_000_000 + moment.microsecond


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("2024", _us(2024, 1, 1), _us(2025, 1, 1)),
        ("2024-02", _us(2024, 2, 1), _us(2024, 3, 1)),
        ("2024-02-29", _us(2024, 2, 29), _us(2024, 3, 1)),
        ("2024-02-29T10:00Z", _us(2024, 2, 29, 10), _us(2024, 2, 29, 10, 1)),
        ("2024-02-29T10:00:05+02:00", _us(2024, 2, 29, 8, 0, 5), _us(2024, 2, 29, 8, 0, 6)),
        (
            "2024-02-29T10:00:05.25Z",
            _us(2024, 2, 29, 10, 0, 5, 250000),
            _us(2024, 2, 29, 10, 0, 5, 260000),
        ),
    ],
)
def test_ranges(text: str, start: int, end: int) -> None:
    assert parse_range(text) == (start, end)


@pytest.mark.parametrize("text", ["yesterday", "2024-13", "2023-02-29", "2024-1-1", ""])
def test_invalid(text: str) -> None:
    with pytest.raises(ValueError):
        parse_range(text)


def test_approximate_widens_by_a_tenth_of_the_gap_to_now() -> None:
    now = _us(2020, 1, 1)
    start, end = parse_range("2010-01-01")
    low, high = approximate(start, end, now)
    assert start - low == high - end == (now - start) // 10
    assert approximate(now, now + 1, now) == (now, now + 1)  # no gap, no widening
