"""Criteria -> one SQL condition over `resources` (chains and _has as EXISTS subqueries).

The same statement text runs on SQLite and PostgreSQL (`?` placeholders, values always
as parameters); index tables are joined by `res_pk` and `param`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from itertools import count

from ember.fhir.model import get_model
from ember.fhir.validation.terminology import Terminology, terminology_for
from ember.search import clauses, contained, fulltext, hierarchy
from ember.search.compartments import ITSELF, Compartment
from ember.search.criteria import (
    Chain,
    Criteria,
    Criterion,
    Leaf,
    Listed,
    Reverse,
    Target,
    invalid,
    split_values,
    unescape,
)
from ember.search.parameters import components
from ember.store.base import INDEX_TABLES, Reader, contained_type

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
    "composite": _table("composites"),
}
TOKEN_TEXT_TABLE = _table("token_texts")


@dataclass
class Statement:
    """What the parts of one statement share: the dialect it is for, distinct table
    aliases for nested subqueries, the server's own base URL (absolute references under
    it are local) and the terminology code sets come from."""

    dialect: str
    local_base: str | None = None
    terminology: Callable[[], Terminology] | None = None  # None: the shipped one
    contained: str = "false"  # _contained: whether the rows searched are contained ones
    numbers: count = field(default_factory=count)
    # the subqueries listing the matches of the driving criterion, to count them: a
    # chain's targets, then the references to them
    driving: list[Condition] = field(default_factory=list)

    @classmethod
    def of(cls, criteria: Criteria, dialect: str) -> Statement:
        return cls(dialect, criteria.local_base, criteria.terminology, criteria.contained)

    def codes(self) -> Terminology:
        """The terminology of code sets (:in, :not-in, :above, :below)."""
        if self.terminology is None:
            return terminology_for(get_model().version)
        return self.terminology()

    def next(self, prefix: str) -> str:
        return f"{prefix}{next(self.numbers)}"

    @property
    def probe_end(self) -> str:
        """What ends a probing subquery: PostgreSQL would turn its EXISTS into a join
        over every match (hashing them all, then sorting), where probing stops at a
        page; OFFSET 0 keeps it a per-row probe there."""
        return " OFFSET 0" if self.dialect == "postgresql" else ""


def _value_test(
    leaf: Leaf, alias: str, code: str, statement: Statement | None = None
) -> Callable[[str], Condition]:
    """value -> condition on the index row `alias` (or the resource row, resource level)."""
    kind, modifier = leaf.param.type, leaf.modifier
    if leaf.param.code == "_id":
        contained = statement.contained if statement is not None else "false"
        return lambda value: clauses.logical_id(alias, unescape(value), contained)
    if leaf.param.code == "_lastUpdated":
        column = f"{alias}.last_updated"
        return lambda value: clauses.date(column, f"({column} + 1)", code, value)
    if kind == "string":
        return lambda value: clauses.string(alias, modifier, value)
    if modifier == "of-type":
        return lambda value: clauses.of_type(alias, code, value)
    assert statement is not None  # only _id and _lastUpdated go without
    if kind == "token" and modifier in ("in", "not-in"):
        return lambda value: clauses.in_value_set(alias, code, value, statement.codes())
    if kind == "token" and modifier in ("above", "below"):
        below = modifier == "below"
        return lambda value: clauses.subsumed(alias, code, value, below, statement.codes())
    if kind == "reference" and modifier in ("above", "below"):
        below = modifier == "below"
        return lambda value: hierarchy.condition(
            alias, leaf.param, code, value, below, statement.local_base, statement.dialect
        )
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
    return lambda value: clauses.reference(alias, modifier, value, statement.local_base)


def _any_of(tests: list[Condition]) -> Condition:
    sql = " OR ".join(t[0] for t in tests)
    return f"({sql})", [p for t in tests for p in t[1]]


Values = tuple[str, ...]


def _drives(
    statement: Statement, column: str, subquery: str, params: list[object], counted: bool = True
) -> str:
    if counted:
        statement.driving.append((subquery, params))
    return f"{column} IN ({subquery})"


def _has_row(
    row: str,
    table: str,
    alias: str,
    test: Condition,
    negate: bool,
    statement: Statement,
    drive: bool,
) -> str:
    """`row` has an index row `alias` in `table` meeting `test`. The criterion that
    drives the search is an uncorrelated IN: its index is searched once and the list
    read in pk order (a page can stop early). Every other criterion probes the index
    rows of each candidate by (res_pk, param), so its matches are never all listed."""
    if drive and not negate:
        subquery = f"SELECT {alias}.res_pk FROM {table} {alias} WHERE {test[0]}"
        return _drives(statement, f"{row}.pk", subquery, test[1])
    return (
        f"{'NOT ' if negate else ''}EXISTS (SELECT 1 FROM {table} {alias} "
        f"WHERE {alias}.res_pk = {row}.pk AND {test[0]}{statement.probe_end})"
    )


def _missing(leaf: Leaf, row: str, code: str, values: Values, statement: Statement) -> Condition:
    if values not in (("true",), ("false",)):
        raise invalid(f"{code!r} takes true or false", code)
    if leaf.resource_level:  # every resource has an id and a lastUpdated
        return ("1 = 0" if values == ("true",) else "1 = 1"), []
    alias = statement.next("m")
    negate = values == ("true",)
    test: Condition = (f"{alias}.param = ?", [leaf.param.code])
    return _has_row(row, TABLES[leaf.param.type], alias, test, negate, statement, False), test[1]


def _composite(leaf: Leaf, row: str, code: str, values: Values, statement: Statement) -> Condition:
    """Each value is `a$b...`, one part per component; the parts must all match the
    components of one item (search.html#composite): index rows joined by item."""
    parts = components(leaf.param)
    assert parts is not None  # parameters with unusable components are not searchable
    table = TABLES["composite"]
    aliases = [statement.next("c") for _ in parts]
    first = aliases[0]
    joins = "".join(
        f" JOIN {table} {alias} ON {alias}.res_pk = {first}.res_pk "
        f"AND {alias}.param = {first}.param AND {alias}.item = {first}.item"
        for alias in aliases[1:]
    )
    alternatives: list[Condition] = []
    for value in values:
        pieces = split_values(value, "$")
        if len(pieces) != len(parts):
            raise invalid(f"{value!r} of {code!r} needs {len(parts)} parts separated by $", code)
        tests = [
            _value_test(Leaf(part.param, None), alias, code, statement)(piece)
            for part, alias, piece in zip(parts, aliases, pieces, strict=True)
        ]
        alternatives.append(
            ("(" + " AND ".join(t[0] for t in tests) + ")", [p for t in tests for p in t[1]])
        )
    sql, params = _any_of(alternatives)
    positions = " AND ".join(f"{alias}.component = ?" for alias in aliases)
    return (
        f"{row}.pk IN (SELECT {first}.res_pk FROM {table} {first}{joins} "
        f"WHERE {first}.param = ? AND {positions} AND {sql})",
        [leaf.param.code, *range(len(parts)), *params],
    )


def _fulltext(leaf: Leaf, row: str, code: str, values: Values, statement: Statement) -> Condition:
    try:
        query = fulltext.parse_query(values)
    except ValueError as exc:
        raise invalid(f"{code}: {exc}", code) from None
    alias = statement.next("t")
    test, text = fulltext.condition(statement.dialect, alias, leaf.param.code, query)
    return f"{row}.pk IN (SELECT {alias}.rowid FROM fulltext_index {alias} WHERE {test})", [text]


def _leaf(
    leaf: Leaf, row: str, code: str, values: Values, statement: Statement, drive: bool
) -> Condition:
    if leaf.param.code in fulltext.COLUMNS:
        return _fulltext(leaf, row, code, values, statement)
    if leaf.modifier == "missing":
        return _missing(leaf, row, code, values, statement)
    if leaf.param.type == "composite":
        return _composite(leaf, row, code, values, statement)
    negate = leaf.modifier in ("not", "not-in")
    if leaf.resource_level:
        test = _value_test(leaf, row, code, statement)
        sql, params = _any_of([test(v) for v in values])
        return ("NOT " if negate else "") + sql, params
    alias = statement.next("i")
    table, index_param = TABLES[leaf.param.type], leaf.param.code
    if leaf.modifier == "text":
        table = TOKEN_TEXT_TABLE
    elif leaf.modifier in ("identifier", "of-type"):  # tokens of `code:modifier`, see index
        table, index_param = TABLES["token"], f"{index_param}:{leaf.modifier}"
    test = _value_test(leaf, alias, code, statement)
    sql, params = _any_of([test(v) for v in values])
    test = (f"{alias}.param = ? AND {sql}", [index_param, *params])
    return _has_row(row, table, alias, test, negate, statement, drive), test[1]


def _listed(row: str, code: str, values: Values, statement: Statement) -> Condition:
    """In the entry.item of any of the Lists named (by id)."""
    ids = [unescape(v) for v in values]
    for list_id in ids:
        if list_id.startswith("$"):
            raise invalid(
                f"{code}={list_id}: functional lists are not supported", code, "not-supported"
            )
    link, source = statement.next("l"), statement.next("s")
    marks = ", ".join("?" for _ in ids)
    return (
        f"({row}.type, {row}.id) IN (SELECT {link}.target_type, {link}.target_id "
        f"FROM reference_index {link} JOIN resources {source} ON {source}.pk = {link}.res_pk "
        f"WHERE {link}.param = ? AND {source}.type = ? AND {source}.id IN ({marks}) "
        f"AND {source}.deleted = ?)",
        ["item", "List", *ids, False],
    )


def _target(
    target: Target, row: str, code: str, values: Values, statement: Statement, drive: bool
) -> Condition:
    if isinstance(target, Leaf):
        return _leaf(target, row, code, values, statement, drive)
    if isinstance(target, Listed):
        return _listed(row, code, values, statement)
    link, other = statement.next("l"), statement.next("r")
    inner, inner_params = _target(target.then, other, code, values, statement, drive)
    if isinstance(target, Chain):
        # the targets' rows, and those of resources contained in the referrer
        kinds = [*target.targets, *(contained_type(t) for t in target.targets)]
        marks = ", ".join("?" for _ in kinds)
        params = [target.param.code, *kinds, False, *inner_params]
        targets = f"{other}.type IN ({marks}) AND {other}.deleted = ? AND {inner}"
        if drive:  # the targets first, then the references to them (by the lookup index)
            subquery = (
                f"SELECT {link}.res_pk FROM reference_index {link} "
                f"WHERE {link}.param = ? AND ({link}.target_type, {link}.target_id) IN "
                f"(SELECT {other}.type, {other}.id FROM resources {other} WHERE {targets})"
            )
            return _drives(statement, f"{row}.pk", subquery, params), params
        return (
            f"EXISTS (SELECT 1 FROM reference_index {link} JOIN resources {other} "
            f"ON {other}.type = {link}.target_type AND {other}.id = {link}.target_id "
            f"WHERE {link}.res_pk = {row}.pk AND {link}.param = ? AND {targets}"
            f"{statement.probe_end})",
            params,
        )
    assert isinstance(target, Reverse)
    params = [target.param.code, target.source_type, False, *inner_params]
    sources = (
        f"FROM reference_index {link} JOIN resources {other} ON {other}.pk = {link}.res_pk "
        f"WHERE {link}.param = ? AND {other}.type = ? AND {other}.deleted = ? AND {inner}"
    )
    if drive:
        subquery = f"SELECT {link}.target_type, {link}.target_id {sources}"
        # counted by its sources (the subquery of its last parameter): mostly each points
        # at one resource, and joining them to their references costs more than it tells
        column = f"({row}.type, {row}.id)"
        return _drives(statement, column, subquery, params, counted=False), params
    return (
        f"EXISTS (SELECT 1 {sources} "
        f"AND {link}.target_type = {row}.type AND {link}.target_id = {row}.id"
        f"{statement.probe_end})",
        params,
    )


def criterion(item: Criterion, row: str, statement: Statement, drive: bool = False) -> Condition:
    return _target(item.target, row, item.code, item.values, statement, drive)


# How few matches a criterion of each kind is likely to have (lower: fewer): the order
# criteria are judged in, and what decides between equal counts.
_TYPE_RANK = {"reference": 2, "token": 4, "string": 6, "uri": 6, "number": 8, "quantity": 8}
_DATE_RANK, _REVERSE_RANK, _NEVER_DRIVES = 10, 12, 99


def _rank(target: Target) -> int:
    if isinstance(target, Chain):  # a chain mostly names one target (subject.identifier)
        return _rank(target.then) - 1
    if isinstance(target, Reverse):
        return _REVERSE_RANK
    if not isinstance(target, Leaf):  # _list: its own IN list, whatever drives
        return _NEVER_DRIVES
    if target.resource_level:
        return 0 if target.param.code == "_id" and target.modifier is None else _NEVER_DRIVES
    if target.modifier in ("missing", "not", "not-in", "contains"):  # no index range
        return _NEVER_DRIVES
    return _TYPE_RANK.get(target.param.type, _DATE_RANK)


# A criterion listing at least this many index rows is common: a page in pk order finds
# its entries sooner by probing the live resources of the type in order than by listing
# every match, which grows with the data. Counting stops here, so judging one costs little.
COMMON = 500
# A criterion with at most this many matches drives without the rest being counted:
# listing them costs about what counting another criterion would.
FEW = 50


def _candidates(criteria: Criteria) -> list[int]:
    """Positions of the criteria that can drive, likeliest first."""
    ranked = sorted((_rank(c.target), n) for n, c in enumerate(criteria.criteria))
    return [n for rank, n in ranked if rank < _NEVER_DRIVES]


def _matches(reader: Reader, criteria: Criteria, position: int) -> int:
    """The rows the criterion's driving subquery lists, counted up to COMMON. A chain
    with common targets is taken as common without listing them all (the count of the
    references to them would), so judging it costs little too."""
    statement = Statement.of(criteria, reader.dialect)
    criterion(criteria.criteria[position], "r", statement, drive=True)
    found = COMMON - 1  # full text, composite: listed whatever drives
    for subquery, params in statement.driving:
        rows = reader.query(f"SELECT COUNT(*) FROM ({subquery} LIMIT ?) sample", [*params, COMMON])
        found = int(rows[0][0])
        if found >= COMMON:
            break
    return found


def choose_driver(
    reader: Reader, criteria: Criteria, in_page_order: bool, streams: bool = True
) -> int | None:
    """The position of the criterion that drives the search, if any: the one with the
    fewest matches. When the page is read in an index's order (pk order without _sort,
    or a date sort key's, see ember.search.walk) and every criterion is common, none
    drives (the index is read in order, each criterion probed), unless one token
    `streams` its matches in that order (pk order)."""
    candidates = _candidates(criteria)
    if not candidates:
        return None
    first = candidates[0]
    streaming = [n for n in candidates if streams and _streams(criteria.criteria[n])]
    if _rank(criteria.criteria[first].target) == 0:  # _id
        return first
    if len(candidates) == 1 and (not in_page_order or streaming):
        return first
    counted: list[tuple[int, int, int]] = []
    for order, n in enumerate(candidates):
        counted.append((_matches(reader, criteria, n), order, n))
        if counted[-1][0] <= FEW:
            break
    fewest, _, best = min(counted)
    if not in_page_order or fewest < COMMON:
        return best
    return streaming[0] if streaming else None


def _in_compartment(compartment: Compartment, types: tuple[str, ...], row: str) -> Condition:
    """Members of the searched types that point at the compartment's resource by one of
    the parameters its definition lists for their type (or are that resource itself)."""
    by_params: dict[tuple[str, ...], list[str]] = {}
    itself = False
    for type_, params in compartment.members:
        if types and type_ not in types:
            continue
        by_params.setdefault(tuple(p for p in params if p != ITSELF), []).append(type_)
        itself = itself or (ITSELF in params and type_ == compartment.code)
    groups: list[str] = []
    params: list[object] = []
    for codes, member_types in by_params.items():
        if codes:
            groups.append(
                f"(s.type IN ({', '.join('?' for _ in member_types)}) "
                f"AND l.param IN ({', '.join('?' for _ in codes)}))"
            )
            params += [*member_types, *codes]
    alternatives: list[str] = []
    if groups:
        alternatives.append(
            f"{row}.pk IN (SELECT l.res_pk FROM reference_index l JOIN resources s "
            "ON s.pk = l.res_pk WHERE l.target_type = ? AND l.target_id = ? "
            f"AND ({' OR '.join(groups)}))"
        )
        params = [compartment.code, compartment.id, *params]
    if itself:
        alternatives.append(f"({row}.type = ? AND {row}.id = ?)")
        params += [compartment.code, compartment.id]
    return "(" + (" OR ".join(alternatives) or "1 = 0") + ")", params


def _conditions(
    criteria: Criteria, dialect: str, row: str, driver: int | None, skip: int | None = None
) -> Condition:
    statement = Statement.of(criteria, dialect)
    sql = [f"{row}.deleted = ?"]
    params: list[object] = [False]
    kinds, kind_params = contained.kind_filter(row, criteria.types, criteria.contained)
    if kinds:
        sql.append(kinds)
        params.extend(kind_params)
    if criteria.compartment is not None:
        condition, condition_params = _in_compartment(criteria.compartment, criteria.types, row)
        sql.append(condition)
        params.extend(condition_params)
    for n, item in enumerate(criteria.criteria):
        if n != skip:
            condition, condition_params = criterion(item, row, statement, n == driver)
            sql.append(condition)
            params.extend(condition_params)
    return " AND ".join(sql), params


def where(criteria: Criteria, dialect: str, driver: int | None) -> Condition:
    """The condition live resources of the searched types must meet, over row `r`."""
    if not criteria.answers_containers:
        return _conditions(criteria, dialect, "r", driver)
    return _containers(criteria, dialect, driver)


def _containers(criteria: Criteria, dialect: str, driver: int | None) -> Condition:
    """Contained matches answered by their containers (search.html#contained): rows `r`
    containing a match, or with _contained=both also matching themselves. The driver
    drives the contained rows' search only (with both, none drives)."""
    only_contained = criteria.contained == "true"
    inner, inner_params = _conditions(
        replace(criteria, contained="true"), dialect, "c", driver if only_contained else None
    )
    found = f"r.pk IN (SELECT c.container FROM resources c WHERE {inner})"
    if only_contained:
        return f"r.deleted = ? AND {found}", [False, *inner_params]
    own, own_params = _conditions(replace(criteria, contained="false"), dialect, "r", None)
    return f"(({own}) OR {found})", [*own_params, *inner_params]


def _streams(item: Criterion) -> bool:
    """One system|code token: its lookup index (param, code, system, res_pk) lists the
    matches in pk order, one row each, so a page reads only its own rows."""
    target = item.target
    if not isinstance(target, Leaf) or target.param.type != "token" or len(item.values) != 1:
        return False
    parts = split_values(item.values[0], "|")
    return target.modifier is None and not target.resource_level and len(parts) == 2 and all(parts)


def page_source(
    criteria: Criteria, dialect: str, driver: int | None
) -> tuple[str, str, list[object]]:
    """FROM and WHERE of a page query over resource row `r`, the column its pk is read
    from (in page order where it can be) and the parameters."""
    if driver is None or criteria.answers_containers or not _streams(criteria.criteria[driver]):
        condition, params = where(criteria, dialect, driver)
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
