"""FHIR JSON parsing keeps decimals as written and refuses what JSON forbids."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ember.fhir.formats.json import JSONFormatError, dumps, parse


@pytest.mark.parametrize("text", ["1.50", "0.000001", "-0.0", "2e3", "1E-7", "100", "3.0"])
def test_numbers_round_trip_as_written(text: str) -> None:
    assert dumps(parse(f'{{"v":{text}}}'.encode())) == f'{{"v":{text}}}'.encode()


def test_types() -> None:
    value = parse(b'{"d":1.5,"i":2,"b":true,"s":"x","n":null}')
    assert value == {"d": Decimal("1.5"), "i": 2, "b": True, "s": "x", "n": None}
    assert isinstance(value["i"], int) and isinstance(value["d"], Decimal)


def test_byte_order_mark_is_allowed() -> None:
    assert parse("\ufeff{}".encode()) == {}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b'{"a":1,"a":2}', "duplicate property 'a'"),
        (b'{"a":NaN}', "NaN"),
        (b'{"a":Infinity}', "Infinity"),
        (b"\xff", "UTF-8"),
        (b"{", "line 1"),
        (b"[" * 100_000 + b"]" * 100_000, "too deeply"),
    ],
)
def test_rejections(data: bytes, message: str) -> None:
    with pytest.raises(JSONFormatError, match=message):
        parse(data)


def test_pretty_output() -> None:
    assert dumps({"a": [1]}, pretty=True) == b'{\n  "a": [\n    1\n  ]\n}'
