"""Content negotiation (http.html#mime-type, formats.html): which representation a
request is in and which one the client wants back.

JSON, XML and RDF Turtle; `_format` and Accept take the MIME types and short names
http.html lists (plus the pre-STU3 `application/json+fhir` and `application/xml+fhir`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from ember.engine.errors import FhirError
from ember.fhir.formats import json as fhir_json
from ember.fhir.formats import turtle as fhir_turtle
from ember.fhir.formats import xml as fhir_xml


@dataclass(frozen=True, slots=True)
class Format:
    name: str  # the short _format value
    mime: str  # the FHIR MIME type we answer with
    accepted: frozenset[str]  # MIME types and _format values that select it
    parse: Callable[[bytes], Any] | None  # None: the server writes it but does not read it
    dumps: Callable[..., bytes]

    @property
    def content_type(self) -> str:
        return f"{self.mime}; charset=utf-8"


JSON = Format(
    name="json",
    mime="application/fhir+json",
    accepted=frozenset(
        {"json", "application/fhir+json", "application/json", "text/json", "application/json+fhir"}
    ),
    parse=fhir_json.parse,
    dumps=fhir_json.dumps,
)

XML = Format(
    name="xml",
    mime="application/fhir+xml",
    accepted=frozenset(
        {"xml", "application/fhir+xml", "application/xml", "text/xml", "application/xml+fhir"}
    ),
    parse=fhir_xml.parse,
    dumps=fhir_xml.dumps,
)

TURTLE = Format(
    name="ttl",
    mime="application/fhir+turtle",
    accepted=frozenset({"ttl", "application/fhir+turtle", "text/turtle"}),
    parse=None,
    dumps=fhir_turtle.dumps,
)

FORMATS: tuple[Format, ...] = (JSON, XML, TURTLE)
_BY_NAME = {name: f for f in FORMATS for name in f.accepted}
# A client asking for a generic MIME type in Accept gets it back, with the FHIR format as
# its representation (http.html#mime-type: the server SHOULD respond with it).
_GENERIC = ("application/json", "text/json", "application/xml", "text/xml")
_ACCEPTED = {**_BY_NAME, **{mime: replace(_BY_NAME[mime], mime=mime) for mime in _GENERIC}}
_READABLE_BY_NAME = {name: f for name, f in _BY_NAME.items() if f.parse is not None}

# FHIR versions this server speaks, as the fhirVersion MIME parameter names them.
FHIR_VERSION_PARAMETERS = frozenset({"4.0", "4.0.1"})


def _split_media_range(item: str) -> tuple[str, dict[str, str]]:
    kind, *params = (p.strip() for p in item.split(";"))
    parameters = {}
    for param in params:
        key, _, value = param.partition("=")
        parameters[key.strip().lower()] = value.strip().strip('"')
    return kind.lower(), parameters


def _check_fhir_version(params: dict[str, str]) -> bool:
    version = params.get("fhirversion")
    return version is None or version in FHIR_VERSION_PARAMETERS


def response_format(format_param: str | None, accept: str | None) -> Format:
    """The format to answer in: `_format` wins over Accept; 406 if none is supported."""
    if format_param:
        kind, params = _split_media_range(format_param)
        found = _BY_NAME.get(kind) or _BY_NAME.get(format_param.strip().lower())
        if found is None or not _check_fhir_version(params):
            raise FhirError.of(
                406, "not-supported", f"_format {format_param!r} is not supported by this server"
            )
        return found
    if not accept:
        return JSON
    ranked: list[tuple[float, int, Format]] = []
    for position, item in enumerate(accept.split(",")):
        kind, params = _split_media_range(item)
        try:
            quality = float(params.get("q", "1"))
        except ValueError:
            quality = 1.0
        if quality <= 0 or not _check_fhir_version(params):
            continue
        if kind in ("*/*", "application/*"):
            ranked.append((quality, -position, JSON))
        elif kind in _ACCEPTED:
            ranked.append((quality, -position, _ACCEPTED[kind]))
    if not ranked:
        supported = ", ".join(f.mime for f in FORMATS)
        raise FhirError.of(
            406, "not-supported", f"Accept {accept!r} names no format this server has ({supported})"
        )
    return max(ranked, key=lambda r: (r[0], r[1]))[2]


def request_format(content_type: str | None) -> Format:
    """The format of a request body; 415 if it is not one we read."""
    if not content_type:
        return JSON  # clients that omit Content-Type nearly always send JSON
    kind, params = _split_media_range(content_type)
    found = _READABLE_BY_NAME.get(kind)
    if found is None or not _check_fhir_version(params):
        raise FhirError.of(
            415, "not-supported", f"Content-Type {content_type!r} is not supported by this server"
        )
    return found
