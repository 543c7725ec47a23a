"""Criteria -> one SQL condition over `resources` (chains and _has as EXISTS subqueries).

The same statement text runs on SQLite and PostgreSQL (`?` placeholders, values always
as parameters); index tables are joined by `res_pk` and `param`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import count

from ember.search import clauses, fulltext
from ember.search.criteria import (
    Chain,
    Criteria,
    Criterion,
    Leaf,
    Reverse,
    Target,
    invalid,
    split_values,
    unescape,
)
from ember.store.base import INDEX_TABLES

Condition = clauses.Condition


def _table(field_name: str) -> str:
    return INDEX_TABLES[field_name][0]


# Index table of each parameter type
TABLES = {
    "string": _table("strings"),
    "token": _table("tokens"),
    "date": _table("dates"),
    "reference": _table("references"),
    "number": _table("numbers"),
    "quantity": _table("quantities"),
    "uri": _table("uris"),
}
TOKEN_TEXT_TABLE = _table("token_texts")


@dataclass
class Aliases:
    """Distinct table aliases for nested subqueries, and the dialect they are for."""

    dialect: str
    numbers: count = field(default_factory=count)

    def next(self, prefix: str) -> str:
        return f"{prefix}{next(self.numbers)}"


def _value_test(leaf: Leaf, alias: str, code: str) -> Callable[[str], Condition]:
    """value -> condition on the index row `alias` (or the resource row, resource level)."""
    kind, modifier = leaf.param.type, leaf.modifier
    if leaf.param.code == "_id":
        return lambda value: (f"{alias}.id = ?", [unescape(value)])
    if leaf.param.code == "_lastUpdated":
        column = f"{alias}.last_updated"
        return lambda value: clauses.date(column, f"({column} + 1)", code, value)
    if kind == "string":
        return lambda value: clauses.string(alias, modifier, value)
    if modifier == "of-type":
        return lambda value: clauses.of_type(alias, code, value)
    if kind == "token" or modifier == "identifier":
        return lambda value: (
            clauses.token_text(alias, value) if modifier == "text" else clauses.token(alias, value)
        )
    if kind == "date":
        return lambda value: clauses.date(f"{alias}.low", f"{alias}.high", code, value)
    if kind == "number":
        return lambda value: clauses.number(alias, code, value)
    if kind == "quantity":
        return lambda value: clauses.quantity(alias, code, value)
    if kind == "uri":
        return lambda value: clauses.uri(alias, modifier, value)
    assert kind == "reference"
    return lambda value: clauses.reference(alias, modifier, value)


def _any_of(tests: list[Condition]) -> Condition:
    sql = " OR ".join(t[0] for t in tests)
    return f"({sql})", [p for t in tests for p in t[1]]


Values = tuple[str, ...]


def _has_row(row: str, table: str, alias: str, test: str, negate: bool, drive: bool) -> str:
    """`row` has an index row `alias` in `table` meeting `test`. The criterion that
    drives the search is an uncorrelated IN: its index is searched once and the list
    read in pk order (a page can stop early). Every other criterion probes the index
    rows of each candidate by (res_pk, param), so its matches are never all listed."""
    if drive and not negate:
        return f"{row}.pk IN (SELECT {alias}.res_pk FROM {table} {alias} WHERE {test})"
    return (
        f"{'NOT ' if negate else ''}EXISTS (SELECT 1 FROM {table} {alias} "
        f"WHERE {alias}.res_pk = {row}.pk AND {test})"
    )


def _missing(leaf: Leaf, row: str, code: str, values: Values, aliases: Aliases) -> Condition:
    if values not in (("true",), ("false",)) or leaf.resource_level:
        raise invalid(f"{code!r} takes true or false", code)
    alias = aliases.next("m")
    negate = values == ("true",)
    test = f"{alias}.param = ?"
    return _has_row(row, TABLES[leaf.param.type], alias, test, negate, False), [leaf.param.code]


def _fulltext(leaf: Leaf, row: str, code: str, values: Values, aliases: Aliases) -> Condition:
    try:
        query = fulltext.parse_query(values)
    except ValueError as exc:
        raise invalid(f"{code}: {exc}", code) from None
    alias = aliases.next("t")
    test, text = fulltext.condition(aliases.dialect, alias, leaf.param.code, query)
    return f"{row}.pk IN (SELECT {alias}.rowid FROM fulltext_index {alias} WHERE {test})", [text]


def _leaf(
    leaf: Leaf, row: str, code: str, values: Values, aliases: Aliases, drive: bool
) -> Condition:
    if leaf.param.code in fulltext.COLUMNS:
        return _fulltext(leaf, row, code, values, aliases)
    if leaf.modifier == "missing":
        return _missing(leaf, row, code, values, aliases)
    negate = leaf.modifier == "not"
    if leaf.resource_level:
        test = _value_test(leaf, row, code)
        sql, params = _any_of([test(v) for v in values])
        return ("NOT " if negate else "") + sql, params
    alias = aliases.next("i")
    table, index_param = TABLES[leaf.param.type], leaf.param.code
    if leaf.modifier == "text":
        table = TOKEN_TEXT_TABLE
    elif leaf.modifier in ("identifier", "of-type"):  # tokens of `code:modifier`, see index
        table, index_param = TABLES["token"], f"{index_param}:{leaf.modifier}"
    test = _value_test(leaf, alias, code)
    sql, params = _any_of([test(v) for v in values])
    condition = _has_row(row, table, alias, f"{alias}.param = ? AND {sql}", negate, drive)
    return condition, [index_param, *params]


def _target(
    target: Target, row: str, code: str, values: Values, aliases: Aliases, drive: bool
) -> Condition:
    if isinstance(target, Leaf):
        return _leaf(target, row, code, values, aliases, drive)
    link, other = aliases.next("l"), aliases.next("r")
    inner, inner_params = _target(target.then, other, code, values, aliases, drive)
    if isinstance(target, Chain):
        marks = ", ".join("?" for _ in target.targets)
        params = [target.param.code, *target.targets, False, *inner_params]
        targets = f"{other}.type IN ({marks}) AND {other}.deleted = ? AND {inner}"
        if drive:  # the targets first, then the references to them (by the lookup index)
            return (
                f"{row}.pk IN (SELECT {link}.res_pk FROM reference_index {link} "
                f"WHERE {link}.param = ? AND ({link}.target_type, {link}.target_id) IN "
                f"(SELECT {other}.type, {other}.id FROM resources {other} WHERE {targets}))",
                params,
            )
        return (
            f"EXISTS (SELECT 1 FROM reference_index {link} JOIN resources {other} "
            f"ON {other}.type = {link}.target_type AND {other}.id = {link}.target_id "
            f"WHERE {link}.res_pk = {row}.pk AND {link}.param = ? AND {targets})",
            params,
        )
    assert isinstance(target, Reverse)
    params = [target.param.code, target.source_type, False, *inner_params]
    sources = (
        f"FROM reference_index {link} JOIN resources {other} ON {other}.pk = {link}.res_pk "
        f"WHERE {link}.param = ? AND {other}.type = ? AND {other}.deleted = ? AND {inner}"
    )
    if drive:
        return (
            f"({row}.type, {row}.id) IN (SELECT {link}.target_type, {link}.target_id {sources})",
            params,
        )
    return (
        f"EXISTS (SELECT 1 {sources} "
        f"AND {link}.target_type = {row}.type AND {link}.target_id = {row}.id)",
        params,
    )


def criterion(item: Criterion, row: str, aliases: Aliases, drive: bool = False) -> Condition:
    return _target(item.target, row, item.code, item.values, aliases, drive)


# How few matches a criterion of each kind is likely to have (lower: fewer). There are
# no statistics per value, so the kind decides which criterion drives a search.
_TYPE_RANK = {"reference": 2, "token": 4, "string": 6, "uri": 6, "number": 8, "quantity": 8}
_DATE_RANK, _REVERSE_RANK, _NEVER_DRIVES = 10, 12, 99


def _rank(target: Target) -> int:
    if isinstance(target, Chain):  # a chain mostly names one target (subject.identifier)
        return _rank(target.then) - 1
    if isinstance(target, Reverse):
        return _REVERSE_RANK
    if target.resource_level:
        return 0 if target.param.code == "_id" and target.modifier is None else _NEVER_DRIVES
    if target.modifier in ("missing", "not", "contains"):  # no index range to search
        return _NEVER_DRIVES
    return _TYPE_RANK.get(target.param.type, _DATE_RANK)


def _driver(criteria: Criteria) -> int | None:
    """The position of the criterion that drives the search, if any."""
    ranked = [(_rank(c.target), n) for n, c in enumerate(criteria.criteria)]
    best = min(ranked, default=(_NEVER_DRIVES, None))
    return best[1] if best[0] < _NEVER_DRIVES else None


def _conditions(
    criteria: Criteria, dialect: str, row: str, driver: int | None, skip: int | None = None
) -> Condition:
    aliases = Aliases(dialect)
    sql = [f"{row}.type = ?", f"{row}.deleted = ?"]
    params: list[object] = [criteria.resource_type, False]
    for n, item in enumerate(criteria.criteria):
        if n != skip:
            condition, condition_params = criterion(item, row, aliases, n == driver)
            sql.append(condition)
            params.extend(condition_params)
    return " AND ".join(sql), params


def where(criteria: Criteria, dialect: str, row: str = "r") -> Condition:
    """The condition live resources of the type must meet, over resource row `row`."""
    return _conditions(criteria, dialect, row, _driver(criteria))


def _streams(item: Criterion) -> bool:
    """One system|code token: its lookup index (param, code, system, res_pk) lists the
    matches in pk order, one row each, so a page reads only its own rows."""
    target = item.target
    if not isinstance(target, Leaf) or target.param.type != "token" or len(item.values) != 1:
        return False
    parts = split_values(item.values[0], "|")
    return target.modifier is None and not target.resource_level and len(parts) == 2 and all(parts)


def page_source(criteria: Criteria, dialect: str) -> tuple[str, str, list[object]]:
    """FROM and WHERE of a page query over resource row `r`, the column its pk is read
    from (in page order where it can be) and the parameters."""
    driver = _driver(criteria)
    if driver is None or not _streams(criteria.criteria[driver]):
        condition, params = where(criteria, dialect)
        return f"resources r WHERE {condition}", "r.pk", params
    item = criteria.criteria[driver]
    test, test_params = clauses.token("d", item.values[0])
    condition, params = _conditions(criteria, dialect, "r", None, skip=driver)
    return (
        f"{TABLES['token']} d JOIN resources r ON r.pk = d.res_pk "
        f"WHERE d.param = ? AND {test} AND {condition}",
        "d.res_pk",
        [item.target.param.code, *test_params, *params],
    )
