"""The narrative rules behind htmlChecks() (FHIR R4 narrative.html, Narrative.div)."""

from __future__ import annotations

from html.parser import HTMLParser

XHTML_NAMESPACE = "http://www.w3.org/1999/xhtml"
# the basic formatting elements of HTML 4.0 chapters 7-11 and 15, plus a and img
_ALLOWED_ELEMENTS = frozenset(
    {
        "a", "abbr", "acronym", "address", "b", "bdo", "big", "blockquote", "br", "caption",
        "cite", "code", "col", "colgroup", "dd", "del", "dfn", "div", "dl", "dt", "em", "h1", "h2",
        "h3", "h4", "h5", "h6", "hr", "i", "img", "ins", "kbd", "li", "ol", "p", "pre", "q",
        "samp", "small", "span", "strong", "sub", "sup", "table", "tbody", "td", "tfoot", "th",
        "thead", "tr", "tt", "ul", "var",
    }
)


class _Checker(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.valid = True
        self.depth = 0
        self.roots = 0
        self.has_content = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._element(tag, attrs)
        if tag not in ("br", "hr", "img", "col"):
            self.depth += 1

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._element(tag, attrs)

    def _element(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.depth == 0:
            self.roots += 1
            if tag != "div" or (dict(attrs).get("xmlns") != XHTML_NAMESPACE):
                self.valid = False
        if tag not in _ALLOWED_ELEMENTS:
            self.valid = False
        for name, value in attrs:
            # no active content: event handlers or script URLs
            if name.startswith("on") or (value or "").strip().lower().startswith("javascript:"):
                self.valid = False
        if tag == "img":
            self.has_content = True

    def handle_endtag(self, tag: str) -> None:
        self.depth -= 1

    def handle_data(self, data: str) -> None:
        if self.depth == 0 and data.strip():
            self.valid = False  # text outside the root div
        if data.strip():
            self.has_content = True


def html_checks(xhtml: str) -> bool:
    """True if the XHTML is a single xhtml-namespaced div of allowed, inert content."""
    checker = _Checker()
    checker.feed(xhtml)
    checker.close()
    return checker.valid and checker.roots == 1 and checker.has_content
