"""What an element stands for in each kind of search index (search.html#ptypes).

FHIRPath gives plain values: strings, numbers, Date/DateTime objects, or the JSON dict
of a complex element. The shape of a dict tells its datatype well enough for search.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import suppress
from decimal import Decimal, InvalidOperation
from typing import Any

from ember.fhir.fhirpath import Quantity
from ember.fhir.fhirpath.ucum import canonical
from ember.search.dates import EARLIEST, LATEST, parse_range

UCUM = "http://unitsofmeasure.org"

# ContactPoint.system names a channel, not a code system: token searches ignore it.
_CONTACT_SYSTEMS = frozenset({"phone", "fax", "email", "pager", "url", "sms", "other"})
# The parts of a HumanName or Address a string search matches.
_NAME_PARTS = ("text", "family", "given", "prefix", "suffix")
_ADDRESS_PARTS = ("text", "line", "city", "district", "state", "postalCode", "country")
# Type/id, optionally /_history/version, at the end of a relative or absolute reference.
REFERENCE = re.compile(
    r"(?:^|/)(?P<type>[A-Z][A-Za-z]+)/(?P<id>[A-Za-z0-9\-.]{1,64})"
    r"(?:/_history/(?P<version>[A-Za-z0-9\-.]{1,64}))?$"
)


def strings(item: Any) -> Iterator[str]:
    if isinstance(item, str):
        yield item
    elif isinstance(item, dict):
        parts = _NAME_PARTS if "family" in item or "given" in item else _ADDRESS_PARTS
        for key in parts if any(k in item for k in parts) else item:
            value = item.get(key)
            for part in value if isinstance(value, list) else [value]:
                if isinstance(part, str):
                    yield part


def tokens(item: Any) -> Iterator[tuple[str | None, str]]:
    """(system, code) pairs a value stands for, by its shape (search.html#token)."""
    if isinstance(item, bool):
        yield None, "true" if item else "false"
    elif isinstance(item, str):
        yield None, item
    elif isinstance(item, dict):
        if "coding" in item:  # CodeableConcept
            for coding in item["coding"]:
                yield from tokens(coding)
        elif isinstance(item.get("code"), str):  # Coding
            yield item.get("system"), item["code"]
        elif isinstance(item.get("value"), str):  # Identifier, ContactPoint
            system = item.get("system")
            yield (None if system in _CONTACT_SYSTEMS else system), item["value"]


def token_texts(item: Any) -> Iterator[str]:
    """The texts `:text` searches: CodeableConcept.text, Coding.display, Identifier.type.text."""
    if isinstance(item, dict):
        for key in ("text", "display"):
            if isinstance(item.get(key), str):
                yield item[key]
        for coding in item.get("coding", ()):
            yield from token_texts(coding)
        if isinstance(item.get("type"), dict):
            yield from token_texts(item["type"])


def dates(item: Any) -> Iterator[tuple[int, int]]:
    """[low, high) in µs: a date's precision is the range it covers; a Period's open end
    is unbounded; a Timing covers its events."""
    if isinstance(item, dict):
        if "start" in item or "end" in item:
            low = parse_range(item["start"])[0] if "start" in item else EARLIEST
            high = parse_range(item["end"])[1] if "end" in item else LATEST
            yield low, high
        elif "event" in item:
            ranges = [parse_range(event) for event in item["event"]]
            yield min(r[0] for r in ranges), max(r[1] for r in ranges)
    elif item is not None and not isinstance(item, (bool, int, float, Decimal)):
        # a string alternative of a choice ("January 2012") is not a date
        with suppress(ValueError):
            yield parse_range(str(item))


def number(value: Any) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def numbers(item: Any) -> Iterator[float]:
    found = number(item)
    if found is not None:
        yield float(found)


def to_canonical(value: Decimal, system: str | None, code: str | None) -> tuple[str, float] | None:
    """(canonical unit, value in it) for a UCUM quantity (5 mg -> g, 0.005)."""
    if system != UCUM or not code:
        return None
    found = canonical(code)
    if found is None:
        return None
    factor, dimension = found
    unit = ".".join(f"{base}{exponent}" for base, exponent in dimension)
    return unit, float(value * factor)


def quantities(
    item: Any,
) -> Iterator[tuple[str | None, str | None, float, str | None, float | None]]:
    """(system, code, value, canonical unit, canonical value)."""
    if isinstance(item, Quantity):
        value, system, code = number(item.value), UCUM, item.unit
    elif isinstance(item, dict):
        value, system, code = number(item.get("value")), item.get("system"), item.get("code")
        code = code or item.get("unit")
    else:
        return
    if value is None:
        return
    converted = to_canonical(value, system, code)
    yield (
        system,
        code,
        float(value),
        converted[0] if converted else None,
        converted[1] if converted else None,
    )


def local_path(reference: str, local_base: str | None) -> str:
    """An absolute URL under this server's base as the path after it (Type/id); any
    other reference as it is."""
    if local_base:
        prefix = local_base.rstrip("/") + "/"
        if reference.startswith(prefix):
            return reference[len(prefix) :]
    return reference


def references(
    item: Any, local_base: str | None = None
) -> Iterator[tuple[str | None, str | None, str | None, str]]:
    """(target type, target id, target version, url as written, without a |version).
    An absolute URL to another server names no resource here (references.html):
    only its url is indexed."""
    if isinstance(item, dict):
        written = item.get("reference")
        if not isinstance(written, str):
            return
        path = local_path(written, local_base)
        match = REFERENCE.search(path)
        if match is None:
            yield None, None, None, written
        elif "://" in path:  # another server's resource
            yield None, None, match["version"], path.split("/_history/")[0]
        else:
            yield match["type"], match["id"], match["version"], path.split("/_history/")[0]
    elif isinstance(item, str):  # canonical or uri
        url, _, version = item.partition("|")
        yield None, None, version or None, url


def identifier_types(item: Any) -> Iterator[tuple[str | None, str]]:
    """(type system, "type code|value") of an Identifier, which `:of-type` searches."""
    if isinstance(item, dict) and isinstance(item.get("value"), str):
        for coding in (item.get("type") or {}).get("coding", ()):
            if isinstance(coding.get("code"), str):
                yield coding.get("system"), f"{coding['code']}|{item['value']}"


def reference_identifiers(item: Any) -> Iterator[tuple[str | None, str]]:
    """(system, value) of Reference.identifier, which `:identifier` searches."""
    if isinstance(item, dict) and isinstance(item.get("identifier"), dict):
        yield from tokens(item["identifier"])


def uris(item: Any) -> Iterator[str]:
    if isinstance(item, str):
        yield item
