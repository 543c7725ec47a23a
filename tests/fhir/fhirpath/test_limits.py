"""The budget of untrusted evaluations: every way a value can grow is counted before it
is built; trusted evaluations (no budget) are unchanged."""

from __future__ import annotations

import pytest

from ember.fhir import fhirpath
from ember.fhir.fhirpath.limits import bounded

PATIENT = {"resourceType": "Patient", "name": [{"family": "Doe", "given": ["Ann", "Bo"]}]}


def _run(expression: str, chars: int = 1000, items: int = 100) -> list[object]:
    with bounded(chars, items):
        return fhirpath.compile(expression).evaluate(PATIENT)


@pytest.mark.parametrize(
    "expression",
    [
        "name.family" + ".replace('o', 'oooooooooo')" * 4,  # 10x per step
        "name.family.replace('', name.family & name.family & name.family)"
        + ".replace('', 'xxxxxxxxxx')" * 2,
        "name.family" + ".select($this & $this)" * 10,
        "name.family" + ".select($this + $this)" * 10,
        "name.given" + ".select($this.combine($this))" * 10,
        "name.given" + ".combine(name.given)" * 60,
        "name.family" + ".select(($this & $this).toChars().join(''))" * 10,
        "name.family" + ".select(($this & $this).split('').join(''))" * 10,
        "name.given.aggregate($total & $this & $this & $this, 'x')" + ".select($this & $this)" * 10,
    ],
)
def test_growth_beyond_the_budget_fails(expression: str) -> None:
    assert fhirpath.compile(expression).evaluate(PATIENT)  # without a budget: fine
    with pytest.raises(fhirpath.FHIRPathError, match="beyond the limit"):
        _run(expression)


def test_within_the_budget_values_are_unchanged() -> None:
    assert _run("name.family.replace('o', 'oo')") == ["Dooe"]
    assert _run("name.given.combine(name.given).count()") == [4]
    assert _run("name.given.join(',') & '!'") == ["Ann,Bo!"]


def test_regular_expressions_are_refused_in_a_bounded_evaluation() -> None:
    expression = "name.family.matches('D.*')"
    assert fhirpath.compile(expression).evaluate(PATIENT) == [True]
    for bounded_expression in [
        expression,
        "name.family.matchesFull('Doe')",
        "name.family.replaceMatches('o', 'x')",
    ]:
        with pytest.raises(fhirpath.FHIRPathError, match="regular expressions"):
            _run(bounded_expression)


def test_the_budget_ends_with_its_block() -> None:
    growing = fhirpath.compile("name.family" + ".replace('o', 'oooooooooo')" * 4)
    with pytest.raises(fhirpath.FHIRPathError), bounded(10, 10):
        growing.evaluate(PATIENT)
    assert len(growing.evaluate(PATIENT)[0]) == 10_002
