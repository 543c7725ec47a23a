"""String normalisation for search: case- and accent-insensitive (search.html#string)."""

from __future__ import annotations

import unicodedata


def normalize(text: str) -> str:
    """Fold case and drop accents and other combining marks: "Müller" -> "muller"."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
