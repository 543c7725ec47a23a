"""FHIR JSON (json.html), parsed and written without loss.

Numbers with a fraction or exponent are parsed as `decimal.Decimal`, so `1.50` is
written back as `1.50` (FHIR decimals carry their precision); integers stay `int`.
Writing goes through orjson, with decimals emitted verbatim.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import orjson


class JSONFormatError(ValueError):
    """The bytes are not acceptable FHIR JSON; the message says why and where."""


class WrittenDecimal(Decimal):
    """A decimal written with an exponent (`2e3`), remembering how it was written."""

    __slots__ = ("text",)
    text: str

    def __new__(cls, text: str) -> WrittenDecimal:
        self = super().__new__(cls, text)
        self.text = text
        return self


def _parse_decimal(text: str) -> Decimal:
    # Decimal keeps "1.50" as written; only exponent forms need their text kept.
    if "e" in text or "E" in text:
        return WrittenDecimal(text)
    return Decimal(text)


def _reject_constant(name: str) -> Any:
    raise JSONFormatError(f"{name} is not a valid JSON number")


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise JSONFormatError(f"duplicate property {key!r}")
            seen.add(key)
    return result


_decoder = json.JSONDecoder(
    parse_float=_parse_decimal,
    parse_constant=_reject_constant,
    object_pairs_hook=_no_duplicate_keys,
)


def parse(data: bytes | str) -> Any:
    """Parse JSON text, keeping decimal precision; raises JSONFormatError."""
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
    except UnicodeDecodeError as exc:
        raise JSONFormatError(f"body is not valid UTF-8 (byte {exc.start})") from None
    if text.startswith("\ufeff"):
        text = text[1:]
    try:
        return _decoder.decode(text)
    except json.JSONDecodeError as exc:
        raise JSONFormatError(f"{exc.msg} at line {exc.lineno}, column {exc.colno}") from None
    except RecursionError:
        raise JSONFormatError("JSON is nested too deeply") from None


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return orjson.Fragment(_decimal_text(value))
    raise TypeError(f"cannot serialise {type(value).__name__} as JSON")


def _decimal_text(value: Decimal) -> str:
    # str() keeps the precision as written ("1.50", "1E+3"); JSON has no NaN/Infinity.
    if isinstance(value, WrittenDecimal):
        return value.text
    if not value.is_finite():
        raise TypeError("non-finite decimal")
    return str(value)


def dumps(value: Any, *, pretty: bool = False) -> bytes:
    """Serialise to compact (or indented) UTF-8 JSON bytes, decimals exactly as parsed."""
    option = orjson.OPT_INDENT_2 if pretty else 0
    return orjson.dumps(value, default=_default, option=option)
