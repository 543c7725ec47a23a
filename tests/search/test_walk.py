"""Pages sorted by a date read by walking its index (ember.search.walk), on both backends:
the same pages, in both directions, as when the matches are listed and sorted."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
import pytest

from ember.search import plan
from ember.search.criteria import parse
from ember.search.index import index_rows
from ember.search.query import find_page, page_statement, parse_sort
from ember.store import Store, StoredVersion, open_store


def _goal(id_: str, *dues: str, status: str = "active") -> dict[str, Any]:
    return {
        "resourceType": "Goal",
        "id": id_,
        "lifecycleStatus": status,
        "description": {"text": id_},
        "subject": {"reference": "Patient/p"},
        "target": [{"dueDate": due} for due in dues],
    }


# target-date has a row per target: a goal sorts by its earliest start ascending and by
# its latest end descending; g3 and g7 have none and come last either way; g2 and g5 tie
GOALS = [
    _goal("g1", "2024-03-01", "2024-09-01"),
    _goal("g2", "2024-06-01"),
    _goal("g3"),
    _goal("g4", "2024-01-01", "2024-12-01"),
    _goal("g5", "2024-06-01"),
    _goal("g6", "2024-02-01", status="cancelled"),
    _goal("g7", status="proposed"),
]


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    opened = open_store(database_url)
    try:
        for n, resource in enumerate(GOALS, start=1):
            version = StoredVersion("Goal", resource["id"], 1, n, "PUT", orjson.dumps(resource))
            with opened.writing() as writer:
                writer.write_version(None, version, index_rows(resource))
        yield opened
    finally:
        opened.close()


def _pages(store: Store, query: str, sort: str, size: int) -> tuple[list[str], list[str]]:
    """The ids of every page forwards by next links, then backwards from the last page
    by previous links."""
    criteria = parse("Goal", query, strict=True)
    keys = parse_sort(("Goal",), sort)
    with store.reading() as reader:
        page = find_page(reader, criteria, keys, size, None)
        forwards = page.ids
        while page.next_cursor is not None:
            page = find_page(reader, criteria, keys, size, page.next_cursor)
            forwards += page.ids
        backwards = page.ids
        while page.previous_cursor is not None:
            page = find_page(reader, criteria, keys, size, page.previous_cursor)
            backwards = page.ids + backwards
    return forwards, backwards


@pytest.mark.parametrize(
    ("query", "sort", "expected"),
    [
        ("lifecycle-status=active", "target-date", ["g4", "g1", "g2", "g5", "g3"]),
        ("lifecycle-status=active", "-target-date", ["g4", "g1", "g2", "g5", "g3"]),
        ("lifecycle-status=active,cancelled", "target-date", ["g4", "g6", "g1", "g2", "g5", "g3"]),
        ("lifecycle-status=active,cancelled", "-target-date", ["g4", "g1", "g2", "g5", "g6", "g3"]),
        ("lifecycle-status=cancelled", "-target-date", ["g6"]),
        ("lifecycle-status=proposed", "target-date", ["g7"]),
    ],
)
@pytest.mark.parametrize("size", [1, 2, 10])
def test_walked_pages_are_the_sorted_pages(
    store: Store,
    monkeypatch: pytest.MonkeyPatch,
    query: str,
    sort: str,
    expected: list[str],
    size: int,
) -> None:
    monkeypatch.setattr(plan, "COMMON", 1)  # every criterion common: pages walk the index
    assert _pages(store, query, sort, size) == (expected, expected)
    monkeypatch.setattr(plan, "COMMON", 500)  # the criterion drives: matches listed, sorted
    assert _pages(store, query, sort, size) == (expected, expected)


@pytest.mark.parametrize(("common", "walks"), [(1, True), (500, False)])
def test_only_common_criteria_walk(
    store: Store, monkeypatch: pytest.MonkeyPatch, common: int, walks: bool
) -> None:
    monkeypatch.setattr(plan, "COMMON", common)
    criteria = parse("Goal", "lifecycle-status=active", strict=True)
    with store.reading() as reader:
        for sort in ("target-date", "-target-date"):
            keys = parse_sort(("Goal",), sort)
            assert page_statement(reader, criteria, keys, 2, None)[2] == walks
        # not by other kinds of key, nor by several keys
        for sort in ("lifecycle-status", "target-date,lifecycle-status", "_lastUpdated"):
            keys = parse_sort(("Goal",), sort)
            assert page_statement(reader, criteria, keys, 2, None)[2] is False
