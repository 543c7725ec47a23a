"""Primitive values against their types: JSON type, regex, range and calendar."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from ember.fhir.model import get_model
from ember.fhir.validation.primitives import primitive_check

VALID = [
    ("boolean", True),
    ("boolean", False),
    ("integer", 0),
    ("integer", -(2**31)),
    ("integer", 2**31 - 1),
    ("unsignedInt", 0),
    ("positiveInt", 1),
    ("decimal", 0),
    ("decimal", Decimal("-0.50")),
    ("decimal", Decimal("1E-7")),
    ("string", " padded and\ttabbed "),
    ("string", "   "),
    ("string", "non\u00a0breaking"),  # \s in the definitions' regexes is ASCII-only
    ("code", "a code with single spaces"),
    ("id", "a-Z.09"),
    ("id", "x" * 64),
    ("uri", "urn:uuid:53fefa32-fcbb-4ff8-8a92-55ee120877b7"),
    ("date", "2018"),
    ("date", "1973-06"),
    ("date", "2020-02-29"),
    ("date", "2000-02-29"),
    ("date", "2019-12-31"),
    ("dateTime", "2015-02-07T13:28:17-05:00"),
    ("dateTime", "2017-01-01T00:00:00.000Z"),
    ("dateTime", "2016-12-31T23:59:60Z"),  # leap seconds are allowed
    ("instant", "2015-02-07T13:28:17.239+02:00"),
    ("time", "23:59:59.5"),
    ("base64Binary", "aGVsbG8="),
    ("oid", "urn:oid:1.2.3.4.5"),
    ("xhtml", '<div xmlns="http://www.w3.org/1999/xhtml">x</div>'),
]

INVALID = [
    ("boolean", "true", "structure"),
    ("boolean", 0, "structure"),
    ("integer", True, "structure"),
    ("integer", Decimal("1.0"), "structure"),
    ("integer", "1", "structure"),
    ("integer", 2**31, "value"),
    ("integer", -(2**31) - 1, "value"),
    ("unsignedInt", -1, "value"),
    ("positiveInt", 0, "value"),
    ("positiveInt", 2**31, "value"),
    ("decimal", True, "structure"),
    ("decimal", "1.5", "structure"),
    ("decimal", Decimal("NaN"), "value"),
    ("string", 5, "structure"),
    ("string", "", "value"),
    ("string", "x" * (1024 * 1024 + 1), "value"),
    ("code", " leading", "value"),
    ("code", "double  space", "value"),
    ("id", "x" * 65, "value"),
    ("id", "under_score", "value"),
    ("uri", "has space", "value"),
    ("uri", "", "value"),
    ("date", "2019-02-29", "value"),
    ("date", "1900-02-29", "value"),
    ("date", "2019-04-31", "value"),
    ("date", "2019-02-30", "value"),
    ("date", "2019-13", "value"),
    ("date", "2019-01-01T10:00:00Z", "value"),
    ("date", " 2019", "value"),
    ("dateTime", "2019-02-30T10:00:00Z", "value"),
    ("dateTime", "2019-01-01T10:00:00", "value"),  # a time needs a time zone
    ("dateTime", "2019-01-01T10:00Z", "value"),  # seconds are required
    ("dateTime", "2019-01-01T24:00:00Z", "value"),
    ("instant", "2019-01-01", "value"),
    ("instant", "2019-01-01T10:00:00", "value"),
    ("time", "24:00:00", "value"),
    ("time", "10:00", "value"),
    ("time", "10:00:00Z", "value"),
    ("base64Binary", "not base64!", "value"),
    ("oid", "1.2.3", "value"),
    ("uuid", "urn:uuid:53FEFA32-FCBB-4FF8-8A92-55EE120877B7", "value"),
]


def check(type_name: str, value: Any) -> tuple[str, str] | None:
    model = get_model("r4")
    return primitive_check(model, model.type(type_name))(value)


@pytest.mark.parametrize(("type_name", "value"), VALID)
def test_valid_values(type_name: str, value: Any) -> None:
    assert check(type_name, value) is None


@pytest.mark.parametrize(("type_name", "value", "code"), INVALID)
def test_invalid_values(type_name: str, value: Any, code: str) -> None:
    problem = check(type_name, value)
    assert problem is not None
    assert problem[0] == code


def test_problems_name_the_value_and_the_type() -> None:
    assert check("date", "2019-02-30") == ("value", "has '2019-02-30', which is not a valid date")
    assert check("integer", "1") == ("structure", "must be an integer number, got string")
    range_problem = "has 0, outside the positiveInt range 1..2147483647"
    assert check("positiveInt", 0) == ("value", range_problem)


def test_long_values_are_shortened_in_problems() -> None:
    problem = check("code", "x " * 500 + " ")
    assert problem is not None and len(problem[1]) < 120
