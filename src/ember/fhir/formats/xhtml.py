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
    """Where the elements of a parsed document are written in its source bytes.

    Work is done lazily and only as far as needed: the markup is scanned up to the end
    of the element asked for, so a narrative near the top costs little."""

    def __init__(self, data: bytes, root: etree._Element) -> None:
        self._data = data
        self._elements = enumerate(root.iter())  # document order, as the markup
        self._positions: dict[etree._Element, int] = {}
        self._markup = _MARKUP.finditer(data)
        self._spans: list[list[int]] = []  # [start, end]; end is -1 while still open
        self._open: list[int] = []

    def text_of(self, element: etree._Element) -> str:
        """The element's source text, start tag to end tag inclusive."""
        index = self._position(element)
        while index >= len(self._spans) or self._spans[index][1] < 0:
            self._scan_next_tag()
        start, end = self._spans[index]
        return self._data[start:end].decode("utf-8")

    def _position(self, element: etree._Element) -> int:
        while element not in self._positions:
            position, seen = next(self._elements)
            self._positions[seen] = position
        return self._positions[element]

    def _scan_next_tag(self) -> None:
        for markup in self._markup:
            closing, empty = markup.group(1), markup.group(2)
            if closing is None:
                continue  # comment, CDATA or processing instruction
            if closing:
                self._spans[self._open.pop()][1] = markup.end()
            elif empty:
                self._spans.append([markup.start(), markup.end()])
            else:
                self._open.append(len(self._spans))
                self._spans.append([markup.start(), -1])
            return
        raise ValueError("the markup ended before the element did")


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
