"""Turns FHIRPath text into tokens (the lexical rules of the grammar, fhirpath.g4)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from ember.fhir.fhirpath.errors import FHIRPathSyntaxError


class Kind(Enum):
    IDENTIFIER = "identifier"  # plain identifiers and keywords
    DELIMITED = "delimited identifier"  # `...`
    STRING = "string"
    NUMBER = "number"
    DATE = "date"
    DATETIME = "dateTime"
    TIME = "time"
    SYMBOL = "symbol"
    SPECIAL = "special variable"  # $this, $index, $total
    END = "end of expression"


@dataclass(frozen=True, slots=True)
class Token:
    kind: Kind
    text: str  # identifiers/strings: the decoded value; others: the source text
    position: int


_TIME = r"\d{2}(?::\d{2}(?::\d{2}(?:\.\d+)?)?)?"
_TIMEZONE = r"(?:Z|[+-]\d{2}:\d{2})"
_DATE = r"\d{4}(?:-\d{2}(?:-\d{2})?)?"
_TEMPORAL = re.compile(
    rf"@(?:T(?P<time>{_TIME})|(?P<date>{_DATE})(?P<t>T(?:{_TIME}{_TIMEZONE}?)?)?)"
)
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_WHITESPACE = re.compile(r"\s+")
_SYMBOLS = ("<=", ">=", "!=", "!~", *".[](){},+-*/&|<>=~%")
_ESCAPES = {
    "'": "'",
    '"': '"',
    "`": "`",
    "\\": "\\",
    "/": "/",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
}


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    pos = 0
    length = len(text)
    while pos < length:
        char = text[pos]
        if char.isspace():
            pos = _WHITESPACE.match(text, pos).end()  # type: ignore[union-attr]
        elif text.startswith("//", pos):
            end = text.find("\n", pos)
            pos = length if end < 0 else end
        elif text.startswith("/*", pos):
            end = text.find("*/", pos + 2)
            if end < 0:
                raise FHIRPathSyntaxError("unterminated comment", position=pos)
            pos = end + 2
        elif char in "'`":
            value, end = _quoted(text, pos)
            kind = Kind.STRING if char == "'" else Kind.DELIMITED
            tokens.append(Token(kind, value, pos))
            pos = end
        elif char.isdigit():
            match = _NUMBER.match(text, pos)
            assert match is not None
            tokens.append(Token(Kind.NUMBER, match.group(), pos))
            pos = match.end()
        elif char == "@":
            pos = _temporal(text, pos, tokens)
        elif char == "$":
            match = _IDENTIFIER.match(text, pos + 1)
            name = "$" + match.group() if match else "$"
            if name not in ("$this", "$index", "$total"):
                raise FHIRPathSyntaxError(f"unknown special variable {name!r}", position=pos)
            tokens.append(Token(Kind.SPECIAL, name, pos))
            pos += len(name)
        elif char.isalpha() or char == "_":
            match = _IDENTIFIER.match(text, pos)
            assert match is not None
            tokens.append(Token(Kind.IDENTIFIER, match.group(), pos))
            pos = match.end()
        else:
            symbol = next((s for s in _SYMBOLS if text.startswith(s, pos)), None)
            if symbol is None:
                raise FHIRPathSyntaxError(f"unexpected character {char!r}", position=pos)
            tokens.append(Token(Kind.SYMBOL, symbol, pos))
            pos += len(symbol)
    tokens.append(Token(Kind.END, "", length))
    return tokens


def _temporal(text: str, pos: int, tokens: list[Token]) -> int:
    match = _TEMPORAL.match(text, pos)
    if match is None:
        raise FHIRPathSyntaxError("invalid date/time literal", position=pos)
    if match.group("time") is not None:
        kind = Kind.TIME
    else:
        kind = Kind.DATETIME if match.group("t") else Kind.DATE
    tokens.append(Token(kind, match.group()[1:], pos))
    return match.end()


def _quoted(text: str, start: int) -> tuple[str, int]:
    """Decode a '...' or `...` literal starting at `start`; returns (value, end offset)."""
    quote = text[start]
    parts: list[str] = []
    pos = start + 1
    length = len(text)
    while pos < length:
        char = text[pos]
        if char == quote:
            return "".join(parts), pos + 1
        if char == "\\" and pos + 1 < length:
            escaped = text[pos + 1]
            if escaped == "u" and re.fullmatch(r"[0-9a-fA-F]{4}", text[pos + 2 : pos + 6]):
                parts.append(chr(int(text[pos + 2 : pos + 6], 16)))
                pos += 6
                continue
            # an unknown escape drops the backslash (4.1.2: '\p' is 'p')
            parts.append(_ESCAPES.get(escaped, escaped))
            pos += 2
            continue
        parts.append(char)
        pos += 1
    raise FHIRPathSyntaxError("unterminated string or delimited identifier", position=start)
