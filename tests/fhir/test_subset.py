"""_summary and _elements subsets (search.html#summary)."""

from __future__ import annotations

from ember.fhir.model import get_model
from ember.fhir.subset import elements, is_subsetted, summary

model = get_model("r4")
OBSERVATION = {
    "resourceType": "Observation",
    "id": "o",
    "meta": {"versionId": "1"},
    "text": {"status": "generated", "div": '<div xmlns="http://www.w3.org/1999/xhtml"/>'},
    "status": "final",
    "category": [{"text": "vital"}],
    "code": {"text": "weight"},
    "note": [{"text": "not a summary element"}],
    "component": [{"code": {"text": "c"}, "valueString": "v", "interpretation": [{"text": "x"}]}],
}


def test_summary_true_keeps_summary_and_mandatory_elements() -> None:
    result = summary(OBSERVATION, "true", model)
    assert "text" not in result and "note" not in result
    assert result["status"] == "final" and result["code"] == {"text": "weight"}
    # backbone children are filtered by their own summary flags
    assert result["component"] == [{"code": {"text": "c"}, "valueString": "v"}]
    assert is_subsetted(result) and not is_subsetted(OBSERVATION)


def test_summary_text_and_data() -> None:
    text = summary(OBSERVATION, "text", model)
    assert set(text) == {"resourceType", "id", "meta", "text", "status", "code"}
    data = summary(OBSERVATION, "data", model)
    assert "text" not in data and "note" in data
    assert summary(OBSERVATION, "false", model) is OBSERVATION


def test_elements_keeps_named_and_mandatory() -> None:
    result = elements(OBSERVATION, ["note", "Observation.category"], model)
    assert set(result) == {"resourceType", "id", "meta", "status", "code", "note", "category"}
    assert result["meta"]["versionId"] == "1"
    assert OBSERVATION["meta"] == {"versionId": "1"}  # the input is not changed
