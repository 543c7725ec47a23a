"""String normalisation for search: case- and accent-insensitive (search.html#string)."""

from __future__ import annotations

import re
import unicodedata

_NON_ASCII = re.compile(r"[^\x00-\x7f]")


def normalize(text: str) -> str:
    """Fold case and drop accents and other combining marks: "Müller" -> "muller"."""
    decomposed = unicodedata.normalize("NFKD", text)
    if not decomposed.isascii():
        # Only the distinct non-ASCII characters are looked up (ASCII has no marks), and
        # the marks among them are deleted by one regex (a few patterns, cached by `re`).
        marks = sorted(c for c in set(_NON_ASCII.findall(decomposed)) if unicodedata.combining(c))
        if marks:
            decomposed = re.sub(f"[{''.join(marks)}]", "", decomposed)
    return decomposed.casefold()
