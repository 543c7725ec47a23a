"""Running a search: matching ids in `_sort` order, one page at a time.

Pages are keyset pages: the cursor holds the sort keys and pk of the last entry, so a
next link keeps working (no skipped or repeated entries) while data changes.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass

from ember.search.criteria import Criteria, common_parameter, invalid
from ember.search.dates import EARLIEST, LATEST
from ember.search.parameters import FULLTEXT
from ember.search.plan import TABLES, choose_driver, page_source, where
from ember.search.walk import walk_source
from ember.store.base import Reader

# The column a parameter sorts by, and what a resource without a value sorts as
# (missing values come last in both directions).
_SORT_COLUMNS = {
    "string": "normalized",
    "token": "code",
    "reference": "url",
    "number": "value",
    "quantity": "value",
    "uri": "value",
}
_TEXT_LAST, _TEXT_FIRST = "\U0010ffff", ""
_NUMBER_LAST, _NUMBER_FIRST = 1e300, -1e300


@dataclass(frozen=True, slots=True)
class SortKey:
    code: str
    descending: bool
    kind: str  # the parameter's type


Key = tuple[str, str]  # (type, id)


@dataclass(frozen=True, slots=True)
class Page:
    keys: list[Key]
    next_cursor: str | None  # None: this is the last page
    previous_cursor: str | None = None  # None: this is the first page

    @property
    def ids(self) -> list[str]:
        return [id_ for _, id_ in self.keys]


def parse_sort(types: tuple[str, ...], raw: str | None) -> tuple[SortKey, ...]:
    """`_sort=a,-b`: keys in order, `-` for descending (search.html#sort); with several
    types searched, only parameters common to all of them."""
    if not raw:
        return ()
    keys = []
    for part in raw.split(","):
        code = part.removeprefix("-")
        param = common_parameter(types, code)
        if param is None or param.type not in (*_SORT_COLUMNS, "date") or code in FULLTEXT:
            scope = ", ".join(types) or "every resource type"
            raise invalid(f"_sort: {code!r} is not a sortable parameter of {scope}", "_sort")
        keys.append(SortKey(code, part.startswith("-"), param.type))
    return tuple(keys)


def _date_key(key: SortKey) -> tuple[str, int]:
    """The end of its date rows a resource sorts by (the latest end descending, the
    earliest start ascending) and the key of one without any (last either way)."""
    return ("high", EARLIEST) if key.descending else ("low", LATEST)


def _sort_expression(key: SortKey) -> tuple[str, list[object]]:
    if key.code == "_id":
        return "r.id", []
    if key.code == "_lastUpdated":
        return "r.last_updated", []
    if key.kind == "date":
        column, missing = _date_key(key)
    else:
        column = _SORT_COLUMNS[key.kind]
        textual = key.kind in ("string", "token", "reference", "uri")
        if key.descending:
            missing = _TEXT_FIRST if textual else _NUMBER_FIRST
        else:
            missing = _TEXT_LAST if textual else _NUMBER_LAST
    aggregate = "MAX" if key.descending else "MIN"
    return (
        f"COALESCE((SELECT {aggregate}(s.{column}) FROM {TABLES[key.kind]} s "
        "WHERE s.res_pk = r.pk AND s.param = ?), ?)",
        [key.code, missing],
    )


def encode_cursor(values: list[object]) -> str:
    """An opaque paging token (clients must not build their own)."""
    text = json.dumps(values, separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_cursor(token: str, size: int) -> tuple[bool, list[object]]:
    """(backwards, sort keys and pk of the row the page starts after or ends before)."""
    try:
        values = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except ValueError:
        values = None
    if not isinstance(values, list) or len(values) != size + 1 or values[0] not in ("n", "p"):
        raise invalid("_page is not a paging token of this search", "_page")
    return values[0] == "p", values[1:]


def _columns(keys: tuple[SortKey, ...], backwards: bool) -> list[tuple[str, bool]]:
    """(column, descending) in the order a page reads rows."""
    columns = [(f"q.k{n}", key.descending) for n, key in enumerate(keys)] + [("q.pk", False)]
    return [(column, descending != backwards) for column, descending in columns]


def _after(columns: list[tuple[str, bool]], cursor: list[object]) -> tuple[str, list[object]]:
    """Rows strictly after the cursor in the order of `columns`."""
    alternatives: list[str] = []
    params: list[object] = []
    for n, (column, descending) in enumerate(columns):
        equal = [f"{c} = ?" for c, _ in columns[:n]]
        alternatives.append(
            "(" + " AND ".join([*equal, f"{column} {'<' if descending else '>'} ?"]) + ")"
        )
        params.extend(cursor[: n + 1])
    return "(" + " OR ".join(alternatives) + ")", params


def _walks(sort: tuple[SortKey, ...], cursor: str | None) -> bool:
    """Whether a page may be read by walking its date sort key's index: forwards, and
    not among the resources without a value (those come after all the others)."""
    if len(sort) != 1 or sort[0].kind != "date" or sort[0].code == "_lastUpdated":
        return False
    if cursor is None:
        return True
    backwards, position = decode_cursor(cursor, 2)
    return not backwards and position[0] != _date_key(sort[0])[1]


def page_statement(
    reader: Reader,
    criteria: Criteria,
    sort: tuple[SortKey, ...],
    count: int,
    cursor: str | None,
    walk: bool = True,
) -> tuple[str, list[object], bool]:
    """The statement a page runs: up to count + 1 rows (pk, type, id, sort keys...), its
    parameters and whether it walks the sort key's index (see ember.search.walk)."""
    walks = walk and _walks(sort, cursor)
    driver = choose_driver(reader, criteria, in_page_order=walks or not sort, streams=not sort)
    walks = walks and driver is None
    sort_params: list[object] = []
    if walks:
        source, key_column, params = walk_source(
            criteria, reader.dialect, sort[0].code, sort[0].descending
        )
        selected = ["s.res_pk AS pk", "r.type", "r.id", f"{key_column} AS k0"]
    else:
        source, pk_column, params = page_source(criteria, reader.dialect, driver)
        selected = [f"{pk_column} AS pk", "r.type", "r.id"]
        for n, key in enumerate(sort):
            expression, expression_params = _sort_expression(key)
            selected.append(f"{expression} AS k{n}")
            sort_params.extend(expression_params)
    backwards, position = decode_cursor(cursor, len(sort) + 1) if cursor else (False, [])
    columns = _columns(sort, backwards)
    order = ", ".join(f"{column}{' DESC' if descending else ''}" for column, descending in columns)
    sql = f"SELECT {', '.join(selected)} FROM {source}"
    outer_where, outer_params = "", []
    if cursor is not None:
        outer_where, outer_params = _after(columns, position)
        outer_where = f" WHERE {outer_where}"
    return (
        f"SELECT * FROM ({sql}) q{outer_where} ORDER BY {order} LIMIT ?",
        [*sort_params, *params, *outer_params, count + 1],
        walks,
    )


def find_page(
    reader: Reader,
    criteria: Criteria,
    sort: tuple[SortKey, ...],
    count: int,
    cursor: str | None,
) -> Page:
    sql, params, walked = page_statement(reader, criteria, sort, count, cursor)
    rows = reader.query(sql, params)
    if walked and len(rows) <= count:  # the page reaches resources without a sort value
        rows = reader.query(*page_statement(reader, criteria, sort, count, cursor, False)[:2])
    backwards = decode_cursor(cursor, len(sort) + 1)[0] if cursor else False
    more = len(rows) > count  # beyond this page, in the direction read
    page = rows[:count]
    if backwards:
        page.reverse()
    if not page:
        return Page([], None)
    next_cursor = encode_cursor(["n", *page[-1][3:], page[-1][0]])
    previous_cursor = encode_cursor(["p", *page[0][3:], page[0][0]])
    return Page(
        [(row[1], row[2]) for row in page],
        next_cursor if more or backwards else None,
        previous_cursor if (more if backwards else cursor is not None) else None,
    )


# How each dialect shows the plan of a statement
_EXPLAIN = {"sqlite": "EXPLAIN QUERY PLAN ", "postgresql": "EXPLAIN "}


def explain(
    reader: Reader,
    dialect: str,
    criteria: Criteria,
    sort: tuple[SortKey, ...],
    count: int,
    cursor: str | None,
) -> str:
    """The statement of a page, its parameters and the database's plan for it."""
    sql, params, _ = page_statement(reader, criteria, sort, count, cursor)
    plan = reader.query(_EXPLAIN[dialect] + sql, params)
    steps = "\n".join(" ".join(str(part) for part in row) for row in plan)
    return f"{sql}\nparameters: {params!r}\nplan:\n{steps}"


def count_matches(reader: Reader, criteria: Criteria) -> int:
    # the rows a page reads from: a token that streams is joined, not listed first
    source, _, params = page_source(
        criteria, reader.dialect, choose_driver(reader, criteria, False)
    )
    return int(reader.query(f"SELECT COUNT(*) FROM {source}", params)[0][0])


def estimate_matches(reader: Reader, criteria: Criteria) -> int:
    """`_total=estimate`: PostgreSQL's planner estimate, which reads none of the matches;
    SQLite keeps no estimates, so there it is the count."""
    if reader.dialect != "postgresql":
        return count_matches(reader, criteria)
    condition, params = where(criteria, reader.dialect, choose_driver(reader, criteria, False))
    rows = reader.query(
        f"EXPLAIN (FORMAT JSON) SELECT r.pk FROM resources r WHERE {condition}", params
    )
    return max(0, round(rows[0][0][0]["Plan"]["Plan Rows"]))


def total_of(reader: Reader, criteria: Criteria, estimate: bool, first: Page | None) -> int:
    """The total of a search (exact unless an estimate will do); a first page that ends
    the search already tells it, without counting."""
    if first is not None and first.next_cursor is None:
        return len(first.ids)
    if estimate:
        return estimate_matches(reader, criteria)
    return count_matches(reader, criteria)


def find_ids(reader: Reader, criteria: Criteria, limit: int) -> list[str]:
    """Ids of live resources matching all criteria, at most `limit`, oldest first."""
    return find_page(reader, criteria, (), limit, None).ids
