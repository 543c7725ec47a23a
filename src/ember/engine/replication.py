"""History Bundles posted to the base, replayed as a transaction (http.html#transaction).

A history Bundle lists versions newest first (http.html#history), a resource perhaps
several times: replaying it brings each resource to its newest listed state, so the
first entry of each resource counts and older ones are left out. POST entries become
PUTs to the resource's own id, so references between the replicated resources hold;
the source server's version conditions (ifMatch, ...) mean nothing here and are dropped.
"""

from __future__ import annotations

from typing import Any

from ember.engine.errors import bad_request

# What a transaction Bundle may not carry of a history Bundle (bdl-1: total is only for
# search and history; the links were the source server's)
_SOURCE_ONLY = frozenset({"type", "entry", "total", "link"})


def _replayed_request(where: str, raw: Any) -> dict[str, str]:
    request = raw.get("request") if isinstance(raw, dict) else None
    if not isinstance(request, dict) or not isinstance(request.get("url"), str):
        raise bad_request(f"{where} has no request url", f"{where}.request")
    method, url = request.get("method"), request["url"].rstrip("/")
    if method == "POST":
        resource = raw.get("resource")
        id_ = resource.get("id") if isinstance(resource, dict) else None
        if not isinstance(id_, str) or not id_:
            raise bad_request(
                f"{where} creates a resource without an id: a history Bundle's POST entries "
                "are replayed with the resource's own id",
                f"{where}.resource.id",
            )
        return {"method": "PUT", "url": f"{url.split('?')[0]}/{id_}"}
    if method not in ("PUT", "DELETE"):
        raise bad_request(
            f"{where}: a history Bundle holds POST, PUT and DELETE entries, not {method!r}",
            f"{where}.request.method",
        )
    return {"method": method, "url": url}


def as_transaction(bundle: dict[str, Any]) -> dict[str, Any]:
    """The transaction that brings each resource of a history Bundle to its newest state."""
    entries = bundle.get("entry", [])
    if not isinstance(entries, list):
        raise bad_request("Bundle.entry must be an array", "Bundle.entry")
    replayed: list[dict[str, Any]] = []
    seen: set[str] = set()
    for index, raw in enumerate(entries):
        request = _replayed_request(f"Bundle.entry[{index}]", raw)
        if request["url"] in seen:
            continue  # an older version of a resource already replayed
        seen.add(request["url"])
        kept = {k: v for k, v in raw.items() if k != "response"}
        replayed.append({**kept, "request": request})
    shell = {k: v for k, v in bundle.items() if k not in _SOURCE_ONLY}
    return {**shell, "type": "transaction", "entry": replayed}
