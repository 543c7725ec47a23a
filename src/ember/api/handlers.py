"""One handler per FHIR interaction: read the request, call the engine, answer."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from ember.api.capability import capability_statement
from ember.api.context import RETURN_MINIMAL, RETURN_OUTCOME, FhirRequest, single
from ember.api.responses import (
    Transform,
    json_response,
    outcome_response,
    resource_response,
    version_headers,
    write_response,
)
from ember.engine import bundles
from ember.engine.batch import process_bundle
from ember.engine.errors import FhirError, bad_request
from ember.engine.interactions import Engine, Patcher
from ember.engine.scopes import ALL_IN_COMPARTMENT
from ember.engine.versioning import etag, not_modified, parse_http_date
from ember.fhir import subset
from ember.fhir.formats import json as fhir_json
from ember.fhir.issues import Issue
from ember.fhir.patch.fhirpath_patch import apply_fhirpath_patch
from ember.fhir.patch.json_patch import apply_json_patch
from ember.fhir.validation import validate_resource
from ember.operations import Invocation, find
from ember.operations import definition as operation_definition
from ember.search.dates import parse_range
from ember.store.base import HistoryQuery, StoredVersion

JSON_PATCH = "application/json-patch+json"


def _embed(ctx: FhirRequest) -> bundles.Embed:
    return orjson.Fragment if ctx.format.name == "json" and not ctx.pretty else fhir_json.parse


def _output_parameters(ctx: FhirRequest) -> list[tuple[str, str]]:
    """_format and _pretty as asked: kept in a Bundle's links, so that following them
    answers in the same format (a browser's Accept header would say otherwise)."""
    return [(k, v) for k, v in ctx.query if k in ("_format", "_pretty")]


def _count(ctx: FhirRequest, raw: str | None) -> int:
    if raw is None:
        return ctx.settings.default_count
    if not raw.isdigit():
        raise bad_request(f"_count must be a non-negative integer, got {raw!r}", "_count")
    return min(int(raw), ctx.settings.max_count)


def _read_transform(ctx: FhirRequest, engine: Engine) -> Transform | None:
    """_summary / _elements of a read (most reads have no query at all)."""
    if not ctx.query:
        return None
    return _subset_transform(engine, ctx.param("_summary"), ctx.param("_elements"))


def _subset_transform(
    engine: Engine, summary: str | None, elements: str | None
) -> Transform | None:
    """What _summary or _elements (read from the query, or a search's query and body)
    leave of a resource; None: all of it."""
    if summary is not None and elements is not None:
        raise bad_request("_summary and _elements cannot be used together", "_summary")
    if summary is not None:
        if summary not in subset.SUMMARY_MODES or summary == "count":
            raise bad_request(
                f"_summary must be one of true, text, data, false here; got {summary!r}",
                "_summary",
            )
        if summary == "false":
            return None
        return lambda resource: subset.summary(resource, summary, engine.model)
    if elements is not None:
        names = [n.strip() for n in elements.split(",") if n.strip()]
        return lambda resource: subset.elements(resource, names, engine.model)
    return None


# -- instance level ----------------------------------------------------------------------


async def read(ctx: FhirRequest, engine: Engine, type_: str, id_: str) -> Response:
    transform = _read_transform(ctx, engine)
    try:
        stored = await engine.read_async(type_, id_)
    except FhirError as error:
        shipped = _served_operation(engine, type_, id_) if error.status == 404 else None
        if shipped is None:
            raise
        return json_response(ctx, transform(shipped) if transform else shipped)
    if _not_modified(ctx, stored):
        return Response(b"", 304, version_headers(stored))
    return resource_response(ctx, stored, transform=transform)


def _served_operation(engine: Engine, type_: str, id_: str) -> dict[str, Any] | None:
    """The shipped definition of an operation Ember serves, when not stored instead."""
    if type_ != "OperationDefinition":
        return None
    return operation_definition(engine.model.version, id_)


async def _point_read(
    engine: Engine, read: Callable[..., StoredVersion], *args: str
) -> StoredVersion:
    """A read by id: inline where the store says that is cheaper than a worker thread,
    else in the thread pool so the event loop never waits on the database."""
    if engine.store.inline_point_reads:
        return read(*args)
    return await run_in_threadpool(read, *args)


def _not_modified(ctx: FhirRequest, stored: StoredVersion) -> bool:
    since = ctx.header(b"if-modified-since")
    return not_modified(
        stored.version,
        stored.last_updated,
        ctx.header(b"if-none-match"),
        parse_http_date(since) if since is not None else None,
    )


async def vread(ctx: FhirRequest, engine: Engine, type_: str, id_: str, vid: str) -> Response:
    transform = _read_transform(ctx, engine)
    stored = await _point_read(engine, engine.vread, type_, id_, vid)
    return resource_response(ctx, stored, transform=transform)


async def update(ctx: FhirRequest, engine: Engine, type_: str, id_: str) -> Response:
    _, resource = await ctx.body()
    result = await run_in_threadpool(
        engine.update, type_, id_, resource, ctx.request.headers.get("if-match")
    )
    verb = "created" if result.created else "updated"
    return write_response(ctx, result, f"{type_}/{id_} {verb}")


async def delete(ctx: FhirRequest, engine: Engine, type_: str, id_: str) -> Response:
    result = await run_in_threadpool(engine.delete, type_, id_, ctx.request.headers.get("if-match"))
    message = f"{type_}/{id_} deleted" if result else f"{type_}/{id_} did not exist; nothing to do"
    headers = {"ETag": etag(result.stored.version)} if result else {}
    return _delete_response(ctx, message, headers)


def _delete_response(ctx: FhirRequest, message: str, headers: dict[str, str]) -> Response:
    # A delete has no representation: 204, unless the client asks for an outcome.
    if ctx.prefer_return == RETURN_OUTCOME:
        return outcome_response(ctx, [Issue("information", "informational", message)], 200, headers)
    return Response(b"", 204, headers)


async def _patch_body(ctx: FhirRequest, engine: Engine) -> Patcher:
    """The patch a request carries, by its Content-Type (http.html#patch): JSON Patch,
    or FHIRPath Patch as a Parameters resource in a FHIR format."""
    content_type = (ctx.request.headers.get("content-type") or "").split(";")[0].strip().lower()
    if content_type == JSON_PATCH:
        try:
            document = fhir_json.parse(await ctx.raw_body())
        except ValueError as exc:
            raise bad_request(f"The JSON Patch document is not valid JSON: {exc}") from None
        return lambda resource: apply_json_patch(resource, document)
    if content_type:
        _, parameters = await ctx.body()  # 415 unless a FHIR format we read
        return lambda resource: apply_fhirpath_patch(engine.model, resource, parameters)
    raise FhirError.of(
        415,
        "not-supported",
        f"PATCH takes {JSON_PATCH} (JSON Patch) or a FHIRPath Patch Parameters resource",
    )


async def patch(ctx: FhirRequest, engine: Engine, type_: str, id_: str) -> Response:
    patcher = await _patch_body(ctx, engine)
    result = await run_in_threadpool(
        engine.patch, type_, id_, patcher, ctx.request.headers.get("if-match")
    )
    return write_response(ctx, result, f"{type_}/{id_} patched")


async def conditional_patch(ctx: FhirRequest, engine: Engine, type_: str) -> Response:
    patcher = await _patch_body(ctx, engine)
    result = await run_in_threadpool(
        engine.conditional_patch,
        type_,
        str(ctx.request.url.query),
        patcher,
        ctx.request.headers.get("if-match"),
    )
    return write_response(ctx, result, f"{type_}/{result.stored.id} patched")


async def instance_history(ctx: FhirRequest, engine: Engine, type_: str, id_: str) -> Response:
    return await _history(ctx, engine, f"{type_}/{id_}/_history", type_, id_)


# -- operations --------------------------------------------------------------------------

_LEVELS = ("system", "type", "instance")
# parameters that shape the answer, not the operation's input (http.html#parameters)
_RESULT_PARAMETERS = frozenset({"_format", "_pretty", "_summary", "_elements"})


def _check_parameters_shell(engine: Engine, body: dict[str, Any]) -> None:
    """A Parameters body must be well formed (400 if not); the resources it carries are
    the operation's business (e.g. $validate reports their problems as its answer)."""
    parameters = body.get("parameter")
    shell = body
    if isinstance(parameters, list):
        shell = {
            **body,
            "parameter": [
                {k: v for k, v in p.items() if k != "resource"} if isinstance(p, dict) else p
                for p in parameters
            ],
        }
    issues = validate_resource(shell, engine.model, max_depth=engine.settings.max_depth)
    errors = [i for i in issues if i.severity in ("error", "fatal")]
    if errors:
        raise FhirError(400, errors)


async def operation(ctx: FhirRequest, engine: Engine, *args: str) -> Response:
    """`[base]/$op`, `[type]/$op`, `[type]/[id]/$op` (operations.html#invoking)."""
    *where, name = args
    level = _LEVELS[len(where)]
    found = find(name[1:])
    if found is None or level not in found.levels:
        at = f" at {level} level" if found is not None else ""
        raise FhirError.of(404, "not-supported", f"Unknown operation {name}{at}")
    if ctx.request.method == "GET" and found.affects_state:
        raise FhirError.of(405, "not-supported", f"{name} changes data: use POST")
    parameters: dict[str, list[object]] = {}
    for key, value in ctx.query:
        if key not in _RESULT_PARAMETERS:
            parameters.setdefault(key, []).append(value)
    resource = None
    headers = ctx.request.headers
    has_body = headers.get("content-length", "0") != "0" or "transfer-encoding" in headers
    if ctx.request.method == "POST" and has_body:
        _, body = await ctx.body()
        if isinstance(body, dict) and body.get("resourceType") == "Parameters":
            _check_parameters_shell(engine, body)
            for entry in body.get("parameter", ()):
                if isinstance(entry, dict) and isinstance(entry.get("name"), str):
                    parameters.setdefault(entry["name"], []).append(entry)
        elif isinstance(body, dict):
            resource = body
        else:
            raise bad_request("The body must be a FHIR resource or a Parameters resource")
    type_ = where[0] if where else None
    id_ = where[1] if len(where) > 1 else None
    invocation = Invocation(level, type_, id_, parameters, resource)
    result = await run_in_threadpool(found.run, engine, invocation)
    return json_response(ctx, result)


# -- type level --------------------------------------------------------------------------


async def create(ctx: FhirRequest, engine: Engine, type_: str) -> Response:
    _, resource = await ctx.body()
    result = await run_in_threadpool(
        engine.create, type_, resource, ctx.request.headers.get("if-none-exist")
    )
    stored = result.stored
    message = (
        f"{type_}/{stored.id} created"
        if result.changed
        else f"If-None-Exist matched {type_}/{stored.id}; nothing created"
    )
    return write_response(ctx, result, message)


async def conditional_update(ctx: FhirRequest, engine: Engine, type_: str) -> Response:
    _, resource = await ctx.body()
    query = str(ctx.request.url.query)
    result = await run_in_threadpool(
        engine.conditional_update, type_, query, resource, ctx.request.headers.get("if-match")
    )
    verb = "created" if result.created else "updated"
    return write_response(ctx, result, f"{type_}/{result.stored.id} {verb}")


async def conditional_delete(ctx: FhirRequest, engine: Engine, type_: str) -> Response:
    results = await run_in_threadpool(engine.conditional_delete, type_, str(ctx.request.url.query))
    if len(results) == 1:
        headers = {"ETag": etag(results[0].stored.version)}
        message = f"{type_}/{results[0].stored.id} deleted"
    else:
        headers = {}
        message = f"{len(results)} {type_} resources deleted"
    return _delete_response(ctx, message, headers)


async def search(ctx: FhirRequest, engine: Engine, type_: str) -> Response:
    return await _search(ctx, engine, type_, type_)


async def search_post(ctx: FhirRequest, engine: Engine, type_: str) -> Response:
    return await _search(ctx, engine, type_, type_, await _form(ctx))


async def compartment_search(
    ctx: FhirRequest, engine: Engine, code: str, id_: str, type_: str
) -> Response:
    """`[Compartment]/[id]/[type]` or `[Compartment]/[id]/*` (http.html#vsearch)."""
    return await _compartment_search(ctx, engine, code, id_, type_, [])


async def compartment_search_post(
    ctx: FhirRequest, engine: Engine, code: str, id_: str, type_: str
) -> Response:
    return await _compartment_search(ctx, engine, code, id_, type_, await _form(ctx))


async def _compartment_search(
    ctx: FhirRequest, engine: Engine, code: str, id_: str, type_: str, form: list
) -> Response:
    engine.check_id(id_)
    if type_ != ALL_IN_COMPARTMENT:
        engine.check_type(type_)
    return await _search(ctx, engine, f"{code}/{id_}/{type_}", type_, form, (code, id_))


async def _form(ctx: FhirRequest) -> list[tuple[str, str]]:
    """The parameters of a POST _search body (http.html#search)."""
    content_type = ctx.request.headers.get("content-type", "")
    if not content_type.startswith("application/x-www-form-urlencoded"):
        raise bad_request("POST _search takes an application/x-www-form-urlencoded body")
    # parsed here rather than by Starlette, which would need python-multipart for forms
    body = (await ctx.request.body()).decode("utf-8", errors="replace")
    return parse_qsl(body, keep_blank_values=True)


async def _search(
    ctx: FhirRequest,
    engine: Engine,
    path: str,
    type_: str | None,
    form: list | None = None,
    compartment: tuple[str, str] | None = None,
) -> Response:
    """A searchset answer; `path` (after the base) is where its links point."""
    pairs = ctx.query + (form or [])
    raw_count = single(pairs, "_count")
    count = _count(ctx, raw_count)
    summary, elements = single(pairs, "_summary"), single(pairs, "_elements")
    transform = None if summary == "count" else _subset_transform(engine, summary, elements)
    result = await run_in_threadpool(
        engine.search_page, type_, pairs, ctx.strict, count, None, compartment
    )
    applied = [
        *((name, value) for name, value in pairs if name == "_type"),
        *result.criteria.as_query(),
        *result.controls.as_query(),
    ]
    if raw_count is not None:
        applied.append(("_count", str(count)))
    applied += _output_parameters(ctx)
    embed = include_embed = _embed(ctx)
    if transform is not None:

        def embed(content: bytes) -> object:
            return transform(fhir_json.parse(content))

        if elements is None:  # _elements does not apply to included resources (#elements)
            include_embed = embed

    # the self link names the page it answers (http.html#paging), first and the others
    # are made from `applied` with their own cursors
    page = [("_page", result.controls.page)] if result.controls.page else []
    included = [
        {
            "fullUrl": f"{ctx.base_url}/{version.type}/{version.id}",
            "resource": include_embed(version.content),
            "search": {"mode": "include"},
        }
        for version in result.included
        if version.content is not None
    ]
    bundle = bundles.searchset_bundle(
        ctx.base_url,
        path,
        [*applied, *page],
        result.versions,
        result.total,
        [*result.criteria.ignored, *result.warnings],
        embed,
        included,
    )
    bundles.add_page_links(
        bundle,
        ctx.base_url,
        path,
        applied,
        {"next": result.next_cursor, "previous": result.previous_cursor},
    )
    return json_response(ctx, bundle)


async def type_history(ctx: FhirRequest, engine: Engine, type_: str) -> Response:
    return await _history(ctx, engine, f"{type_}/_history", type_, None)


# -- system level ----------------------------------------------------------------------


async def batch_or_transaction(ctx: FhirRequest, engine: Engine) -> Response:
    _, bundle = await ctx.body()
    # Entries carry their resources only when asked: large ingests stay lean.
    prefer = ctx.prefer_return if "prefer" in ctx.request.headers else RETURN_MINIMAL
    response = await run_in_threadpool(process_bundle, engine, bundle, ctx.base_url, prefer)
    return json_response(ctx, response)


async def system_search(ctx: FhirRequest, engine: Engine) -> Response:
    """`[base]?_type=A,B&...`: a search across types (search.html#_type)."""
    return await _search(ctx, engine, "", None)


async def system_search_post(ctx: FhirRequest, engine: Engine) -> Response:
    return await _search(ctx, engine, "", None, await _form(ctx))


async def system_history(ctx: FhirRequest, engine: Engine) -> Response:
    return await _history(ctx, engine, "_history", None, None)


async def capabilities(ctx: FhirRequest, engine: Engine) -> Response:
    mode = ctx.param("mode") or "full"
    if mode not in ("full", "normative", "terminology"):
        raise bad_request(f"mode must be full, normative or terminology; got {mode!r}", "mode")
    return json_response(ctx, capability_statement(engine, ctx.base_url, mode))


# -- shared ------------------------------------------------------------------------------


def _instant_param(ctx: FhirRequest, name: str) -> tuple[int, int] | None:
    raw = ctx.param(name)
    if raw is None:
        return None
    try:
        return parse_range(raw)
    except ValueError as exc:
        raise bad_request(f"{name}: {exc}", name) from None


async def _history(
    ctx: FhirRequest, engine: Engine, path: str, type_: str | None, id_: str | None
) -> Response:
    since = _instant_param(ctx, "_since")
    at = _instant_param(ctx, "_at")
    page = ctx.param("_page")
    before = bundles.decode_cursor(page) if page else None
    if page and before is None:
        raise bad_request("_page is not a paging token this server issued", "_page")
    count = _count(ctx, ctx.param("_count"))
    query = HistoryQuery(
        type=type_,
        id=id_,
        since=since[0] if since else None,
        at_start=at[0] if at else None,
        at_end=at[1] if at else None,
        before_seq=before,
        count=count + 1,  # one more tells whether there is a next page
    )
    versions = await run_in_threadpool(engine.history, query)
    total = None
    if ctx.param("_total") == "accurate":
        total = await run_in_threadpool(engine.count_history, query)
    applied = [(k, v) for k, v in ctx.query if k in ("_count", "_since", "_at", "_page", "_total")]
    applied += _output_parameters(ctx)
    bundle = bundles.history_bundle(
        ctx.base_url, path, applied, versions[:count], len(versions) > count, total, _embed(ctx)
    )
    return json_response(ctx, bundle)
