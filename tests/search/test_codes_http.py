"""Token code sets over ValueSets and CodeSystems stored through the API, on both
backends: `:in`, `:not-in`, `:below`, `:above` (search.html#token)."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from ember.search import codes
from tests.fhir.validation.test_terminology import CODE_SYSTEM, CS
from tests.search.conftest import put, sorted_ids


def _value_set(id_: str, include: dict[str, Any], **compose: Any) -> dict[str, Any]:
    return {
        "resourceType": "ValueSet",
        "id": id_,
        "url": f"http://example.org/vs/{id_}",
        "status": "active",
        "compose": {"include": [include], **compose},
    }


@pytest.fixture
def animals(client: TestClient) -> TestClient:
    """The CodeSystem of the terminology tests, ValueSets over it, and an Observation
    per code (its id is the code)."""
    put(client, {**CODE_SYSTEM, "id": "cs"})
    put(
        client,
        _value_set("listed", {"system": CS, "concept": [{"code": "dog"}, {"code": "eagle"}]}),
    )
    put(client, _value_set("whole", {"system": CS}))
    is_a = {"property": "concept", "op": "is-a", "value": "mammal"}
    put(client, _value_set("mammals", {"system": CS, "filter": [is_a]}))
    put(
        client,
        _value_set(
            "dogs",
            {"valueSet": ["http://example.org/vs/mammals"]},
            exclude=[
                {"system": CS, "filter": [{"property": "concept", "op": "=", "value": "cat"}]}
            ],
        ),
    )
    regex = {"property": "concept", "op": "regex", "value": "d.*"}
    put(client, _value_set("regex", {"system": CS, "filter": [regex]}))
    for code in ("dog", "cat", "eagle", "animal"):
        put(
            client,
            {
                "resourceType": "Observation",
                "id": code,
                "status": "final",
                "code": {"coding": [{"system": CS, "code": code}]},
            },
        )
    return client


def _ids(client: TestClient, query: str) -> list[str]:
    return sorted_ids(client, f"Observation?{query}")


def test_in_and_not_in_stored_value_sets(animals: TestClient) -> None:
    vs = "http://example.org/vs"
    assert _ids(animals, f"code:in={vs}/listed") == ["dog", "eagle"]
    assert _ids(animals, f"code:in={vs}/whole") == ["animal", "cat", "dog", "eagle"]
    assert _ids(animals, f"code:in={vs}/mammals") == ["cat", "dog"]
    assert _ids(animals, f"code:not-in={vs}/mammals") == ["animal", "eagle"]
    assert _ids(animals, f"code:in={vs}/dogs") == ["dog"]
    assert _ids(animals, f"code:in={vs}/listed,{vs}/dogs") == ["dog", "eagle"]
    # a changed ValueSet counts from its next search on
    put(animals, _value_set("listed", {"system": CS, "concept": [{"code": "cat"}]}))
    assert _ids(animals, f"code:in={vs}/listed") == ["cat"]


def test_code_sets_that_cannot_be_worked_out_are_not_supported(
    animals: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    vs = "http://example.org/vs"
    queries = [f"code:in={vs}/regex", f"code:not-in={vs}/none", f"code:below={CS}|plant"]
    monkeypatch.setattr(codes, "MAX_CODES", 3)
    queries.append(f"code:in={vs}/whole")  # 6 codes
    for query in queries:
        response = animals.get(f"/fhir/Observation?{query}")
        assert response.status_code == 400, query
        (issue,) = response.json()["issue"]
        parameter = query.partition("=")[0]
        assert (issue["code"], issue["expression"]) == ("not-supported", [parameter]), query
    assert _ids(animals, f"code:in={vs}/mammals") == ["cat", "dog"]  # 3 codes


def test_below_and_above_in_a_stored_code_system(animals: TestClient) -> None:
    assert _ids(animals, f"code:below={CS}|mammal") == ["cat", "dog"]
    assert _ids(animals, f"code:below={CS}|bird") == ["eagle"]  # a parent by property
    assert _ids(animals, f"code:above={CS}|dog") == ["animal", "dog"]
