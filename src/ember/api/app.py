"""The ASGI application: FHIR routing under /fhir, errors as OperationOutcomes."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ember.api import handlers
from ember.api.context import FhirRequest
from ember.api.responses import error_response, outcome_response
from ember.config import Settings
from ember.engine.errors import FhirError
from ember.engine.interactions import Engine
from ember.fhir.issues import Issue
from ember.store import open_store

log = logging.getLogger("ember.api")

Handler = Callable[..., Awaitable[Response]]
# (path shape, {method: handler}); shape items are literals or "{type}", "{id}", "{vid}",
# or "{op}" for an operation name ("$validate"), the only place a "$" segment matches
_OPERATION = {"GET": handlers.operation, "POST": handlers.operation}
_ROUTES: list[tuple[tuple[str, ...], dict[str, Handler]]] = [
    (("metadata",), {"GET": handlers.capabilities}),
    (("{op}",), _OPERATION),
    (("{type}", "{op}"), _OPERATION),
    (("{type}", "{id}", "{op}"), _OPERATION),
    (("_history",), {"GET": handlers.system_history}),
    ((), {"GET": handlers.system_search, "POST": handlers.batch_or_transaction}),
    (("_search",), {"POST": handlers.system_search_post}),
    (
        ("{type}",),
        {
            "GET": handlers.search,
            "POST": handlers.create,
            "PUT": handlers.conditional_update,
            "DELETE": handlers.conditional_delete,
            "PATCH": handlers.conditional_patch,
        },
    ),
    (("{type}", "_search"), {"POST": handlers.search_post}),
    (("{type}", "_history"), {"GET": handlers.type_history}),
    (
        ("{type}", "{id}"),
        {
            "GET": handlers.read,
            "PUT": handlers.update,
            "DELETE": handlers.delete,
            "PATCH": handlers.patch,
        },
    ),
    (("{type}", "{id}", "_history"), {"GET": handlers.instance_history}),
    (("{type}", "{id}", "_history", "{vid}"), {"GET": handlers.vread}),
    # compartment searches: [Compartment]/[id]/[type] or [Compartment]/[id]/*
    (("{type}", "{id}", "{type}"), {"GET": handlers.compartment_search}),
    (("{type}", "{id}", "{type}", "_search"), {"POST": handlers.compartment_search_post}),
]


def _match(segments: list[str]) -> tuple[dict[str, Handler], list[str]] | None:
    for shape, methods in _ROUTES:
        if len(shape) != len(segments):
            continue
        args: list[str] = []
        for expected, actual in zip(shape, segments, strict=True):
            if expected == "{op}":
                if not actual.startswith("$"):
                    break
                args.append(actual)
            elif expected.startswith("{"):
                if actual.startswith(("_", "$")):
                    break
                args.append(actual)
            elif expected != actual:
                break
        else:
            return methods, args
    return None


def create_app(settings: Settings) -> Starlette:
    state: dict[str, Engine] = {}

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        store = open_store(settings.database_url)
        state["engine"] = Engine(store, settings)
        try:
            yield
        finally:
            store.close()

    async def fhir(request: Request) -> Response:
        ctx: FhirRequest | None = None
        try:
            ctx = FhirRequest.read(request, settings)
            path = request.path_params.get("path", "")
            segments = [s for s in path.split("/") if s]
            found = _match(segments)
            if found is None:
                return outcome_response(
                    ctx, [Issue("error", "not-found", f"No FHIR endpoint at /fhir/{path}")], 404
                )
            methods, args = found
            method = "GET" if request.method == "HEAD" else request.method
            handler = methods.get(method)
            if handler is None:
                allowed = ", ".join(sorted(methods))
                return outcome_response(
                    ctx,
                    [
                        Issue(
                            "error",
                            "not-supported",
                            f"{request.method} is not allowed on /fhir/{path}; allowed: {allowed}",
                        )
                    ],
                    405,
                    {"Allow": allowed},
                )
            if args and not args[0].startswith("$"):
                state["engine"].check_type(args[0])
            response = await handler(ctx, state["engine"], *args)
            if request.method == "HEAD":
                # Same headers (Content-Length included), no body.
                return Response(status_code=response.status_code, headers=response.headers)
            return response
        except FhirError as error:
            return error_response(ctx, error)
        except Exception:
            # Internals stay in the log, never in the answer.
            log.exception("unexpected error in %s %s", request.method, request.url.path)
            return outcome_response(
                ctx,
                [Issue("fatal", "exception", "An unexpected error occurred; it has been logged")],
                500,
            )

    methods = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]
    routes = [
        Route("/fhir", fhir, methods=methods),
        Route("/fhir/{path:path}", fhir, methods=methods),
    ]
    return Starlette(routes=routes, lifespan=lifespan)
