"""Checks of one primitive JSON value against its FHIR type (datatypes.html, json.html).

A check returns None when the value is acceptable, or `(issue code, problem)` where
the problem is phrased to follow "Element 'Patient.birthDate' ...".
"""

from __future__ import annotations

import calendar
import math
import re
import sys
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from ember.fhir.model import Model, TypeDef

Problem = tuple[str, str]
PrimitiveCheck = Callable[[Any], Problem | None]

_INT32_MAX = 2**31 - 1
# The value domains datatypes.html gives in prose; the regexes do not bound the size.
_INTEGER_RANGES = {
    "integer": (-(2**31), _INT32_MAX),
    "unsignedInt": (0, _INT32_MAX),
    "positiveInt": (1, _INT32_MAX),
}
_XHTML_START = re.compile(r"<div(\s[^>]*)?>")
_XHTML_NAMESPACE = re.compile(r"""\sxmlns\s*=\s*(["'])http://www\.w3\.org/1999/xhtml\1""")
_SHOWN_CHARACTERS = 60


def json_type_name(value: Any) -> str:
    """The JSON name of a parsed value's type, for messages ("number", "object")."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float | Decimal):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def primitive_check(model: Model, primitive: TypeDef) -> PrimitiveCheck:
    """The check for values of one primitive type, built once per type."""
    json_type = model.json_type_of_primitive(primitive.name)
    if json_type is bool:
        return _check_boolean
    if json_type is int:
        return _integer_check(*_INTEGER_RANGES[primitive.name], primitive.name)
    if json_type is float:
        return _check_decimal
    return _string_check(primitive)


def _wrong_json_type(expected: str, value: Any) -> Problem:
    return "structure", f"must be {expected}, got {json_type_name(value)}"


def _shown(value: str) -> str:
    if len(value) > _SHOWN_CHARACTERS:
        value = value[:_SHOWN_CHARACTERS] + "..."
    return repr(value)


def _check_boolean(value: Any) -> Problem | None:
    if value is True or value is False:
        return None
    return _wrong_json_type("a boolean", value)


def _integer_check(low: int, high: int, type_name: str) -> PrimitiveCheck:
    def check(value: Any) -> Problem | None:
        # bool is a subclass of int, and 1.0 parses as a Decimal: both are rejected here.
        if type(value) is not int:
            return _wrong_json_type("an integer number", value)
        if low <= value <= high:
            return None
        return "value", f"has {value}, outside the {type_name} range {low}..{high}"

    return check


def _check_decimal(value: Any) -> Problem | None:
    if isinstance(value, bool) or not isinstance(value, int | Decimal | float):
        return _wrong_json_type("a number", value)
    if isinstance(value, Decimal):
        is_finite = value.is_finite()
    else:
        is_finite = isinstance(value, int) or math.isfinite(value)
    if is_finite:
        return None
    return "value", f"has {value}, which is not a finite decimal"


# datatypes.html: strings SHOULD NOT hold characters below U+0020 other than tab, CR and
# LF. Ember refuses them: XML cannot carry them, so such a resource could not be served
# in every format the server promises.
_CONTROL_CHARACTER = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _string_check(primitive: TypeDef) -> PrimitiveCheck:
    # The definitions' regexes follow XML Schema, where \s and \S are ASCII-only.
    regex = re.compile(primitive.regex.pattern, re.ASCII) if primitive.regex else None
    max_length = primitive.max_length or sys.maxsize
    type_name = primitive.name
    rule_beyond_regex = _RULES_BEYOND_REGEX.get(type_name)
    described = _DESCRIPTIONS.get(type_name, type_name)

    def check(value: Any) -> Problem | None:
        if not isinstance(value, str):
            return _wrong_json_type("a string", value)
        if not value:
            return "value", "must not be an empty string"
        if len(value) > max_length:
            return "value", f"is longer than the {max_length} characters a {type_name} may have"
        control = _CONTROL_CHARACTER.search(value)
        if control is not None:
            return "value", f"contains the control character U+{ord(control.group()):04X}"
        if (regex is not None and regex.fullmatch(value) is None) or (
            rule_beyond_regex is not None and not rule_beyond_regex(value)
        ):
            return "value", f"has {_shown(value)}, which is not a valid {described}"
        return None

    return check


def _is_real_date(value: str) -> bool:
    """Whether the day of a format-checked YYYY-MM-DD... value exists in its month."""
    if len(value) < 10 or value[8:10] <= "28":  # every month has 28 days
        return True
    year, month, day = int(value[0:4]), int(value[5:7]), int(value[8:10])
    return day <= calendar.monthrange(year, month)[1]


def _is_xhtml_div(value: str) -> bool:
    """A basic check that narrative is a <div> in the XHTML namespace (narrative.html)."""
    start = _XHTML_START.match(value)
    return start is not None and _XHTML_NAMESPACE.search(start.group()) is not None


# What the regexes cannot express: "Dates SHALL be valid dates" (they accept 2019-02-30),
# and narrative being an XHTML <div> (xhtml has no regex).
_RULES_BEYOND_REGEX: dict[str, Callable[[str], bool]] = {
    "date": _is_real_date,
    "dateTime": _is_real_date,
    "instant": _is_real_date,
    "xhtml": _is_xhtml_div,
}
_DESCRIPTIONS = {"xhtml": "narrative <div> in the XHTML namespace"}
