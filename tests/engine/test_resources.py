"""Server-owned id and meta are placed without disturbing the client's order."""

from __future__ import annotations

from ember.engine.resources import with_server_meta


def test_missing_id_and_meta_follow_resource_type() -> None:
    result = with_server_meta({"resourceType": "Patient", "active": True}, "a", 1, 0)
    assert list(result) == ["resourceType", "id", "meta", "active"]


def test_meta_follows_an_existing_id() -> None:
    result = with_server_meta({"resourceType": "Patient", "active": True, "id": "x"}, "a", 2, 0)
    assert list(result) == ["resourceType", "active", "id", "meta"]
    assert result["id"] == "a" and result["meta"]["versionId"] == "2"


def test_client_meta_keeps_its_place_and_other_elements() -> None:
    resource = {
        "meta": {
            "lastUpdated": "x",
            "tag": [{"code": "t"}],
            "versionId": "9",
            "_versionId": {"extension": []},
        },
        "resourceType": "Patient",
        "id": "x",
    }
    result = with_server_meta(resource, "x", 3, 0)
    assert list(result) == ["meta", "resourceType", "id"]
    assert list(result["meta"]) == ["versionId", "lastUpdated", "tag"]
    assert result["meta"]["lastUpdated"] == "1970-01-01T00:00:00.000Z"
