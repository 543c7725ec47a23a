"""htmlChecks(): the narrative rules of narrative.html, big narratives included."""

from __future__ import annotations

import pytest

from ember.fhir.fhirpath.narrative import html_checks

OPEN = '<div xmlns="http://www.w3.org/1999/xhtml">'


@pytest.mark.parametrize(
    ("xhtml", "valid"),
    [
        (OPEN + "<p>Hi</p></div>", True),
        (OPEN + "<!-- note -->a<br/>b</div>", True),
        (OPEN + '<p title="a>b">x</p></div>', True),
        (OPEN + '<img src="a.png"/></div>', True),
        (OPEN + "&lt;script&gt;</div>", True),  # text, not an element
        (OPEN + "</div>", False),  # no content
        (OPEN + "&#160;</div>", False),  # whitespace only
        (OPEN + "caf&#xE9; &amp; tea</div>", True),
        (OPEN + "&reg; 2020</div>", False),  # an HTML entity, not XML
        (OPEN + "fish & chips</div>", False),  # a bare ampersand
        ("<div>a</div>", False),  # not in the XHTML namespace
        ('<p xmlns="http://www.w3.org/1999/xhtml">a</p>', False),
        ("x" + OPEN + "a</div>", False),
        (OPEN + "a</div>tail", False),
        (OPEN + "a</div>" + OPEN + "b</div>", False),
        (OPEN + "<font>a</font></div>", False),
        (OPEN + "<script>x()</script></div>", False),
        (OPEN + '<p onclick="x()">a</p></div>', False),
        (OPEN + '<a href=" JavaScript:x()">a</a></div>', False),
        (OPEN + "<a href='&#106;avascript:x()'>a</a></div>", False),
    ],
)
def test_narrative_rules(xhtml: str, valid: bool) -> None:
    assert html_checks(xhtml) is valid


def test_big_narratives_are_checked_and_remembered() -> None:
    rows = "".join(f"<tr><td>row {i}</td><td><b>{i}</b></td></tr>" for i in range(500))
    good = OPEN + f"<table>{rows}</table></div>"
    bad = OPEN + f'<table>{rows}</table><p onmouseover="x()">x</p></div>'
    for _ in range(2):  # the second time from the cache, with the same verdicts
        assert html_checks(good) is True
        assert html_checks(bad) is False
