"""Strings with control characters are refused: XML could not carry them."""

from __future__ import annotations

import pytest

from ember.fhir.model import get_model
from ember.fhir.validation import validate_resource

model = get_model("r4")


@pytest.mark.parametrize("text", ["a\x01b", "\x1f", "x\x00"])
def test_control_characters_are_refused(text: str) -> None:
    issues = validate_resource({"resourceType": "Patient", "name": [{"text": text}]}, model)
    assert [(i.code, i.expression) for i in issues] == [("value", "Patient.name[0].text")]
    assert "control character" in issues[0].diagnostics


def test_tab_and_line_breaks_are_allowed() -> None:
    resource = {"resourceType": "Patient", "name": [{"text": "a\tb\r\nc"}]}
    assert validate_resource(resource, model) == []
