"""The ASGI application: FHIR routing under /fhir, errors as OperationOutcomes."""

from __future__ import annotations

import gc
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from functools import cache
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

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
    for shape, methods in _routes_of_length(len(segments)):
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


@cache
def _routes_of_length(length: int) -> list[tuple[tuple[str, ...], dict[str, Handler]]]:
    """The routes with that many path segments, in table order (fewer to try)."""
    return [(shape, methods) for shape, methods in _ROUTES if len(shape) == length]


# The FHIR base: requests under it go to `_fhir`, others are not found.
_BASE = "/fhir"
Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


class FhirApp:
    """The ASGI application: a thin entry (no middleware or router layers, which took
    a third of a read's time) that opens the store at start-up and hands every request
    under /fhir to the routing table."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.engine: Engine | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path = scope["path"]
            if path == _BASE or path.startswith(_BASE + "/"):
                response = await self._fhir(Request(scope, receive), path[len(_BASE) + 1 :])
            else:
                response = Response("Not Found", 404, media_type="text/plain")
            await response(scope, receive, send)
        elif scope["type"] == "lifespan":
            await self._lifespan(receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    self.engine = Engine(open_store(self.settings.database_url), self.settings)
                except Exception as exc:
                    log.exception("the server could not start")
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                # Start-up objects (definitions, compiled expressions) live as long as
                # the process: the collector need not scan them again and again.
                gc.collect()
                gc.freeze()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self.engine is not None:
                    self.engine.store.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _fhir(self, request: Request, path: str) -> Response:
        ctx: FhirRequest | None = None
        try:
            ctx = FhirRequest.read(request, self.settings)
            engine = self.engine
            assert engine is not None, "requests arrive only after start-up"
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
                engine.check_type(args[0])
            response = await handler(ctx, engine, *args)
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


def create_app(settings: Settings) -> FhirApp:
    return FhirApp(settings)
