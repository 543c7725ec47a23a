"""JSON Patch against the RFC 6902 cases shipped in fhir-test-cases."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ember.fhir.patch.errors import PatchError
from ember.fhir.patch.json_patch import apply_json_patch
from tests.shared import shared_testdata


def _cases() -> list[dict[str, Any]]:
    return json.loads(shared_testdata("patch", "r4", "json-patch-tests.json").read_text())


@pytest.mark.parametrize("case", _cases(), ids=lambda c: c.get("comment", "?"))
def test_official_cases(case: dict[str, Any]) -> None:
    document = {"resourceType": "Basic", **case["doc"]} if isinstance(case["doc"], dict) else None
    if document is None:
        pytest.fail(f"unexpected document shape in {case}")
    if "error" in case:
        with pytest.raises(PatchError):
            apply_json_patch(document, case["patch"])
    else:
        expected = {"resourceType": "Basic", **case["expected"]}
        assert apply_json_patch(document, case["patch"]) == expected


def test_error_names_the_operation_without_echoing_data() -> None:
    resource = {"resourceType": "Patient", "name": [{"family": "Secret"}]}
    with pytest.raises(PatchError) as error:
        apply_json_patch(
            resource,
            [
                {"op": "add", "path": "/active", "value": True},
                {"op": "remove", "path": "/nothing/here"},
            ],
        )
    assert "operation 1" in str(error.value) and "Secret" not in str(error.value)
    assert error.value.status == 422
    assert resource == {"resourceType": "Patient", "name": [{"family": "Secret"}]}


def test_malformed_patches_are_400() -> None:
    for patch in ({}, [{"op": "add"}], [{"op": "bogus", "path": "/a"}]):
        with pytest.raises(PatchError) as error:
            apply_json_patch({"resourceType": "Basic"}, patch)
        assert error.value.status == 400
