"""String manipulation (spec 5.6, plus the FHIRPath 2.1 additions the suites use)."""

from __future__ import annotations

import base64
import binascii
import html
import json
import re
from functools import lru_cache
from typing import Any

from ember.fhir.fhirpath.errors import FHIRPathError
from ember.fhir.fhirpath.functions.helpers import integer_value, string_value
from ember.fhir.fhirpath.functions.registry import VALUE, function
from ember.fhir.fhirpath.limits import bounded_now, charge_chars, charge_items
from ember.fhir.fhirpath.nodes import system_value


@lru_cache(maxsize=512)
def _regex(pattern: str) -> re.Pattern[str]:
    try:
        # FHIRPath regexes run in single-line mode: '.' matches newlines too
        return re.compile(pattern, re.DOTALL)
    except re.error as exc:
        raise FHIRPathError(f"invalid regular expression {pattern!r}: {exc}") from None


# The functions of regular expressions, refused in bounded evaluations (see _pattern)
REGEX_FUNCTIONS = frozenset({"matches", "matchesFull", "replaceMatches"})


def _pattern(pattern: str) -> re.Pattern[str]:
    """A regular expression, outside a bounded evaluation only: a pattern can take time
    exponential in its input (catastrophic backtracking), which no budget can bound."""
    if bounded_now():
        raise FHIRPathError("regular expressions are not allowed in this expression")
    return _regex(pattern)


def _string_function(name: str, *params: str) -> Any:
    """Register a function of a singleton string input and singleton arguments;
    any empty input or argument gives empty (spec 4.4.1)."""

    def register(operation: Any) -> Any:
        def impl(env: Any, items: list[Any], *args: list[Any]) -> list[Any]:
            text = string_value(items, f"{name}()")
            if text is None:
                return []
            values = [_argument(arg, name) for arg in args]
            if any(value is None for value in values):
                return []
            result = operation(text, *values)
            if result.__class__ is str:
                charge_chars(len(result))
            return [] if result is None else [result]

        required = sum(p == "required" for p in params)
        function(name, *([VALUE] * len(params)), required=required)(impl)
        return operation

    return register


def _argument(arg: list[Any], name: str) -> Any:
    if len(arg) > 1:
        raise FHIRPathError(f"{name}() arguments must be single values")
    return system_value(arg[0]) if arg else None


@_string_function("indexOf", "required")
def index_of(text: str, substring: str) -> int:
    return text.find(substring)


@function("substring", VALUE, VALUE, required=1)
def substring(
    env: Any, items: list[Any], start: list[Any], length: list[Any] | None = None
) -> list[Any]:
    text = string_value(items, "substring()")
    begin = integer_value(start, "substring()")
    if text is None or begin is None or not 0 <= begin < len(text):
        return []
    if length is None:
        return [text[begin:]]
    size = integer_value(length, "substring()")
    if size is None:
        return []
    return [text[begin : begin + max(size, 0)]]


@_string_function("startsWith", "required")
def starts_with(text: str, prefix: str) -> bool:
    return text.startswith(prefix)


@_string_function("endsWith", "required")
def ends_with(text: str, suffix: str) -> bool:
    return text.endswith(suffix)


@_string_function("contains", "required")
def contains(text: str, substring: str) -> bool:
    return substring in text


@_string_function("upper")
def upper(text: str) -> str:
    return text.upper()


@_string_function("lower")
def lower(text: str) -> str:
    return text.lower()


@_string_function("replace", "required", "required")
def replace(text: str, pattern: str, substitution: str) -> str:
    # the size is known before the string is built (an empty pattern matches len + 1 times)
    charge_chars(len(text) + text.count(pattern) * (len(substitution) - len(pattern)))
    return text.replace(pattern, substitution)


@_string_function("matches", "required")
def matches(text: str, pattern: str) -> bool:
    return _pattern(pattern).search(text) is not None


@_string_function("matchesFull", "required")
def matches_full(text: str, pattern: str) -> bool:
    return _pattern(pattern).fullmatch(text) is not None


@_string_function("replaceMatches", "required", "required")
def replace_matches(text: str, pattern: str, substitution: str) -> str:
    if not pattern:
        return text
    # $1-style group references, as in Java and JavaScript regex replacement
    template = re.sub(r"\$(\d+)", r"\\g<\1>", substitution.replace("\\", "\\\\"))
    return _pattern(pattern).sub(template, text)


@_string_function("length")
def length(text: str) -> int:
    return len(text)


@function("toChars")
def to_chars(env: Any, items: list[Any]) -> list[Any]:
    text = string_value(items, "toChars()")
    if text is None:
        return []
    charge_items(len(text))
    return list(text)


@_string_function("trim")
def trim(text: str) -> str:
    return text.strip()


@function("split", VALUE)
def split(env: Any, items: list[Any], separator: list[Any]) -> list[Any]:
    text = string_value(items, "split()")
    sep = string_value(separator, "split()")
    if text is None or sep is None:
        return []
    charge_items(len(text) + 1)
    return text.split(sep) if sep else list(text)


@function("join", VALUE, required=0)
def join(env: Any, items: list[Any], separator: list[Any] | None = None) -> list[Any]:
    sep = string_value(separator, "join()") if separator else ""
    values = [system_value(item) for item in items]
    if any(value.__class__ is not str for value in values):
        raise FHIRPathError("join() expects strings")
    charge_chars(sum(len(value) for value in values) + len(sep or "") * len(values))
    return [(sep or "").join(values)]


_ENCODERS = {
    "base64": (lambda b: base64.b64encode(b).decode(), base64.b64decode),
    "urlbase64": (lambda b: base64.urlsafe_b64encode(b).decode(), base64.urlsafe_b64decode),
    "hex": (lambda b: b.hex(), bytes.fromhex),
}


@_string_function("encode", "required")
def encode(text: str, encoding: str) -> str | None:
    coder = _ENCODERS.get(encoding)
    return coder[0](text.encode("utf-8")) if coder else None


@_string_function("decode", "required")
def decode(text: str, encoding: str) -> str | None:
    coder = _ENCODERS.get(encoding)
    if coder is None:
        return None
    try:
        return coder[1](text).decode("utf-8")  # type: ignore[operator]
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return None


@_string_function("escape", "required")
def escape(text: str, target: str) -> str | None:
    if target == "html":
        return html.escape(text, quote=True).replace("&#x27;", "'")
    if target == "json":
        return json.dumps(text, ensure_ascii=False)[1:-1]
    return None


@_string_function("unescape", "required")
def unescape(text: str, target: str) -> str | None:
    if target == "html":
        return html.unescape(text)
    if target == "json":
        return _JSON_ESCAPE.sub(lambda m: json.loads(f'"{m.group()}"'), text)
    return None


_JSON_ESCAPE = re.compile(r'\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4})')
