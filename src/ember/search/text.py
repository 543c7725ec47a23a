"""String normalisation for search (search.html#string): insensitive to case, accents
and other combining marks, punctuation and non-significant whitespace."""

from __future__ import annotations

import re
import unicodedata

_NON_ASCII = re.compile(r"[^\x00-\x7f]")
# punctuation is Unicode's categories P*: in ASCII !"#%&'()*,-./:;?@[\]_{} (not $+<=>^`|~)
_ASCII_PUNCTUATION = str.maketrans(
    "", "", "".join(c for c in map(chr, range(128)) if unicodedata.category(c)[0] == "P")
)


def fold(text: str) -> str:
    """Fold case and drop accents and other combining marks: "Müller" -> "muller"."""
    decomposed = unicodedata.normalize("NFKD", text)
    if not decomposed.isascii():
        # Only the distinct non-ASCII characters are looked up (ASCII has no marks), and
        # the marks among them are deleted by one regex (a few patterns, cached by `re`).
        marks = sorted(c for c in set(_NON_ASCII.findall(decomposed)) if unicodedata.combining(c))
        if marks:
            decomposed = re.sub(f"[{''.join(marks)}]", "", decomposed)
    return decomposed.casefold()


def normalize(text: str) -> str:
    """What string searches compare, on both sides: folded, punctuation deleted, runs of
    whitespace one space ("O'Brien-Smith" -> "obriensmith", " a \\t b " -> "a b"). A text
    of punctuation only keeps it, so that searching for "-" does not match everything."""
    folded = fold(text)
    kept = folded.translate(_ASCII_PUNCTUATION)
    if not kept.isascii():
        # as for marks: only the distinct non-ASCII characters are looked up
        found = {c for c in _NON_ASCII.findall(kept) if unicodedata.category(c)[0] == "P"}
        if found:
            kept = kept.translate(dict.fromkeys(map(ord, found)))
    kept = " ".join(kept.split())
    return kept if kept else " ".join(folded.split())
