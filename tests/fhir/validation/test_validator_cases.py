"""HL7's validator test cases (R4, base spec only): how often Ember agrees with the
reference (Java) validator on the verdict (valid or not) and on the number of errors.

Cases of the categories in SKIPPED test what the issue leaves out, and the few in
SKIPPED_CASES need what the test data does not hold; every other case counts. The test
prints the agreement and fails if it falls below what was reached.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from ember.fhir.formats import json as fhir_json
from ember.fhir.formats import xml as fhir_xml
from ember.fhir.issues import Issue
from ember.fhir.validation.validator import validate
from tests.shared import shared_testdata

# module -> why its cases are not counted
SKIPPED = {
    "api": "validator API checks of SearchParameter/CapabilityStatement against other definitions",
    "dsig": "digital signatures (Bundle.signature)",
    "json5": "JSON5 parser options of the reference validator (comments, trailing commas)",
    "matchetype": "tests of the test harness's outcome matching, not of validation",
    "measure": "Measure and MeasureReport semantics",
    "sd": "authoring rules of StructureDefinitions (snapshot generation, differentials)",
    "security": "the reference validator's security scan of strings (HTML, scripts)",
    "xver": "cross-version extensions",
}
# single cases that need what the manifest's selection missed, by name -> why
SKIPPED_CASES = {
    "extension-version-restriction-range-r4": "an extension definition from the test "
    "suite's own package",
    "extension-version-restriction-range-ctxt-r4": "the same",
    "contained-resource-bad-id-ignore": "a reference-validator option that ignores an invalid id",
}
PARSERS = {"json": fhir_json.parse, "xml": fhir_xml.parse}
# the verdicts Ember has reached; raise these as validation improves
MINIMUM_VERDICTS = 103
MINIMUM_COUNTS = 68


def _cases() -> list[dict[str, Any]]:
    manifest = shared_testdata("validator", "manifest.json")
    return list(json.loads(manifest.read_text())["cases"])


def _errors(path: Path) -> int:
    parse = PARSERS.get(path.suffix.lstrip("."))
    issues: list[Issue]
    if parse is None:
        issues = [Issue("fatal", "not-supported", f"not a FHIR JSON or XML file: {path.name}")]
    else:
        try:
            issues = validate(parse(path.read_bytes()))
        except ValueError as exc:  # not well-formed: one fatal issue, as a server reports it
            issues = [Issue("fatal", "structure", str(exc))]
    return sum(1 for issue in issues if issue.severity in ("error", "fatal"))


def test_agreement_with_the_reference_validator(capsys: pytest.CaptureFixture[str]) -> None:
    counted = verdicts = counts = 0
    skipped: Counter[str] = Counter()
    disagreements: list[str] = []
    for case in _cases():
        if case["module"] in SKIPPED or case["name"] in SKIPPED_CASES:
            skipped[case["module"] if case["module"] in SKIPPED else case["name"]] += 1
            continue
        expected = case["expected_errors"]
        found = _errors(shared_testdata("validator", case["file"]))
        counted += 1
        verdicts += (found > 0) == (expected > 0)
        counts += found == expected
        if (found > 0) != (expected > 0):
            disagreements.append(f"{case['module']}/{case['name']}: {expected} -> {found}")
    with capsys.disabled():
        print(
            f"\nvalidator cases: verdict {verdicts}/{counted} ({verdicts / counted:.0%}), "
            f"error count {counts}/{counted}; skipped "
            + ", ".join(f"{module} ({n})" for module, n in sorted(skipped.items()))
        )
        print("verdict disagreements: " + "; ".join(disagreements))
    assert verdicts >= MINIMUM_VERDICTS
    assert counts >= MINIMUM_COUNTS
