"""One search value -> an SQL condition over an index row (search.html#ptypes).

Each function takes the alias of the index row (or the resource row for `_id` and
`_lastUpdated`), the parameter as written (for error messages) and one value; it returns
a condition with `?` placeholders and its parameters. Values never enter the SQL text.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from ember.fhir.validation.terminology import Terminology
from ember.search.codes import Codes, UnknownCodes, subsumption_codes, value_set_codes
from ember.search.criteria import invalid, split_values, unescape
from ember.search.dates import approximate, now_micros, parse_range
from ember.search.text import normalize
from ember.search.values import REFERENCE, local_path, to_canonical
from ember.store.base import indexable

Condition = tuple[str, list[object]]

PREFIXES = frozenset({"eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap"})
# Sorts after every other character: `x >= p AND x < p || _LAST` is "starts with p"
# on both backends (code-point order) and can use an index.
_LAST = "\U0010ffff"


def split_prefix(value: str, code: str) -> tuple[str, str]:
    """(prefix, rest) of an ordered value; eq when there is none (search.html#prefix)."""
    head = value[:2]
    if head.isalpha():
        if head not in PREFIXES:
            raise invalid(f"{value!r} of {code!r} has an unknown prefix {head!r}", code)
        return head, value[2:]
    return "eq", value


def date_range(low: str, high: str, prefix: str, start: int, end: int) -> Condition:
    """Row range [low, high) against the search range [start, end). Rows always have
    low < high (per-1 holds for stored Periods), so `low < end` follows from `inside`: it
    bounds the index range searched for eq and le."""
    inside = f"({low} >= ? AND {high} <= ?)"
    bounded = f"{low} < ? AND "
    conditions: dict[str, Condition] = {
        "eq": (f"({bounded}{inside})", [end, start, end]),
        "ne": (f"({low} < ? OR {high} > ?)", [start, end]),
        "gt": (f"{high} > ?", [end]),
        "lt": (f"{low} < ?", [start]),
        "ge": (f"({high} > ? OR {inside})", [end, start, end]),
        "le": (f"({bounded}({low} < ? OR {inside}))", [end, start, start, end]),
        "sa": (f"{low} >= ?", [end]),
        "eb": (f"{high} <= ?", [start]),
        "ap": (f"({low} < ? AND {high} > ?)", [end, start]),
    }
    return conditions[prefix]


def date(low: str, high: str, code: str, value: str) -> Condition:
    prefix, text = split_prefix(value, code)
    try:
        start, end = parse_range(text)
    except ValueError:
        raise invalid(f"{text!r} of {code!r} is not a valid date", code) from None
    if prefix == "ap":
        start, end = approximate(start, end, now_micros())
    return date_range(low, high, prefix, start, end)


def _decimal(text: str, code: str) -> Decimal:
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise invalid(f"{text!r} of {code!r} is not a number", code) from None
    if not number.is_finite():
        raise invalid(f"{text!r} of {code!r} is not a number", code)
    return number


def number_range(column: str, prefix: str, number: Decimal, scale: Decimal) -> Condition:
    """`eq` means within the value's implicit precision (100: [99.5, 100.5)); `scale`
    converts to the column's unit."""
    exponent = number.as_tuple().exponent
    half = Decimal(5).scaleb(int(exponent) - 1) if isinstance(exponent, int) else Decimal(0)
    low, high, exact = (
        float((number - half) * scale),
        float((number + half) * scale),
        float(number * scale),
    )
    margin = abs(exact) * 0.1
    conditions: dict[str, Condition] = {
        "eq": (f"({column} >= ? AND {column} < ?)", [low, high]),
        "ne": (f"({column} < ? OR {column} >= ?)", [low, high]),
        "gt": (f"{column} > ?", [exact]),
        "lt": (f"{column} < ?", [exact]),
        "ge": (f"{column} >= ?", [exact]),
        "le": (f"{column} <= ?", [exact]),
        "sa": (f"{column} > ?", [exact]),
        "eb": (f"{column} < ?", [exact]),
        "ap": (f"({column} >= ? AND {column} <= ?)", [exact - margin, exact + margin]),
    }
    return conditions[prefix]


def number(alias: str, code: str, value: str) -> Condition:
    prefix, text = split_prefix(value, code)
    return number_range(f"{alias}.value", prefix, _decimal(text, code), Decimal(1))


def quantity(alias: str, code: str, value: str) -> Condition:
    """number|system|code, number||code or number; UCUM units compare in canonical form
    (5.4|http://unitsofmeasure.org|mg finds 5400 ug)."""
    parts = [unescape(p) for p in split_values(value, "|")]
    if len(parts) not in (1, 3):
        raise invalid(f"{value!r} of {code!r} is not number|system|code", code)
    prefix, text = split_prefix(parts[0], code)
    amount = _decimal(text, code)
    system, unit = (parts[1] or None, parts[2] or None) if len(parts) == 3 else (None, None)
    converted = to_canonical(Decimal(1), system, unit)
    if converted is not None:
        canonical_unit, factor = converted
        test, params = number_range(
            f"{alias}.canonical_value", prefix, amount, Decimal(str(factor))
        )
        return f"({alias}.canonical_unit = ? AND {test})", [canonical_unit, *params]
    test, params = number_range(f"{alias}.value", prefix, amount, Decimal(1))
    if system is not None:
        test, params = f"{alias}.system = ? AND {test}", [system, *params]
    if unit is not None:
        test, params = f"{alias}.code = ? AND {test}", [unit, *params]
    return f"({test})", params


def starts_with(column: str, prefix: str) -> Condition:
    return f"({column} >= ? AND {column} < ?)", [prefix, prefix + _LAST]


def _like_pattern(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def logical_id(alias: str, id_: str, contained: str) -> Condition:
    """_id on the resource row `alias`, searched as _contained says (see
    ember.search.contained): a contained resource's id is its local one, the `#local`
    ending its row's `Type/id#local` after its container's type and id."""
    own = f"{alias}.id = ?"
    inside = (
        f"({alias}.container IS NOT NULL AND {alias}.id = (SELECT {alias}k.type || '/' || "
        f"{alias}k.id || ? FROM resources {alias}k WHERE {alias}k.pk = {alias}.container))"
    )
    if contained == "false":
        return own, [id_]
    if contained == "true":
        return inside, [f"#{id_}"]
    return f"({own} OR {inside})", [id_, f"#{id_}"]


def string(alias: str, modifier: str | None, value: str) -> Condition:
    text = unescape(value)
    if modifier == "exact":
        return f"{alias}.exact = ?", [indexable(text)]
    if modifier == "contains":
        return f"{alias}.normalized LIKE ? ESCAPE '\\'", [f"%{_like_pattern(normalize(text))}%"]
    return starts_with(f"{alias}.normalized", indexable(normalize(text)))


def token(alias: str, value: str) -> Condition:
    """system|code, |code (no system), system| (any code), code (any system)."""
    parts = split_values(value, "|")
    if len(parts) > 2:
        parts = (parts[0], "|".join(parts[1:]))
    if len(parts) == 1:
        return f"{alias}.code = ?", [indexable(unescape(parts[0]))]
    system, code = indexable(unescape(parts[0])), indexable(unescape(parts[1]))
    conditions: list[str] = []
    params: list[object] = []
    if code:
        conditions.append(f"{alias}.code = ?")
        params.append(code)
    if system:
        conditions.append(f"{alias}.system = ?")
        params.append(system)
    else:
        conditions.append(f"{alias}.system IS NULL")
    return "(" + " AND ".join(conditions) + ")", params


def of_type(alias: str, code: str, value: str) -> Condition:
    """type system|type code|identifier value (search.html#token, :of-type)."""
    parts = [unescape(p) for p in split_values(value, "|")]
    if len(parts) != 3 or not all(parts[1:]):
        raise invalid(f"{value!r} of {code!r} is not system|code|value", code)
    system, type_code, identifier = parts
    test = f"{alias}.code = ? AND " + (
        f"{alias}.system = ?" if system else f"{alias}.system IS NULL"
    )
    return f"({test})", [
        indexable(f"{type_code}|{identifier}"),
        *([indexable(system)] if system else []),
    ]


def _code_set(alias: str, codes: Codes, plain_codes: bool) -> Condition:
    """Rows holding any of `codes`; with `plain_codes`, also rows of a bare code (a `code`
    element has no system: its binding says which one)."""
    by_system: dict[str, list[str]] = {}
    for system, code in sorted(codes):
        by_system.setdefault(system, []).append(code)
    groups = [(f"{alias}.system = ?", [system], found) for system, found in by_system.items()]
    if plain_codes and codes:
        groups.append((f"{alias}.system IS NULL", [], sorted({code for _, code in codes})))
    if not groups:
        return "1 = 0", []
    sql = " OR ".join(
        f"({test} AND {alias}.code IN ({', '.join('?' for _ in found)}))"
        for test, _, found in groups
    )
    return f"({sql})", [p for _, params, found in groups for p in (*params, *found)]


def in_value_set(alias: str, code: str, value: str, terminology: Terminology) -> Condition:
    """`:in` / `:not-in`: the codes of a ValueSet (the caller negates)."""
    try:
        codes = value_set_codes(unescape(value), terminology)
    except UnknownCodes as exc:
        raise invalid(f"{code}: {exc}", code, "not-supported") from None
    return _code_set(alias, codes, plain_codes=True)


def subsumed(alias: str, code: str, value: str, below: bool, terminology: Terminology) -> Condition:
    """`:below` / `:above` system|code: the code and those under (or over) it in the
    hierarchy of a code system."""
    parts = [unescape(p) for p in split_values(value, "|")]
    if len(parts) != 2 or not all(parts):
        raise invalid(f"{value!r} of {code!r} must be system|code", code)
    try:
        codes = subsumption_codes(parts[0], parts[1], below, terminology)
    except UnknownCodes as exc:
        raise invalid(f"{code}: {exc}", code, "not-supported") from None
    return _code_set(alias, codes, plain_codes=False)


def token_text(alias: str, value: str) -> Condition:
    return starts_with(f"{alias}.normalized", indexable(normalize(unescape(value))))


def uri(alias: str, modifier: str | None, value: str) -> Condition:
    text = indexable(unescape(value))
    column = f"{alias}.value"
    if modifier == "below":
        return starts_with(column, text)
    if modifier == "above":  # the stored uri is a prefix of the value
        return f"substr(?, 1, length({column})) = {column}", [text]
    return f"{column} = ?", [text]


def is_url(text: str) -> bool:
    """Whether a reference search value is a URL (or canonical), not an id or Type/id."""
    return "://" in text or text.startswith("urn:")


def reference(
    alias: str, type_modifier: str | None, value: str, local_base: str | None = None
) -> Condition:
    """id, Type/id, an absolute URL (under `local_base`: a Type/id here), or a canonical
    url|version."""
    text = indexable(local_path(unescape(value), local_base))
    if is_url(text):
        url, _, version = text.partition("|")
        if version:
            return f"({alias}.url = ? AND {alias}.target_version = ?)", [url, version]
        return f"{alias}.url = ?", [url.split("/_history/")[0]]
    match = REFERENCE.fullmatch("/" + text)
    if match is not None:
        if type_modifier is not None and match["type"] != type_modifier:
            return "1 = 0", []
        return (
            f"({alias}.target_type = ? AND {alias}.target_id = ?)",
            [match["type"], match["id"]],
        )
    if type_modifier is not None:
        return f"({alias}.target_type = ? AND {alias}.target_id = ?)", [type_modifier, text]
    return f"{alias}.target_id = ?", [text]
