"""Building FHIR HTTP responses: resources, bundles and OperationOutcomes with the
headers http.html asks for."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.responses import Response

from ember.api.context import RETURN_MINIMAL, RETURN_OUTCOME, FhirRequest
from ember.api.formats import JSON, Format
from ember.engine.errors import FhirError, operation_outcome
from ember.engine.interactions import WriteResult
from ember.engine.versioning import etag, http_date
from ember.fhir.formats import json as fhir_json
from ember.fhir.issues import Issue
from ember.store.base import StoredVersion

Transform = Callable[[dict[str, Any]], dict[str, Any]]


def encode(resource: dict[str, Any], fmt: Format, pretty: bool) -> bytes:
    return fmt.dumps(resource, pretty=pretty)


def stored_body(
    content: bytes, fmt: Format, pretty: bool, transform: Transform | None = None
) -> bytes:
    """The bytes of a stored resource in the wanted form; plain JSON is sent as stored."""
    if fmt.name == "json" and not pretty and transform is None:
        return content
    resource = fhir_json.parse(content)
    if transform is not None:
        resource = transform(resource)
    return encode(resource, fmt, pretty)


def version_headers(stored: StoredVersion) -> dict[str, str]:
    return {"ETag": etag(stored.version), "Last-Modified": http_date(stored.last_updated)}


def resource_response(
    ctx: FhirRequest,
    stored: StoredVersion,
    status: int = 200,
    headers: dict[str, str] | None = None,
    transform: Transform | None = None,
) -> Response:
    assert stored.content is not None
    all_headers = {**version_headers(stored), **(headers or {})}
    body = stored_body(stored.content, ctx.format, ctx.pretty, transform)
    return Response(body, status, all_headers, media_type=ctx.format.content_type)


def write_response(ctx: FhirRequest, result: WriteResult, message: str) -> Response:
    """The answer to create/update/patch: body as `Prefer: return=` asks; the outcome
    also lists the validation issues that did not stop the write (http.html#ops)."""
    stored, status = result.stored, result.status
    location = f"{ctx.base_url}/{stored.type}/{stored.id}/_history/{stored.version}"
    headers = {**version_headers(stored), "Location": location, "Content-Location": location}
    if ctx.prefer_return == RETURN_MINIMAL:
        return Response(b"", status, headers)
    if ctx.prefer_return == RETURN_OUTCOME:
        return outcome_response(
            ctx, [Issue("information", "informational", message), *result.issues], status, headers
        )
    return resource_response(ctx, stored, status, headers)


def json_response(
    ctx: FhirRequest,
    resource: dict[str, Any],
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    return Response(
        encode(resource, ctx.format, ctx.pretty),
        status,
        headers,
        media_type=ctx.format.content_type,
    )


def outcome_response(
    ctx: FhirRequest | None,
    issues: list[Issue],
    status: int,
    headers: dict[str, str] | None = None,
) -> Response:
    fmt = ctx.format if ctx is not None else JSON
    pretty = ctx.pretty if ctx is not None else False
    return Response(
        encode(operation_outcome(issues), fmt, pretty),
        status,
        headers,
        media_type=fmt.content_type,
    )


def error_response(ctx: FhirRequest | None, error: FhirError) -> Response:
    return outcome_response(ctx, error.issues, error.status, error.headers)
