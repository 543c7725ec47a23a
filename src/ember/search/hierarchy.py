"""`:above` / `:below` on reference parameters (search.html#versions and "Searching
Hierarchies"): a canonical URL with `:below` matches every business version that starts
with the one given; an id or Type/id follows a strict hierarchy of its type, such as
Location.partOf, down to every part (below) or up to every whole (above)."""

from __future__ import annotations

import re
from functools import lru_cache

from ember.fhir.model import get_model
from ember.search.clauses import Condition, is_url, starts_with
from ember.search.criteria import invalid, unescape
from ember.search.index import indexed_parameters
from ember.search.parameters import SearchParameter, revision
from ember.search.values import REFERENCE, local_path
from ember.store.base import indexable

_SIMPLE_PATH = re.compile(r"(?P<type>[A-Z][A-Za-z]+)\.(?P<name>[a-z][A-Za-z]*)")


def parent_parameter(type_: str) -> SearchParameter | None:
    """The parameter of a type's strict hierarchy: a reference to one resource of its own
    type (Location.partOf), the only one its SearchParameters in force define."""
    return _parent_parameter(type_, revision())


@lru_cache(maxsize=1024)
def _parent_parameter(type_: str, in_force_revision: int) -> SearchParameter | None:
    model = get_model()
    found = []
    for param in indexed_parameters(type_):
        path = _SIMPLE_PATH.fullmatch(param.expression or "")
        if param.type != "reference" or param.targets != (type_,) or path is None:
            continue
        element = model.element(type_, path["name"]) if path["type"] == type_ else None
        if element is not None and not element[0].is_array and element[0].types == ("Reference",):
            found.append(param)
    return found[0] if len(found) == 1 else None


def _canonical(alias: str, code: str, text: str, below: bool) -> Condition:
    if not below:
        raise invalid(
            f"{code}: :above is not defined for canonical URLs (search.html#versions)",
            code,
            "not-supported",
        )
    url, _, version = text.partition("|")
    if not version:
        return f"{alias}.url = ?", [indexable(url)]
    prefix, prefix_params = starts_with(f"{alias}.target_version", indexable(f"{version}."))
    return (
        f"({alias}.url = ? AND ({alias}.target_version = ? OR {prefix}))",
        [indexable(url), indexable(version), *prefix_params],
    )


# The first row of the tree: on PostgreSQL in the collation of the columns it joins
_SEED = {
    "sqlite": "SELECT ?, ?",
    "postgresql": 'SELECT CAST(? AS TEXT) COLLATE "C", CAST(? AS TEXT) COLLATE "C"',
}


def _tree(type_: str, id_: str, parent: SearchParameter, below: bool, dialect: str) -> Condition:
    """The (type, id) of a resource and of those under (or over) it, to any depth; UNION
    ends a cycle."""
    if below:
        step = (
            "SELECT s.type, s.id FROM tree t JOIN reference_index l "
            "ON l.target_type = t.type AND l.target_id = t.id "
            "JOIN resources s ON s.pk = l.res_pk "
            "WHERE l.param = ? AND s.type = ? AND s.deleted = ?"
        )
    else:
        step = (
            "SELECT l.target_type, l.target_id FROM tree t JOIN resources s "
            "ON s.type = t.type AND s.id = t.id JOIN reference_index l ON l.res_pk = s.pk "
            "WHERE l.param = ? AND l.target_type = ? AND s.deleted = ?"
        )
    seed = _SEED[dialect]
    sql = f"WITH RECURSIVE tree (type, id) AS ({seed} UNION {step}) SELECT type, id FROM tree"
    return sql, [type_, id_, parent.code, type_, False]


def condition(
    alias: str,
    param: SearchParameter,
    code: str,
    value: str,
    below: bool,
    local_base: str | None,
    dialect: str,
) -> Condition:
    """Reference rows `alias` that `value` with :below (or :above) matches."""
    text = local_path(unescape(value), local_base)
    if is_url(text):
        return _canonical(alias, code, text, below)
    match = REFERENCE.fullmatch("/" + text)
    types, id_ = ((match["type"],), match["id"]) if match else (param.targets, text)
    trees = [(t, p) for t in types if (p := parent_parameter(t)) is not None]
    if not trees:
        raise invalid(
            f"{code}: no strict hierarchy (a single reference to the same type) in "
            f"{', '.join(types) or 'its targets'} to search with :above or :below",
            code,
            "not-supported",
        )
    tests = [_tree(type_, id_, parent, below, dialect) for type_, parent in trees]
    sql = " OR ".join(f"({alias}.target_type, {alias}.target_id) IN ({t[0]})" for t in tests)
    return f"({sql})", [p for t in tests for p in t[1]]
