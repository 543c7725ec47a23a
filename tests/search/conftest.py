"""Fixtures of the search tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ember.store import Store, open_store


@pytest.fixture
def empty_store(database_url: str) -> Iterator[Store]:
    """An open store on each backend, without rebuild jobs left over afterwards."""
    opened = open_store(database_url)
    try:
        yield opened
    finally:
        with opened.writing() as writer:  # jobs outlive the per-test cleanup on PostgreSQL
            writer.execute("DELETE FROM search_jobs")
        opened.close()
