"""What a handler needs to know about a FHIR request, read once from the HTTP request."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from starlette.requests import Request

from ember.api.formats import Format, request_format, response_format
from ember.config import Settings
from ember.engine.errors import FhirError, bad_request

# Prefer: return=... values (http.html#return)
RETURN_MINIMAL = "minimal"
RETURN_REPRESENTATION = "representation"
RETURN_OUTCOME = "OperationOutcome"


# Clients send the same few Accept headers again and again.
_negotiate = lru_cache(maxsize=256)(response_format)


def _prefer(header: str | None) -> dict[str, str]:
    prefs: dict[str, str] = {}
    if header is None:
        return prefs
    for item in header.split(","):
        for part in item.split(";"):
            key, _, value = part.strip().partition("=")
            if key:
                prefs[key.lower()] = value.strip().strip('"')
    return prefs


@dataclass(slots=True)
class FhirRequest:
    request: Request
    settings: Settings
    query: list[tuple[str, str]]
    format: Format
    pretty: bool
    prefer_return: str
    strict: bool

    @classmethod
    def read(cls, request: Request, settings: Settings) -> FhirRequest:
        # the query string is parsed only when there is one (plain reads have none)
        query = list(request.query_params.multi_items()) if request.scope["query_string"] else []
        accept = prefer = None
        for name, value in request.scope["headers"]:  # one pass; the first of each counts
            if name == b"accept" and accept is None:
                accept = value.decode("latin-1")
            elif name == b"prefer" and prefer is None:
                prefer = value.decode("latin-1")
        format_param = next((v for k, v in query if k == "_format"), None)
        fmt = _negotiate(format_param, accept)
        pretty_values = [v for k, v in query if k == "_pretty"]
        if pretty_values and pretty_values[-1] not in ("true", "false"):
            raise bad_request("_pretty must be true or false", "_pretty")
        prefs = _prefer(prefer)
        prefer_return = prefs.get("return", RETURN_REPRESENTATION)
        if prefer_return not in (RETURN_MINIMAL, RETURN_REPRESENTATION, RETURN_OUTCOME):
            prefer_return = RETURN_REPRESENTATION
        handling = prefs.get("handling")
        strict = handling == "strict" or (handling != "lenient" and settings.strict_handling)
        return cls(
            request=request,
            settings=settings,
            query=query,
            format=fmt,
            pretty=bool(pretty_values) and pretty_values[-1] == "true",
            prefer_return=prefer_return,
            strict=strict,
        )

    def header(self, name: bytes) -> str | None:
        """The first value of a header (`name` in lower case), read from the ASGI scope:
        cheaper than Request.headers for a header most requests lack."""
        for key, value in self.request.scope["headers"]:
            if key == name:
                return value.decode("latin-1")
        return None

    def param(self, name: str) -> str | None:
        """The value of a query parameter that may appear at most once."""
        return single(self.query, name)

    @property
    def base_url(self) -> str:
        if self.settings.base_url:
            return self.settings.base_url.rstrip("/")
        return str(self.request.base_url).rstrip("/") + "/fhir"

    async def body(self) -> tuple[Format, object]:
        """The parsed request body (400 if missing or malformed, 413 if too large)."""
        fmt = request_format(self.request.headers.get("content-type"))
        data = await self.raw_body()
        try:
            return fmt, fmt.parse(data)
        except ValueError as exc:
            raise FhirError.of(
                400, "structure", f"The body is not valid {fmt.name}: {exc}"
            ) from None

    async def raw_body(self) -> bytes:
        """The request body's bytes (400 if empty, 413 if over the configured limit)."""
        limit = self.settings.max_body_bytes
        declared = self.request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > limit:
            raise _too_large(limit)
        chunks = []
        size = 0
        async for chunk in self.request.stream():
            size += len(chunk)
            if size > limit:
                raise _too_large(limit)
            chunks.append(chunk)
        data = b"".join(chunks)
        if not data.strip():
            raise bad_request("The request has no body")
        return data


def _too_large(limit: int) -> FhirError:
    return FhirError.of(413, "too-costly", f"The request body is larger than {limit} bytes")


def single(pairs: Sequence[tuple[str, str]], name: str) -> str | None:
    """The value of a parameter that may appear at most once among `pairs` (a query,
    or a query and a POST _search body); an empty value counts as absent
    (search.html#errors: empty parameters are ignored)."""
    values = [v for k, v in pairs if k == name]
    if len(values) > 1:
        raise bad_request(f"Parameter {name} may appear only once", name)
    return values[0] if values and values[0] != "" else None
