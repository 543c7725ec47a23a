"""The official FHIRPath test suite for FHIR R4, every case, through the public API.

Cases Ember deliberately does not follow are in SKIPPED, each with its reason; everything
else must pass. The suite's XML inputs are read from their JSON conversions.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from ember.fhir.fhirpath import (
    Date,
    DateTime,
    FHIRPathError,
    FHIRPathSyntaxError,
    Quantity,
    Time,
    compile,
)
from ember.fhir.formats.json import parse

SUITE_DIR = Path(__file__).resolve().parents[3] / ".." / "shared" / "testdata" / "fhirpath" / "r4"
SUITE = SUITE_DIR / "tests-fhir-r4.xml"
if not SUITE.exists():
    raise RuntimeError(f"the FHIRPath R4 test suite is missing: expected {SUITE}")

# name -> why Ember does not follow the case
SKIPPED: dict[str, str] = {
    "HighBoundaryDateTimeMillisecond1": "expects T08:00:59.999 for an hour-precision value;"
    " the latest instant of hour 08 is T08:59:59.999",
    "HighBoundaryDateTimeMillisecond3": "same case as HighBoundaryDateTimeMillisecond1",
}


@dataclass(frozen=True)
class Case:
    id: str
    name: str
    expression: str
    input_file: str | None
    invalid: str | None
    outputs: tuple[tuple[str | None, str], ...]
    predicate: bool
    ordered: bool
    check_ordered_functions: bool


def _load_cases() -> list[Case]:
    cases = []
    for group in ET.parse(SUITE).getroot():
        for index, test in enumerate(group.iter("test")):
            expression = test.find("expression")
            assert expression is not None and expression.text is not None
            input_file = test.get("inputfile")
            name = test.get("name") or f"{group.get('name')}-{index}"
            cases.append(
                Case(
                    id=f"{group.get('name')}/{name}",
                    name=name,
                    expression=expression.text,
                    input_file=input_file.replace(".xml", ".json") if input_file else None,
                    invalid=expression.get("invalid"),
                    outputs=tuple((o.get("type"), o.text or "") for o in test.findall("output")),
                    predicate=test.get("predicate") == "true",
                    ordered=test.get("ordered") != "false",
                    check_ordered_functions=test.get("checkOrderedFunctions") == "true",
                )
            )
    return cases


CASES = _load_cases()


@cache
def _input(file_name: str) -> dict[str, Any]:
    return parse((SUITE_DIR / "input" / file_name).read_bytes())


def run_case(case: Case) -> None:
    """Raise AssertionError unless Ember does what the case expects."""
    resource = _input(case.input_file) if case.input_file else None
    options = {
        # every case is also checked statically against its input's type
        "base_type": resource["resourceType"] if resource else None,
        "check_ordered_functions": case.check_ordered_functions,
    }
    if case.invalid:
        with pytest.raises(FHIRPathSyntaxError if case.invalid == "syntax" else FHIRPathError):
            compile(case.expression, **options).evaluate(resource)
        return
    result = compile(case.expression, **options).evaluate(resource)
    if case.predicate:
        result = [bool(result)]
    expected = list(case.outputs)
    assert len(result) == len(expected), f"got {result!r}, expected {expected!r}"
    if case.ordered:
        for value, output in zip(result, expected, strict=True):
            assert _matches(value, *output), f"got {result!r}, expected {expected!r}"
    else:
        remaining = list(result)
        for output in expected:
            match = next((v for v in remaining if _matches(v, *output)), None)
            assert match is not None, f"got {result!r}, expected {expected!r}"
            remaining.remove(match)


_TEMPORAL_TYPES = {"date": Date, "dateTime": DateTime, "time": Time}


def _matches(value: Any, type_name: str | None, text: str) -> bool:
    if type_name == "boolean":
        return value is (text == "true")
    if type_name == "integer":
        return type(value) is int and value == int(text)
    if type_name == "decimal":
        return isinstance(value, Decimal) and value == Decimal(text)
    if type_name in ("string", "code", "id", "uri"):
        return type(value) is str and value == text
    if type_name in _TEMPORAL_TYPES:
        return isinstance(value, _TEMPORAL_TYPES[type_name]) and str(value) == text[1:]
    if type_name == "Quantity":
        return isinstance(value, Quantity) and str(value) == text
    # untyped outputs (the FHIRPath 2.1 groups) are compared as written
    if isinstance(value, bool):
        return text == str(value).lower()
    return str(value) == text.removeprefix("@")


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_case(case: Case) -> None:
    if case.name in SKIPPED:
        pytest.skip(SKIPPED[case.name])
    run_case(case)


def test_pass_count(capsys: pytest.CaptureFixture[str]) -> None:
    passed, failed = 0, []
    for case in CASES:
        if case.name in SKIPPED:
            continue
        try:
            run_case(case)
            passed += 1
        except (AssertionError, FHIRPathError, pytest.fail.Exception) as exc:
            failed.append(f"{case.id}: {exc}")
    with capsys.disabled():
        print(
            f"\nFHIRPath R4 suite: {passed} passed / {len(CASES)} cases,"
            f" {len(SKIPPED)} skipped, {len(failed)} failed"
        )
    assert not failed, "\n".join(failed)
