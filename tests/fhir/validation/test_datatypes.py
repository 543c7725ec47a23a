"""Datatype rules beyond the invariants, in full validation ($validate)."""

from __future__ import annotations

import base64
from typing import Any

from ember.fhir.validation.validator import validate

DIV = '<div xmlns="http://www.w3.org/1999/xhtml"><p>Hi</p></div>'


def errors(resource: dict[str, Any]) -> list[str | None]:
    return [i.expression for i in validate(resource) if i.severity == "error"]


def observation(**content: Any) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "text": {"status": "generated", "div": DIV},
        "status": "final",
        **content,
    }


def test_coding_system_is_an_absolute_code_system_uri() -> None:
    assert errors(observation(code={"coding": [{"system": "http://loinc.org", "code": "1"}]})) == []
    relative = observation(code={"coding": [{"system": "loinc", "code": "1"}]})
    assert errors(relative) == ["Observation.code.coding[0].system"]
    value_set = "http://hl7.org/fhir/ValueSet/observation-codes"
    assert errors(observation(code={"coding": [{"system": value_set, "code": "1"}]})) == [
        "Observation.code.coding[0].system"
    ]


def test_attachment_size_matches_its_data() -> None:
    data = base64.b64encode(b"fourteen bytes").decode()
    media = {
        "resourceType": "Media",
        "text": {"status": "generated", "div": DIV},
        "status": "completed",
        "content": {"contentType": "text/plain", "data": data, "size": 14},
    }
    assert errors(media) == []
    media["content"]["size"] = 100
    assert errors(media) == ["Media.content.size"]
