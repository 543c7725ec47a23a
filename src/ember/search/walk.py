"""Pages sorted by one date parameter, read in the order of its index.

A sorted page otherwise works out the sort key of every match and sorts them all, which
grows with the data. When no criterion is selective, walking the parameter's date rows
in key order (pk order within a key, as pages are ordered: schema v11) and probing each
row's resource against the criteria stops once the page is full. A resource's key is
its latest end (descending) or earliest start (ascending): the walk keeps the one row
of the resource holding it (rows of one parameter of one resource are distinct).
Resources without a value sort after all others; a page reaching them is read the
general way (ember.search.query).
"""

from __future__ import annotations

from ember.search.criteria import Criteria
from ember.search.plan import TABLES, Statement, where


def walk_source(
    criteria: Criteria, dialect: str, code: str, descending: bool
) -> tuple[str, str, list[object]]:
    """FROM and WHERE of a page query over resource row `r` read from date row `s` in
    key order, the sort key column and the parameters."""
    table = TABLES["date"]
    if descending:  # the latest end; of equal ends the earliest start
        key, before = "s.high", "(t.high > s.high OR (t.high = s.high AND t.low < s.low))"
    else:  # the earliest start; of equal starts the earliest end
        key, before = "s.low", "(t.low < s.low OR (t.low = s.low AND t.high < s.high))"
    condition, params = where(criteria, dialect, None)
    return (
        f"{table} s JOIN resources r ON r.pk = s.res_pk WHERE s.param = ? "
        f"AND NOT EXISTS (SELECT 1 FROM {table} t WHERE t.res_pk = s.res_pk "
        f"AND t.param = s.param AND {before}{Statement(dialect).probe_end}) AND {condition}",
        key,
        [code, *params],
    )
