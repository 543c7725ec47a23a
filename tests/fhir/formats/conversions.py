"""Comparing FHIR JSON structures as JSON values: numbers by their written text (so
`1.50` differs from `1.5`, and `true` from `1`), everything else by value."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from ember.fhir.formats import json as fhir_json


def as_written(value: Any) -> Any:
    """A structure that compares equal exactly when the JSON texts are equal."""
    if isinstance(value, dict):
        return {key: as_written(item) for key, item in value.items()}
    if isinstance(value, list):
        return [as_written(item) for item in value]
    if isinstance(value, bool):
        return ("boolean", value)
    if isinstance(value, int | Decimal):
        return ("number", fhir_json.dumps(value).decode())
    return value


def differences(expected: Any, actual: Any, path: str = "") -> Iterator[str]:
    """Where two `as_written` structures differ, as readable paths."""
    if type(expected) is not type(actual):
        yield f"{path}: {expected!r:.80} became {actual!r:.80}"
    elif isinstance(expected, dict):
        for key in sorted(expected.keys() | actual.keys()):
            if key not in actual:
                yield f"{path}.{key}: lost"
            elif key not in expected:
                yield f"{path}.{key}: added"
            else:
                yield from differences(expected[key], actual[key], f"{path}.{key}")
    elif isinstance(expected, list):
        if len(expected) != len(actual):
            yield f"{path}: {len(expected)} items became {len(actual)}"
        else:
            for index, (e, a) in enumerate(zip(expected, actual, strict=True)):
                yield from differences(e, a, f"{path}[{index}]")
    elif expected != actual:
        yield f"{path}: {expected!r:.80} became {actual!r:.80}"
