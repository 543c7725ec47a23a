"""Contained resources in searches (search.html#contained): which rows of `resources` a
search looks at, and the contained resource itself as an entry.

A contained resource is indexed as a row of its own (see
`ember.store.base.CONTAINED_PREFIX`): `_contained=true` searches those rows, `both`
those and the ordinary ones; `_containedType=container` answers with their containers.
"""

from __future__ import annotations

from dataclasses import replace

import orjson

from ember.store.base import CONTAINED_PREFIX, StoredVersion, contained_type

MODES = frozenset({"true", "false", "both"})
RETURNS = frozenset({"container", "contained"})

Key = tuple[str, str]  # (type, id) of a row of `resources`

Condition = tuple[str, list[object]]


def row_types(types: tuple[str, ...], mode: str) -> tuple[str, ...]:
    """The `resources.type` values a search of `types` looks at (none: every type)."""
    own = types if mode != "true" else ()
    inside = tuple(contained_type(t) for t in types) if mode != "false" else ()
    return own + inside


def kind_filter(row: str, types: tuple[str, ...], mode: str) -> Condition:
    """The condition on row `row` that keeps the rows a search looks at."""
    if types:
        kinds = row_types(types, mode)
        return f"{row}.type IN ({', '.join('?' for _ in kinds)})", list(kinds)
    if mode == "false":
        return f"{row}.container IS NULL", []
    if mode == "true":
        return f"{row}.container IS NOT NULL", []
    return "", []


def is_contained(key: Key) -> bool:
    return key[0].startswith(CONTAINED_PREFIX)


def container_of(key: Key) -> Key:
    """The (type, id) of the container of a contained resource's row."""
    type_, _, rest = key[1].partition("/")
    return type_, rest.partition("#")[0]


def cut_out(container: StoredVersion, key: Key) -> StoredVersion | None:
    """The contained resource of `key` as a version whose `type/id` is its fullUrl's
    path (`Type/id#local` of its container); None if the container no longer has it."""
    if container.content is None:
        return None
    local = key[1].partition("#")[2]
    resource = orjson.loads(container.content)
    for item in resource.get("contained", ()):
        if isinstance(item, dict) and item.get("id") == local:
            content = orjson.dumps(item)
            return replace(container, id=f"{container.id}#{local}", content=content)
    return None
