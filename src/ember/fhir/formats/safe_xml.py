"""Parsing untrusted XML safely (xml.html: no DTDs, because of XXE).

Entities are never resolved, nothing is fetched from the network, no DTD is loaded,
huge documents are refused, and any document with a DOCTYPE is rejected outright,
which also disposes of entity-expansion ("billion laughs") attacks.
"""

from __future__ import annotations

import threading

from lxml import etree


class UnsafeXMLError(ValueError):
    """The bytes are not well-formed XML, or use XML features FHIR forbids."""


_local = threading.local()  # lxml parsers must not be shared between threads


def _parser() -> etree.XMLParser:
    parser = getattr(_local, "parser", None)
    if parser is None:
        parser = _local.parser = etree.XMLParser(
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            dtd_validation=False,
            huge_tree=False,
            remove_comments=True,
            remove_pis=True,
            collect_ids=False,
        )
    return parser


def parse_element(data: bytes) -> etree._Element:
    """The root element of a UTF-8 XML document; UnsafeXMLError if it is malformed,
    has a DOCTYPE, or is in another encoding (xml.html requires UTF-8)."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UnsafeXMLError(f"FHIR XML must be UTF-8 encoded (bad byte at {exc.start})") from None
    if b"<!DOCTYPE" in data:
        raise UnsafeXMLError("DOCTYPE declarations are not allowed in FHIR XML")
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as exc:
        raise UnsafeXMLError(f"the XML is not well-formed: {exc}") from None
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        raise UnsafeXMLError("DOCTYPE declarations are not allowed in FHIR XML")
    if (docinfo.encoding or "UTF-8").upper() not in ("UTF-8", "UTF8", "US-ASCII", "ASCII"):
        raise UnsafeXMLError(f"FHIR XML must be UTF-8 encoded, not {docinfo.encoding}")
    return root
