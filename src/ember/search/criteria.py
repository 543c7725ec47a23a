"""Search criteria: parsed from query parameters, answered with one SQL statement.

This is the seed of the search engine (search.html): `_id` and the token
parameters that `ember.search.index` indexes. Conditional create/update/delete use
it, so there is one parser for search criteria in the server.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import parse_qsl

from ember.fhir.issues import Issue
from ember.search.index import INDEXED_TOKEN_PARAMETERS
from ember.search.parameters import RESOURCE_LEVEL, SearchParameter, parameter
from ember.store.base import Reader

# Parameters that shape the answer rather than filter it (search.html#other) and that
# this engine applies; the others (_sort, _include, ...) are reported as not supported.
APPLIED_CONTROLS = frozenset({"_count", "_format", "_pretty"})


class InvalidSearch(ValueError):
    """A search the server cannot run as asked; the issue says which parameter."""

    def __init__(self, issue: Issue) -> None:
        super().__init__(issue.diagnostics)
        self.issue = issue


def _invalid(message: str, code: str, issue_code: str = "invalid") -> InvalidSearch:
    return InvalidSearch(Issue("error", issue_code, message, code))


@dataclass(frozen=True, slots=True)
class Criterion:
    code: str
    values: tuple[str, ...]  # alternatives (comma-separated in the query): OR


@dataclass(frozen=True, slots=True)
class Criteria:
    resource_type: str
    criteria: tuple[Criterion, ...]  # all must hold: AND
    ignored: tuple[Issue, ...]  # warnings about parameters that were not applied

    def as_query(self) -> list[tuple[str, str]]:
        # values keep their escapes, so joining them gives back the query as written
        return [(c.code, ",".join(c.values)) for c in self.criteria]


def split_values(raw: str) -> tuple[str, ...]:
    """Split on unescaped commas; `\\,` is a literal comma (search.html#escaping)."""
    values: list[str] = []
    current: list[str] = []
    chars = iter(raw)
    for char in chars:
        if char == "\\":
            current.append(char + next(chars, ""))
        elif char == ",":
            values.append("".join(current))
            current = []
        else:
            current.append(char)
    values.append("".join(current))
    return tuple(values)


def _split_token(value: str) -> tuple[str | None, str | None]:
    """system|code, |code (no system: ""), system| (any code: None), code (any system)."""
    index = 0
    while index < len(value):
        char = value[index]
        if char == "\\":
            index += 2
            continue
        if char == "|":
            return _unescape(value[:index]), _unescape(value[index + 1 :]) or None
        index += 1
    return None, _unescape(value)


def _unescape(value: str) -> str:
    return value.replace("\\,", ",").replace("\\|", "|").replace("\\$", "$").replace("\\\\", "\\")


def supported_parameters(resource_type: str) -> list[SearchParameter]:
    """The search parameters of a type this engine applies (for the CapabilityStatement)."""
    found = [parameter(resource_type, code) for code in sorted(RESOURCE_LEVEL)]
    found += [parameter(resource_type, code) for code in sorted(INDEXED_TOKEN_PARAMETERS)]
    return [p for p in found if p is not None]


def _is_supported(resource_type: str, code: str) -> bool:
    return code in RESOURCE_LEVEL or (
        code in INDEXED_TOKEN_PARAMETERS and parameter(resource_type, code) is not None
    )


def parse(
    resource_type: str,
    query: str | Sequence[tuple[str, str]],
    *,
    strict: bool,
) -> Criteria:
    """Parse search parameters; unknown ones are errors if strict, else ignored with a
    warning. Raises InvalidSearch."""
    pairs = parse_qsl(query, keep_blank_values=True) if isinstance(query, str) else list(query)
    criteria: list[Criterion] = []
    ignored: list[Issue] = []
    for code, raw in pairs:
        if code in APPLIED_CONTROLS:
            continue
        if _is_supported(resource_type, code):
            if raw == "":
                raise _invalid(f"Search parameter {code!r} has an empty value", code)
            criteria.append(Criterion(code, split_values(raw)))
            continue
        message = f"Search parameter {code!r} is not supported for {resource_type}"
        if strict:
            raise _invalid(message, code, "not-supported")
        ignored.append(Issue("warning", "not-supported", message + "; it was ignored", code))
    return Criteria(resource_type, tuple(criteria), tuple(ignored))


def _sql(criteria: Criteria) -> tuple[str, list[object]]:
    clauses = ["r.type = ?", "r.deleted = ?"]
    params: list[object] = [criteria.resource_type, False]
    for criterion in criteria.criteria:
        if criterion.code == "_id":
            clauses.append(f"r.id IN ({', '.join('?' for _ in criterion.values)})")
            params.extend(_unescape(v) for v in criterion.values)
            continue
        alternatives: list[str] = []
        for value in criterion.values:
            system, code = _split_token(value)
            parts = ["t.param = ?"]
            params.append(criterion.code)
            if code is not None:
                parts.append("t.code = ?")
                params.append(code)
            if system == "":
                parts.append("t.system IS NULL")
            elif system is not None:
                parts.append("t.system = ?")
                params.append(system)
            alternatives.append("(" + " AND ".join(parts) + ")")
        clauses.append(
            "EXISTS (SELECT 1 FROM token_index t WHERE t.res_pk = r.pk AND ("
            + " OR ".join(alternatives)
            + "))"
        )
    return " AND ".join(clauses), params


def find_ids(reader: Reader, criteria: Criteria, limit: int) -> list[str]:
    """Ids of live resources matching all criteria, at most `limit`, oldest first."""
    where, params = _sql(criteria)
    rows = reader.query(
        f"SELECT r.id FROM resources r WHERE {where} ORDER BY r.pk LIMIT ?", [*params, limit]
    )
    return [row[0] for row in rows]
