"""NDJSON: one resource per line, read as a stream, errors by line."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest

from ember.fhir.formats import ndjson


def test_resources_round_trip_one_per_line_with_decimals_as_written() -> None:
    resources = [
        {"resourceType": "Patient", "id": "a", "name": [{"text": "two\nlines"}]},
        {"resourceType": "Observation", "valueQuantity": {"value": Decimal("1.50")}},
    ]
    data = ndjson.dumps(resources)
    assert data.count(b"\n") == 2 and data.endswith(b"\n")
    assert b'"value":1.50' in data
    back = ndjson.parse(data)
    assert back == resources
    assert str(back[1]["valueQuantity"]["value"]) == "1.50"


def test_a_binary_stream_is_read_lazily_and_blank_lines_are_skipped() -> None:
    stream = io.BytesIO(b'{"resourceType":"Patient"}\n\n{"resourceType":"Basic"}\r\n')
    reader = ndjson.iter_parse(stream)
    assert next(reader) == {"resourceType": "Patient"}
    assert [r["resourceType"] for r in reader] == ["Basic"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b'{"resourceType":"Patient"}\n{"resourceType":', "line 2"),
        (b'{"resourceType":"Patient"}\n\n[1]\n', "line 3: not a FHIR resource"),
        (b'{"id":"x"}', "line 1: not a FHIR resource"),
    ],
)
def test_problems_name_their_line(data: bytes, message: str) -> None:
    with pytest.raises(ndjson.NDJSONFormatError, match=message):
        ndjson.parse(data)


def test_stored_bytes_become_lines_without_a_parse() -> None:
    stored = [b'{"resourceType":"Patient","id":"a"}', b'{\n  "resourceType": "Basic"\n}']
    lines = list(ndjson.iter_stored_lines(stored))
    assert lines[0] == b'{"resourceType":"Patient","id":"a"}\n'
    assert lines[1] == b'{"resourceType":"Basic"}\n'
