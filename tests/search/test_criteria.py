"""Parsing search criteria: escaping, OR values, unknown parameters."""

from __future__ import annotations

import pytest

from ember.search.criteria import InvalidSearch, parse, split_values


def test_split_values_honours_escapes() -> None:
    assert split_values("a,b") == ("a", "b")
    assert split_values(r"a\,b,c") == (r"a\,b", "c")


def test_parse_keeps_supported_and_warns_about_others() -> None:
    found = parse("Patient", "identifier=s|1,s|2&_id=x&foo=1&_count=5", strict=False)
    assert [(c.code, c.values) for c in found.criteria] == [
        ("identifier", ("s|1", "s|2")),
        ("_id", ("x",)),
    ]
    assert [i.expression for i in found.ignored] == ["foo"]
    assert found.as_query() == [("identifier", "s|1,s|2"), ("_id", "x")]
    escaped = parse("Patient", r"identifier=a\,b|c", strict=False)
    assert escaped.as_query() == [("identifier", r"a\,b|c")]


def test_strict_and_empty_values() -> None:
    with pytest.raises(InvalidSearch) as strict:
        parse("Patient", "foo=1", strict=True)
    assert strict.value.issue.expression == "foo"
    # empty parameters are not an error, they are ignored (search.html#errors)
    empty = parse("Patient", "identifier=&foo=&_id=x", strict=True)
    assert empty.as_query() == [("_id", "x")] and empty.ignored == ()
