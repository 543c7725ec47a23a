"""The narrative `div` between XML (an XHTML element) and JSON (the same XHTML as an
escaped string, narrative.html).

XML parsers forget how text was written (`&quot;` or `"`, `<br/>` or `<br />`), but
the JSON string is compared character for character, so the div is taken from the
XML source text exactly as written, and written into XML exactly as the string is.
"""

from __future__ import annotations

import copy
import re
from functools import lru_cache

from lxml import etree

from ember.fhir.formats.layout import XHTML_NAMESPACE
from ember.fhir.formats.safe_xml import parse_element

XHTML_DIV = f"{{{XHTML_NAMESPACE}}}div"

# Markup of well-formed XML (the document has been parsed already): comments, CDATA
# and processing instructions are skipped; group 1 marks end tags, group 2 empty tags.
_MARKUP = re.compile(
    rb"<!--.*?-->|<!\[CDATA\[.*?\]\]>|<\?.*?\?>"
    rb"|<(/?)[^\s/>!?]+(?:[^'\"/>]|\"[^\"]*\"|'[^']*'|/(?!>))*(/?)>",
    re.S,
)
_DIV_START = re.compile(r"<(?:[A-Za-z_][\w.-]*:)?div[\s/>]")


class SourceSpans:
    """Where each element of a parsed document is written in its source bytes."""

    def __init__(self, data: bytes, root: etree._Element) -> None:
        self._data = data
        self._root = root
        self._spans: list[list[int]] | None = None
        self._positions: dict[etree._Element, int] = {}

    def text_of(self, element: etree._Element) -> str:
        """The element's source text, start tag to end tag inclusive."""
        if self._spans is None:
            self._spans = _element_spans(self._data)
            self._positions = {e: i for i, e in enumerate(self._root.iter())}
        start, end = self._spans[self._positions[element]]
        return self._data[start:end].decode("utf-8")


def _element_spans(data: bytes) -> list[list[int]]:
    # One [start, end] per element in document order, as lxml's iter() yields them.
    spans: list[list[int]] = []
    open_elements: list[int] = []
    for markup in _MARKUP.finditer(data):
        closing, empty = markup.group(1), markup.group(2)
        if closing is None:
            continue  # comment, CDATA or processing instruction
        if closing:
            spans[open_elements.pop()][1] = markup.end()
        else:
            spans.append([markup.start(), markup.end()])
            if not empty:
                open_elements.append(len(spans) - 1)
    return spans


def div_from_xml(div: etree._Element, spans: SourceSpans) -> str:
    """The JSON string of a narrative div element."""
    written = spans.text_of(div)
    # The source text stands alone unless it borrows namespace prefixes from its
    # ancestors; then it is serialised with the declarations it needs.
    if _is_standalone_div(written):
        return written
    standalone = copy.deepcopy(div)
    standalone.tail = None
    etree.cleanup_namespaces(standalone)  # drop the FHIR default it inherited
    return etree.tostring(standalone, encoding=str)


@lru_cache(maxsize=1024)
def _is_standalone_div(text: str) -> bool:
    if not _DIV_START.match(text):
        return False  # an XML declaration or other lead-in cannot go mid-document
    try:
        return parse_element(text.encode("utf-8")).tag == XHTML_DIV
    except ValueError:
        return False


def div_for_xml(text: str) -> str:
    """A narrative JSON string checked to be an XHTML div that can be written into XML
    verbatim; ValueError otherwise."""
    if not _is_standalone_div(text):
        raise ValueError("the narrative div is not a well-formed <div> in the XHTML namespace")
    return text
