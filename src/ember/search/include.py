"""_include and _revinclude (search.html#include): follow-up queries on the reference
index from the page's matches, repeated for `:iterate` until nothing new turns up."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ember.search.contained import container_of, cut_out, is_contained
from ember.search.criteria import invalid, known_parameter
from ember.store.base import Reader, StoredVersion, contained_type

# Bounds on :iterate, so a reference cycle or a huge graph cannot run away.
MAX_ROUNDS = 8
MAX_INCLUDED = 1000

Key = tuple[str, str]  # (type, id)


@dataclass(frozen=True, slots=True)
class Include:
    source_type: str | None  # None: `*`, every type
    param: str | None  # None: every reference parameter
    target_type: str | None
    reverse: bool  # _revinclude
    iterate: bool

    def written(self) -> tuple[str, str]:
        name = ("_revinclude" if self.reverse else "_include") + (
            ":iterate" if self.iterate else ""
        )
        if self.source_type is None:
            return name, "*"
        parts = [self.source_type, self.param or "*"]
        if self.target_type:
            parts.append(self.target_type)
        return name, ":".join(parts)


def parse_include(name: str, value: str) -> Include:
    """`_include[:iterate]=Source:param[:Target]` or `*`; raises InvalidSearch."""
    base, _, modifier = name.partition(":")
    if modifier not in ("", "iterate", "recurse"):
        raise invalid(f"Unknown modifier :{modifier} of {base}", name)
    reverse, iterate = base == "_revinclude", bool(modifier)
    if value == "*":
        return Include(None, None, None, reverse, iterate)
    parts = value.split(":")
    if len(parts) not in (2, 3):
        raise invalid(f"{name}={value!r}: expected Type:parameter[:targetType]", name)
    source, code = parts[0], parts[1]
    target = parts[2] if len(parts) == 3 else None
    param = None if code == "*" else known_parameter(source, code)
    if code != "*" and (param is None or param.type != "reference"):
        raise invalid(f"{name}={value!r}: {code!r} is not a reference parameter of {source}", name)
    if target is not None and param is not None and target not in param.targets:
        raise invalid(f"{name}={value!r}: {code} cannot point to {target}", name)
    return Include(source, None if code == "*" else code, target, reverse, iterate)


def _condition(include: Include, source: str, link: str, matches: bool) -> tuple[str, list[object]]:
    """The include's restrictions on the referring row `source` and the reference row
    `link`; when the sources are the matches, contained ones (_contained) count too."""
    sql: list[str] = []
    params: list[object] = []
    if include.source_type is not None:
        kinds = [include.source_type]
        if matches:
            kinds.append(contained_type(include.source_type))
        sql.append(f"{source}.type IN ({', '.join('?' for _ in kinds)})")
        params.extend(kinds)
    if include.param is not None:
        sql.append(f"{link}.param = ?")
        params.append(include.param)
    if include.target_type is not None:
        sql.append(f"{link}.target_type = ?")
        params.append(include.target_type)
    return "".join(f" AND {s}" for s in sql), params


def _pairs(keys: list[Key], type_column: str, id_column: str) -> tuple[str, list[object]]:
    marks = " OR ".join(f"({type_column} = ? AND {id_column} = ?)" for _ in keys)
    return f"({marks})", [part for key in keys for part in key]


def _targets(reader: Reader, include: Include, keys: list[Key]) -> list[Key]:
    extra, params = _condition(include, "s", "l", matches=True)
    matches, match_params = _pairs(keys, "s.type", "s.id")
    rows = reader.query(
        "SELECT t.type, t.id FROM reference_index l JOIN resources s ON s.pk = l.res_pk "
        "JOIN resources t ON t.type = l.target_type AND t.id = l.target_id "
        # a contained target is in its container already
        f"WHERE {matches}{extra} AND t.deleted = ? AND t.container IS NULL ORDER BY t.pk",
        [*match_params, *params, False],
    )
    return [(row[0], row[1]) for row in rows]


def _sources(reader: Reader, include: Include, keys: list[Key]) -> list[Key]:
    extra, params = _condition(include, "s", "l", matches=False)
    matches, match_params = _pairs(keys, "l.target_type", "l.target_id")
    rows = reader.query(
        "SELECT s.type, s.id FROM reference_index l JOIN resources s ON s.pk = l.res_pk "
        # a contained referrer is part of its container, not a resource to include
        f"WHERE {matches}{extra} AND s.deleted = ? AND s.container IS NULL ORDER BY s.pk",
        [*match_params, *params, False],
    )
    return [(row[0], row[1]) for row in rows]


def find_included(
    reader: Reader, matches: Iterable[Key], includes: tuple[Include, ...]
) -> list[Key]:
    """The resources the includes add to a page, in the order found, without the matches."""
    seen = set(matches)
    added: list[Key] = []
    frontier = list(seen)
    for round_ in range(MAX_ROUNDS):
        active = [i for i in includes if round_ == 0 or i.iterate]
        if not frontier or not active:
            break
        found: list[Key] = []
        for include in active:
            follow = _sources if include.reverse else _targets
            for key in follow(reader, include, frontier):
                if key not in seen and len(added) + len(found) < MAX_INCLUDED:
                    seen.add(key)
                    found.append(key)
        added += found
        frontier = found
    return added


def load(reader: Reader, keys: list[Key]) -> list[StoredVersion]:
    """Current versions of `keys` in their order, one query per type; a contained
    resource is cut out of its container's (see `ember.search.contained.cut_out`)."""
    containers = {key: container_of(key) for key in keys if is_contained(key)}
    by_type: dict[str, list[str]] = {}
    for type_, id_ in dict.fromkeys(containers.get(key, key) for key in keys):
        by_type.setdefault(type_, []).append(id_)
    found: dict[Key, StoredVersion | None] = {
        (v.type, v.id): v for type_, ids in by_type.items() for v in reader.current_many(type_, ids)
    }
    for key, outer in containers.items():
        container = found.get(outer)
        found[key] = cut_out(container, key) if container is not None else None
    return [version for version in (found.get(key) for key in keys) if version is not None]
