"""Result parameters that shape a search's answer: _sort, _total, _summary, _elements,
_page (search.html#return). Filters are in `ember.search.criteria`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ember.search import contained
from ember.search.criteria import INCLUDE_NAMES, invalid
from ember.search.include import Include, parse_include
from ember.search.query import SortKey, parse_sort

TOTAL_MODES = frozenset({"none", "estimate", "accurate"})


@dataclass(frozen=True, slots=True)
class Controls:
    sort: tuple[SortKey, ...] = ()
    written_sort: str | None = None
    total: str | None = None  # none, estimate or accurate
    summary: str | None = None  # _summary as written; count: the total and no entries
    elements: str | None = None
    page: str | None = None  # the cursor of a next link
    includes: tuple[Include, ...] = ()
    explain: bool = False  # __explain=true: the query plan as an information issue
    contained: tuple[tuple[str, str], ...] = ()  # _contained(Type) as written

    @property
    def contained_mode(self) -> str:
        """true, false or both: whether contained resources are searched (and others)."""
        return dict(self.contained).get("_contained", "false")

    @property
    def returns_containers(self) -> bool:
        """Whether contained matches are answered with their containers (the default)."""
        return dict(self.contained).get("_containedType", "container") == "container"

    @property
    def count_only(self) -> bool:
        return self.summary == "count"

    @property
    def wants_total(self) -> bool:
        return self.count_only or self.total in ("estimate", "accurate")

    def as_query(self) -> list[tuple[str, str]]:
        """The applied result parameters, for Bundle links (without the page cursor)."""
        applied: list[tuple[str, str]] = []
        if self.written_sort:
            applied.append(("_sort", self.written_sort))
        if self.total:
            applied.append(("_total", self.total))
        if self.summary:
            applied.append(("_summary", self.summary))
        if self.elements:
            applied.append(("_elements", self.elements))
        applied += [include.written() for include in self.includes]
        applied += self.contained
        if self.explain:
            applied.append(("__explain", "true"))
        return applied


def _contained(found: dict[str, str]) -> tuple[tuple[str, str], ...]:
    """_contained / _containedType (search.html#contained) as written, checked."""
    mode, kind = found.get("_contained"), found.get("_containedType")
    if mode is not None and mode not in contained.MODES:
        raise invalid(f"_contained must be true, false or both, got {mode!r}", "_contained")
    if kind is not None and kind not in contained.RETURNS:
        raise invalid(
            f"_containedType must be container or contained, got {kind!r}", "_containedType"
        )
    written = (("_contained", mode), ("_containedType", kind))
    return tuple((name, value) for name, value in written if value is not None)


def parse_controls(types: tuple[str, ...], pairs: Sequence[tuple[str, str]]) -> Controls:
    """Read the result parameters this module applies; raises InvalidSearch."""
    found = dict(pairs)  # a repeated result parameter: the last one counts
    total = found.get("_total") or None  # empty: ignored
    if total is not None and total not in TOTAL_MODES:
        raise invalid(f"_total must be none, estimate or accurate, got {total!r}", "_total")
    # repeated _sort keys follow one another, as in one comma-separated list
    written_sort = ",".join(v for k, v in pairs if k == "_sort" and v) or None
    summary = found.get("_summary") or None
    includes = tuple(parse_include(name, value) for name, value in pairs if name in INCLUDE_NAMES)
    if summary == "text" and includes:
        raise invalid("_include and _revinclude cannot be mixed with _summary=text", "_summary")
    return Controls(
        contained=_contained(found),
        sort=parse_sort(types, written_sort),
        written_sort=written_sort,
        total=total,
        summary=summary,
        elements=found.get("_elements") or None,
        page=found.get("_page") or None,
        explain=found.get("__explain") == "true",
        includes=includes,
    )
