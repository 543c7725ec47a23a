"""The narrative rules behind htmlChecks() (FHIR R4 narrative.html, Narrative.div): one
root `<div>` in the XHTML namespace, only the basic formatting elements, no active
content, some text or an image. One regex scan over the tags (no parser, no entity
resolution beyond the text and attribute values it reads)."""

from __future__ import annotations

import hashlib
import html
import re

XHTML_NAMESPACE = "http://www.w3.org/1999/xhtml"
# the basic formatting elements of HTML 4.0 chapters 7-11 and 15, plus a and img
_ALLOWED_ELEMENTS = frozenset(
    {
        "a",
        "abbr",
        "acronym",
        "address",
        "b",
        "bdo",
        "big",
        "blockquote",
        "br",
        "caption",
        "cite",
        "code",
        "col",
        "colgroup",
        "dd",
        "del",
        "dfn",
        "div",
        "dl",
        "dt",
        "em",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "hr",
        "i",
        "img",
        "ins",
        "kbd",
        "li",
        "ol",
        "p",
        "pre",
        "q",
        "samp",
        "small",
        "span",
        "strong",
        "sub",
        "sup",
        "table",
        "tbody",
        "td",
        "tfoot",
        "th",
        "thead",
        "tr",
        "tt",
        "ul",
        "var",
    }
)


# One scan over the markup: comments, CDATA, declarations and processing instructions
# (skipped), and tags with their attributes (quoted values may hold ">")
_TOKEN = re.compile(
    r"<(?:!--.*?-->|!\[CDATA\[.*?\]\]>|[!?][^>]*>"
    r"|(/?)([A-Za-z][A-Za-z0-9:_.-]*)((?:[^>\"']+|\"[^\"]*\"|'[^']*')*)>)",
    re.S,
)
_ATTRIBUTE = re.compile(r"""([^\s=/]+)(?:\s*=\s*("[^"]*"|'[^']*'|[^\s"'>]+))?""")
# attributes worth reading closely: an event handler, a script URL, or an entity that
# could spell one
_SUSPICIOUS = re.compile(r"(?:^|[\s/'\"])on|javascript|&", re.IGNORECASE)
# "&" that does not start one of XML's five entities or a character reference
_NOT_XML_ENTITY = re.compile(r"&(?!(?:amp|lt|gt|quot|apos|#[0-9]+|#x[0-9a-fA-F]+);)")
_VOID = frozenset({"br", "hr", "img", "col"})
# Narratives at least this long are remembered by digest: resources are often written
# again with the same (generated) narrative
_CACHED_FROM = 2048
_CACHE_SIZE = 1024
_verdicts: dict[bytes, bool] = {}


def html_checks(xhtml: str) -> bool:
    """True if the XHTML is a single xhtml-namespaced div of allowed, inert content."""
    if len(xhtml) < _CACHED_FROM:
        return check_narrative(xhtml)
    key = hashlib.blake2b(xhtml.encode("utf-8", "surrogatepass"), digest_size=16).digest()
    verdict = _verdicts.get(key)
    if verdict is None:
        if len(_verdicts) >= _CACHE_SIZE:
            _verdicts.clear()
        verdict = _verdicts[key] = check_narrative(xhtml)
    return verdict


def check_narrative(xhtml: str) -> bool:
    """htmlChecks() without the cache."""
    if _NOT_XML_ENTITY.search(xhtml):
        return False  # XHTML is XML: no HTML entities (&nbsp;), no bare "&"
    depth = roots = 0
    has_content = False
    position = 0
    for token in _TOKEN.finditer(xhtml):
        # once there is content, only text outside the root matters
        start = token.start()
        if (
            start > position
            and (depth == 0 or not has_content)
            and _has_text(xhtml[position:start])
        ):
            if depth == 0:
                return False  # text outside the root div
            has_content = True
        position = token.end()
        tag = token.group(2)
        if tag is None:
            continue  # a comment, CDATA or declaration
        tag = tag.lower()
        if token.group(1):
            depth -= 1
            continue
        attributes = token.group(3)
        self_closing = attributes.rstrip().endswith("/")
        if depth == 0:
            roots += 1
            if tag != "div" or _attribute(attributes, "xmlns") != XHTML_NAMESPACE:
                return False
        if tag not in _ALLOWED_ELEMENTS or not _inert(attributes):
            return False
        if tag == "img":
            has_content = True
        if not self_closing and tag not in _VOID:
            depth += 1
    if _has_text(xhtml[position:]) and depth == 0:
        return False
    return roots == 1 and has_content


def _has_text(text: str) -> bool:
    if "&" in text:
        text = html.unescape(text)
    return bool(text.strip())


def _attributes(attributes: str) -> list[tuple[str, str]]:
    found = []
    for match in _ATTRIBUTE.finditer(attributes.rstrip("/")):
        value = match.group(2) or ""
        if value[:1] in ("'", '"'):
            value = value[1:-1]
        found.append((match.group(1).lower(), html.unescape(value) if "&" in value else value))
    return found


def _attribute(attributes: str, name: str) -> str | None:
    return next((v for n, v in _attributes(attributes) if n == name), None)


def _inert(attributes: str) -> bool:
    """No active content: event handlers or script URLs."""
    if not _SUSPICIOUS.search(attributes):
        return True
    return not any(
        name.startswith("on") or value.strip().lower().startswith("javascript:")
        for name, value in _attributes(attributes)
    )
