"""Where the shared test data lives: ../shared/testdata beside the repository."""

from __future__ import annotations

from pathlib import Path

import pytest

TESTDATA = Path(__file__).resolve().parents[1].parent / "shared" / "testdata"


def shared_testdata(*parts: str) -> Path:
    """A path inside ../shared/testdata; fails loudly if the folder is missing."""
    if not TESTDATA.is_dir():
        pytest.fail(f"test data not found at {TESTDATA}: shared/ must sit beside the repository")
    return TESTDATA.joinpath(*parts)
