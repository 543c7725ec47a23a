"""Placing the server-owned parts (id, meta.versionId, meta.lastUpdated) into a
resource without disturbing anything the client sent (resource.html#meta)."""

from __future__ import annotations

from typing import Any

from ember.engine.versioning import instant

_SERVER_META = ("versionId", "lastUpdated", "_versionId", "_lastUpdated")


def _meta(client_meta: Any, version: int, last_updated: int) -> dict[str, Any]:
    meta: dict[str, Any] = {"versionId": str(version), "lastUpdated": instant(last_updated)}
    if isinstance(client_meta, dict):
        meta.update((k, v) for k, v in client_meta.items() if k not in _SERVER_META)
    return meta


def with_server_meta(
    resource: dict[str, Any], id_: str, version: int, last_updated: int
) -> dict[str, Any]:
    """A copy with the server's id and meta; every other property keeps its place."""
    result: dict[str, Any] = {}
    # A missing id goes right after resourceType; a missing meta right after the id.
    anchor = "id" if "id" in resource else "resourceType"
    for key, value in resource.items():
        if key == "meta":
            result["meta"] = _meta(value, version, last_updated)
            continue
        result[key] = id_ if key == "id" else value
        if key == anchor:
            result["id"] = id_
            if "meta" not in resource:
                result["meta"] = _meta(None, version, last_updated)
    return result
