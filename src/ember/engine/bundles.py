"""Bundles the server builds: history and searchset (bundle.html, http.html#history)."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlencode

from ember.engine.versioning import etag, instant
from ember.fhir.issues import Issue
from ember.store.base import StoredVersion

# How stored bytes go into a bundle: parsed, or spliced in as they are (orjson.Fragment)
# when the answer is plain JSON, which saves a parse and a serialisation per entry.
Embed = Callable[[bytes], Any]

_METHOD_STATUS = {
    "POST": "201 Created",
    "PUT": "200 OK",
    "PATCH": "200 OK",
    "DELETE": "204 No Content",
}


def encode_cursor(seq: int) -> str:
    """An opaque paging token (clients must not build their own)."""
    return base64.urlsafe_b64encode(f"s{seq}".encode()).decode().rstrip("=")


def decode_cursor(token: str) -> int | None:
    try:
        text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    return int(text[1:]) if text.startswith("s") and text[1:].isdigit() else None


def _bundle(
    type_: str, total: int | None, links: list[dict[str, str]], entries: list[dict[str, Any]]
) -> dict[str, Any]:
    bundle: dict[str, Any] = {"resourceType": "Bundle", "id": str(uuid.uuid4()), "type": type_}
    if total is not None:
        bundle["total"] = total
    bundle["link"] = links
    if entries:  # JSON arrays are never empty (json.html)
        bundle["entry"] = entries
    return bundle


def _link(relation: str, url: str) -> dict[str, str]:
    return {"relation": relation, "url": url}


def _url(base: str, path: str, query: list[tuple[str, str]]) -> str:
    """`path` after the base ("" for the base itself, as in a system search)."""
    return (f"{base}/{path}" if path else base) + (f"?{urlencode(query)}" if query else "")


def history_bundle(
    base_url: str,
    path: str,
    query: list[tuple[str, str]],
    versions: list[StoredVersion],
    has_more: bool,
    total: int | None,
    embed: Embed,
) -> dict[str, Any]:
    entries = []
    for version in versions:
        full_url = f"{base_url}/{version.type}/{version.id}"
        entry: dict[str, Any] = {"fullUrl": full_url}
        if version.content is not None:
            entry["resource"] = embed(version.content)
        method = version.method
        entry["request"] = {
            "method": method,
            "url": version.type if method == "POST" else f"{version.type}/{version.id}",
        }
        entry["response"] = {
            "status": _METHOD_STATUS.get(method, "200 OK"),
            "etag": etag(version.version),
            "lastModified": instant(version.last_updated),
        }
        entries.append(entry)
    links = [_link("self", _url(base_url, path, query))]
    if has_more and versions:
        next_query = [(k, v) for k, v in query if k != "_page"]
        next_query.append(("_page", encode_cursor(versions[-1].seq)))
        links.append(_link("next", _url(base_url, path, next_query)))
    return _bundle("history", total, links, entries)


def searchset_bundle(
    base_url: str,
    path: str,
    applied: list[tuple[str, str]],
    versions: list[StoredVersion],
    total: int | None,
    warnings: list[Issue],
    embed: Embed,
    included: Sequence[dict[str, Any]] = (),
) -> dict[str, Any]:
    """The matches, then the `included` entries (search.mode=include), then the
    warnings as an OperationOutcome entry."""
    entries: list[dict[str, Any]] = []
    for version in versions:
        assert version.content is not None
        entries.append(
            {
                "fullUrl": f"{base_url}/{version.type}/{version.id}",
                "resource": embed(version.content),
                "search": {"mode": "match"},
            }
        )
    entries.extend(included)
    if warnings:
        entries.append(
            {
                "resource": {
                    "resourceType": "OperationOutcome",
                    "issue": [w.to_json() for w in warnings],
                },
                "search": {"mode": "outcome"},
            }
        )
    return _bundle("searchset", total, [_link("self", _url(base_url, path, applied))], entries)


def add_page_links(
    bundle: dict[str, Any],
    base_url: str,
    path: str,
    applied: list[tuple[str, str]],
    cursors: dict[str, str | None],
) -> None:
    """first (the search from its start), then a link per relation with a cursor."""
    bundle["link"].append(_link("first", _url(base_url, path, applied)))
    for relation, cursor in cursors.items():
        if cursor is not None:
            url = _url(base_url, path, [*applied, ("_page", cursor)])
            bundle["link"].append(_link(relation, url))
