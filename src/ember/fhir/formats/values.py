"""Primitive values between their lexical form (an XML `value` attribute, an RDF
literal) and the Python value the JSON form has (json.html: boolean, integer and
decimal are JSON booleans and numbers, everything else a string).

Decimals keep the precision they were written with, as `ember.fhir.formats.json` does.
"""

from __future__ import annotations

import re
from decimal import Decimal

from ember.fhir.formats.json import WrittenDecimal
from ember.fhir.model import get_model

# The lexical forms that have a JSON number equivalent (datatypes.html).
_INTEGER = re.compile(r"-?(0|[1-9][0-9]*)")
_DECIMAL = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?")
# XML whitespace (not Unicode whitespace such as U+3000, which is content).
XML_WHITESPACE = " \t\r\n"

JsonPrimitive = bool | int | Decimal | str


def from_text(type_name: str, text: str, version: str = "r4") -> JsonPrimitive:
    """The JSON value of a primitive's lexical form; ValueError if it has none."""
    json_type = get_model(version).json_type_of_primitive(type_name)
    if json_type is str:
        return text  # strings keep their whitespace: it is significant in JSON
    # Non-strings have no leading or trailing whitespace (json.html, xml.html).
    text = text.strip(XML_WHITESPACE)
    if json_type is bool:
        if text in ("true", "false"):
            return text == "true"
        raise ValueError(f"{text!r} is not a valid boolean (true or false)")
    if json_type is int:
        if _INTEGER.fullmatch(text):
            return int(text)
        raise ValueError(f"{text!r} is not a valid {type_name}")
    if _DECIMAL.fullmatch(text):
        number = Decimal(text)
        # Decimal("1.50") prints as written; "0.0000001" would print as "1E-7".
        return number if str(number) == text else WrittenDecimal(text)
    raise ValueError(f"{text!r} is not a valid decimal")


def to_text(value: object) -> str:
    """The lexical form of a JSON primitive value (decimals exactly as written)."""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, WrittenDecimal):
        return value.text
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError("a decimal must be finite")
        return str(value)
    if isinstance(value, str | int | float):
        return str(value)
    raise ValueError(f"a primitive value was expected, not {type(value).__name__}")
