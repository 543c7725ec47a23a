"""Version ids, ETags and server timestamps (versioning.html, http.html#concurrency)."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from functools import lru_cache

from ember.engine.errors import bad_request

_ETAG = re.compile(r'^\s*(?:W/)?"?([^"\s]+)"?\s*$')


def etag(version: int) -> str:
    return f'W/"{version}"'


def parse_etag(header: str, name: str = "If-Match") -> int:
    """The version number an If-Match / If-None-Match header names."""
    match = _ETAG.match(header)
    if not match or not match.group(1).isdigit():
        raise bad_request(f'{name} must be an ETag like W/"3", got {header!r}', name)
    return int(match.group(1))


def now_micros() -> int:
    # Millisecond resolution: the stored value is exactly what meta.lastUpdated says.
    return time.time_ns() // 1_000_000 * 1000


def instant(micros: int) -> str:
    """FHIR instant text of a server timestamp: 2026-11-21T10:00:00.123Z."""
    moment = datetime.fromtimestamp(micros / 1_000_000, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def http_date(micros: int) -> str:
    """RFC 7231 date for Last-Modified."""
    return _http_date_of_second(micros // 1_000_000)


@lru_cache(maxsize=4096)
def _http_date_of_second(seconds: int) -> str:
    # resources written in the same second share it: formatting is done once
    return datetime.fromtimestamp(seconds, UTC).strftime("%a, %d %b %Y %H:%M:%S GMT")


def parse_http_date(value: str) -> int | None:
    try:
        moment = datetime.strptime(value.strip(), "%a, %d %b %Y %H:%M:%S GMT")
    except ValueError:
        return None
    return int(moment.replace(tzinfo=UTC).timestamp()) * 1_000_000


def not_modified(
    version: int, last_updated: int, if_none_match: str | None, modified_since: int | None
) -> bool:
    """Whether a conditional read is answered with 304 (RFC 7232: If-None-Match wins).

    `modified_since` is in µs; the comparison is to the second, as HTTP dates are."""
    if if_none_match is not None:
        tags = [t.strip() for t in if_none_match.split(",")]
        return "*" in tags or any(parse_etag(t, "If-None-Match") == version for t in tags)
    if modified_since is not None:
        return last_updated // 1_000_000 * 1_000_000 <= modified_since
    return False
