"""Every official R4 example is structurally valid, except the few that are not."""

from __future__ import annotations

from pathlib import Path

import pytest

from ember.fhir.formats.json import parse
from ember.fhir.model import get_model
from ember.fhir.validation import validate_resource

EXAMPLES = Path(__file__).resolve().parents[3] / ".." / "shared" / "testdata" / "examples" / "r4"

# Official examples that break the structure rules themselves, with what is wrong.
DEFECTIVE_EXAMPLES = {
    "ImplementationGuide-fhir.json": "lacks the required ImplementationGuide.name and .status",
    "ig-r4.json": "a copy of ImplementationGuide-fhir.json: lacks .name and .status",
    "Questionnaire-qs1.json": "has display items without the required Questionnaire.item.linkId",
}


def _example_names() -> list[str]:
    names = sorted(path.name for path in EXAMPLES.glob("*.json"))
    if not names:
        raise FileNotFoundError(f"no R4 examples found in {EXAMPLES.resolve()}")
    return names


EXAMPLE_NAMES = _example_names()


def _issues(name: str) -> list[tuple[str, str | None]]:
    resource = parse((EXAMPLES / name).read_bytes())
    return [(i.code, i.expression) for i in validate_resource(resource, get_model("r4"))]


def test_all_examples_are_present() -> None:
    assert len(EXAMPLE_NAMES) == 734
    assert set(DEFECTIVE_EXAMPLES) <= set(EXAMPLE_NAMES)


@pytest.mark.parametrize("name", [name for name in EXAMPLE_NAMES if name not in DEFECTIVE_EXAMPLES])
def test_example_is_structurally_valid(name: str) -> None:
    assert _issues(name) == []


@pytest.mark.parametrize("name", ["ImplementationGuide-fhir.json", "ig-r4.json"])
def test_implementation_guide_example_lacks_name_and_status(name: str) -> None:
    assert _issues(name) == [
        ("required", "ImplementationGuide.name"),
        ("required", "ImplementationGuide.status"),
    ]


def test_questionnaire_example_has_items_without_link_id() -> None:
    issues = _issues("Questionnaire-qs1.json")
    assert issues
    assert all(
        code == "required" and expression and expression.endswith("].linkId")
        for code, expression in issues
    )
