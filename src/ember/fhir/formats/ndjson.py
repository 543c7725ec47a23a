"""Newline-delimited JSON (nd-json.html, bulk data): one resource per line.

Used by bulk export and import and by `ember load`. Reading streams line by line, so
files larger than memory work; every problem names its line. Writing stored resources
needs no parse: the stored form is compact JSON, which never holds a raw line break.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from ember.fhir.formats import json as fhir_json

MEDIA_TYPE = "application/fhir+ndjson"


class NDJSONFormatError(ValueError):
    """A line is not a FHIR resource in JSON; the message names the line."""


def iter_parse(lines: Iterable[bytes | str]) -> Iterator[dict[str, Any]]:
    """The resources of an NDJSON stream (a file opened in binary mode, a list of lines,
    ...), in order. Blank lines are skipped; anything else must be a resource."""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            resource = fhir_json.parse(line)
        except ValueError as exc:
            raise NDJSONFormatError(f"line {number}: {exc}") from None
        if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
            raise NDJSONFormatError(f"line {number}: not a FHIR resource (no resourceType)")
        yield resource


def parse(data: bytes | str) -> list[dict[str, Any]]:
    """All resources of an NDJSON document."""
    return list(iter_parse(data.splitlines()))


def iter_dumps(resources: Iterable[dict[str, Any]]) -> Iterator[bytes]:
    """One line (ending in a line feed) per resource."""
    for resource in resources:
        yield fhir_json.dumps(resource) + b"\n"


def dumps(resources: Iterable[dict[str, Any]]) -> bytes:
    return b"".join(iter_dumps(resources))


def iter_stored_lines(contents: Iterable[bytes]) -> Iterator[bytes]:
    """Lines for resources already held as JSON bytes (the stored form), unparsed
    unless a body is not on one line (hand-written or pretty JSON)."""
    for content in contents:
        if b"\n" in content or b"\r" in content:
            content = fhir_json.dumps(fhir_json.parse(content))
        yield content + b"\n"
