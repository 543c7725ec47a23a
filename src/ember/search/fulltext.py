"""Full-text search: `_text` over the narrative, `_content` over all of a resource's text
(search.html#text, #content).

Both backends get the same words, cut here rather than by the database: text is folded
like string search (case and accents), split on anything that is not a letter or a digit,
words longer than MAX_WORD are dropped and only the first MAX_WORDS count. SQLite's
FTS5 and PostgreSQL's tsvector then only store and match those words, so a query finds
the same resources on both.

Query syntax (one value): words are ANDed; `OR` between two terms makes them
alternatives (it binds tighter than the implicit AND: `a b OR c` is a AND (b OR c));
"quoted words" and terms that fold into several words (`heart-attack`) are phrases.
Comma-separated values are alternatives, as for every search parameter.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from typing import Any

from ember.search.text import fold

_enabled = True  # EMBER_FULLTEXT, for this process (see `enable`)


def enable(on: bool) -> None:
    """Write full-text rows and answer _text/_content (or neither)."""
    global _enabled
    _enabled = on


def enabled() -> bool:
    return _enabled


# the column of `fulltext_index` each parameter searches
COLUMNS = {"_text": "narrative", "_content": "content"}

# PostgreSQL keeps positions up to 16,383 and at most 1 MB of lexemes per tsvector:
# 16,383 words of at most 40 characters always fit, and phrases match alike.
MAX_WORDS = 16_383
MAX_WORD = 40

_WORD = re.compile(r"[^\W_]+")
# ASCII text in one pass: letters lowercased (as `normalize` folds them), every character
# but letters and digits made a space, so that `split` yields the words.
_ASCII_WORDS = str.maketrans(
    {chr(c): chr(c).lower() if chr(c).isalnum() else " " for c in range(128)}
)
_TAG = re.compile(r"<[^>]*>")
# Not text, and the server sets them: the words of a resource must not depend on whether
# they are taken from the body sent or from the version stored (a rebuild). The narrative
# is taken apart (and contained resources' narratives are left out).
_SKIPPED_KEYS = frozenset({"resourceType", "id", "versionId", "lastUpdated", "div"})
# ... and whose strings are base64 data, not text (`*Base64Binary` too); a `data` element
# can also be a backbone element (Consent.provision.data), whose text counts.
_NOT_TEXT_KEYS = _SKIPPED_KEYS | {"data"}


def words(text: str, *, drop_long: bool = True) -> list[str]:
    """The words of a text as both backends index and search them (with drop_long=False,
    also those longer than MAX_WORD, which are never indexed)."""
    if text.isascii():
        found = text.translate(_ASCII_WORDS).split()
    else:
        folded = fold(text)
        ascii_ = folded.isascii()  # accented Latin letters fold into ASCII
        found = folded.translate(_ASCII_WORDS).split() if ascii_ else _WORD.findall(folded)
    if drop_long and found and max(map(len, found)) > MAX_WORD:
        found = [word for word in found if len(word) <= MAX_WORD]
    del found[MAX_WORDS:]
    return found


def _narrative_text(div: Any) -> str:
    return html.unescape(_TAG.sub(" ", div)) if isinstance(div, str) else ""


def _strings(element: dict[str, Any], found: list[str]) -> None:
    """Collect the text of an element's strings but the narrative and binary data.
    (Strings are taken in the loop rather than by a call each: most values are strings.)"""
    for key, value in element.items():
        if isinstance(value, str):
            if key not in _NOT_TEXT_KEYS and not key.endswith("Base64Binary"):
                found.append(value)
        elif key in _SKIPPED_KEYS:
            continue
        elif isinstance(value, list):
            is_text = key not in _NOT_TEXT_KEYS and not key.endswith("Base64Binary")
            for item in value:
                if isinstance(item, dict):
                    _strings(item, found)
                elif is_text and isinstance(item, str):
                    found.append(item)
        elif isinstance(value, dict):
            _strings(value, found)


def document(resource: dict[str, Any]) -> tuple[str, str]:
    """(narrative words, content words) of a resource, each joined by spaces as the store
    writes them; the content starts with the narrative's words (contained resources'
    narratives are left out)."""
    text = resource.get("text")
    narrative = words(_narrative_text(text.get("div"))) if isinstance(text, dict) else []
    found: list[str] = []
    _strings(resource, found)
    rest = words(" ".join(found))
    del rest[MAX_WORDS - len(narrative) :]
    return " ".join(narrative), " ".join(narrative + rest)


# A query: alternatives (OR) of conjunctions (AND) of alternatives (OR) of phrases.
Phrase = tuple[str, ...]
Query = list[list[list[Phrase]]]

_TERM = re.compile(r'"([^"]*)"|(\S+)')


def parse_query(values: tuple[str, ...]) -> Query:
    """The comma-separated values of `_text`/`_content` as one query; ValueError for a
    value without words or with a word too long to be indexed."""
    query: Query = []
    for value in values:
        conjunction: list[list[Phrase]] = []
        join_next = False
        for match in _TERM.finditer(value):
            quoted, bare = match.groups()
            if bare == "OR" and conjunction and not join_next:
                join_next = True
                continue
            phrase = tuple(words(quoted if quoted is not None else bare, drop_long=False))
            if not phrase:
                continue
            long = next((word for word in phrase if len(word) > MAX_WORD), None)
            if long is not None:  # dropping it would find more than was asked for
                raise ValueError(
                    f"{long[:MAX_WORD]}... is longer than {MAX_WORD} characters: "
                    "words that long are not indexed"
                )
            if join_next:
                conjunction[-1].append(phrase)
            else:
                conjunction.append([phrase])
            join_next = False
        if not conjunction:
            raise ValueError(f"{value!r} has no words to search for")
        query.append(conjunction)
    return query


def _render(query: Query, phrase: Callable[[Phrase], str], both: str, either: str) -> str:
    def group(parts: list[str], operator: str) -> str:
        return parts[0] if len(parts) == 1 else "(" + f" {operator} ".join(parts) + ")"

    conjunctions = [
        group([group([phrase(p) for p in alternatives], either) for alternatives in conj], both)
        for conj in query
    ]
    return group(conjunctions, either)


def _fts5_phrase(phrase: Phrase) -> str:
    return '"' + " ".join(phrase) + '"'


def _tsquery_phrase(phrase: Phrase) -> str:
    joined = " <-> ".join(f"'{w}'" for w in phrase)
    return f"({joined})" if len(phrase) > 1 else joined


def condition(dialect: str, alias: str, code: str, query: Query) -> tuple[str, str]:
    """A condition on the full-text row `alias` and its one parameter, the query text.
    Words are letters and digits only, so they need no escaping in either syntax."""
    column = f"{alias}.{COLUMNS[code]}"
    if dialect == "sqlite":
        return f"{column} MATCH ?", _render(query, _fts5_phrase, "AND", "OR")
    return f"{column} @@ CAST(? AS tsquery)", _render(query, _tsquery_phrase, "&", "|")
