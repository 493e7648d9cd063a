"""The FastAPI application: assembles the routers, limits, error handling and logging."""

from __future__ import annotations

import json
import logging
import time

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.explorer import router as explorer_router
from api.node import problems
from api.node.runtime import Serving
from api.server.routers import chain, events, exchange, offers, ops, records, statements
from api.wallet.routes import router as wallet_router
from ledger.limits import request_bytes_max

log = logging.getLogger("jifentong.access")
#: Where /docs and /redoc find their scripts and styles (served by this node).
DOCS_STATIC = "/static-docs"

DESCRIPTION = """\
积分通 **Jifentong** node API. Merchants and customers submit records they signed themselves
(the node holds no customer key); anyone reads programs, rates, balances, blocks and proofs.
Errors are `application/problem+json` with a stable `code`. See docs/API.md.
"""


NOSNIFF = (b"x-content-type-options", b"nosniff")


class LimitsMiddleware:
    """Refuses bodies over ``request_bytes_max`` (413), records latency per route, answers
    HEAD wherever GET is served (the GET's status and headers, no body), and sends
    ``X-Content-Type-Options: nosniff`` on every response, so no browser takes a JSON or
    CSV answer carrying someone's text for HTML or script.

    It has no route of its own: every request reaches the route that matched it (the
    app's, or the submit lane of :func:`fast_lane`).
    """

    def __init__(self, app: ASGIApp, node: Serving) -> None:
        self.app, self.node = app, node

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        length = dict(scope.get("headers") or ()).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > request_bytes_max):
            await _send_413(send)
            return
        head = scope["method"] == "HEAD"
        if head:
            scope = {**scope, "method": "GET"}
        seen = 0
        status = {"code": 0}

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > request_bytes_max:
                    raise _TooLarge
            return message

        async def observed_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                headers = [h for h in message.get("headers", ())
                           if h[0].lower() != NOSNIFF[0]]
                message = {**message, "headers": [*headers, NOSNIFF]}
            elif head and message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        try:
            await self.app(scope, limited_receive, observed_send)
        except _TooLarge:
            if status["code"] == 0:
                await _send_413(send)
        route = scope.get("route")
        path = getattr(route, "path", None) or "other"
        elapsed = time.perf_counter() - started
        self.node.metrics.observe(path, elapsed)
        if log.isEnabledFor(logging.INFO):
            log.info(json.dumps({"method": scope["method"], "path": scope["path"],
                                 "route": path, "status": status["code"],
                                 "ms": round(elapsed * 1000, 2)}))


class _TooLarge(Exception):
    pass


async def _send_413(send: Send) -> None:
    body = json.dumps({"type": "/problems/request_too_large", "title": "request too large",
                       "status": 413, "code": "request_too_large",
                       "detail": f"request bodies are limited to {request_bytes_max} bytes"})
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", problems.PROBLEM.encode()), NOSNIFF,
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body.encode()})


def create_app(node: Serving, *, explorer: bool = True) -> FastAPI:
    """The node's ASGI app: JSON API, chain API, operations and (optionally) the explorer."""
    # /docs and /redoc load their scripts and styles from this node (fastapi-offline ships
    # them), never from a CDN; no fonts and no remote spec validator either.
    app = FastAPIOffline(title="Jifentong node", version="1", description=DESCRIPTION,
                         openapi_tags=_TAGS, responses=problems.responses(400, 404, 413, 503),
                         static_url=DOCS_STATIC, swagger_ui_parameters={"validatorUrl": None})
    app.state.node = node
    problems.install(app)
    for router in (records.router, chain.router, exchange.router, offers.router, ops.router,
                       statements.router):
        app.include_router(router)
    app.include_router(events.router)
    if explorer:
        app.include_router(explorer_router)
        app.include_router(wallet_router)
    app.add_middleware(LimitsMiddleware, node=node)
    return app


def fast_lane(app: FastAPI, node: Serving) -> ASGIApp:
    """The ASGI app ``jifentong serve`` serves: two routes in front of ``app``.

    The submit lane (route ``submit_record_lane``: ``POST /v1/records`` without a query
    string) answers through :func:`api.server.routers.records.fast_submit`, under the same
    :class:`LimitsMiddleware` as the app; every other request goes to ``app``, whose route
    ``submit_record`` serves the same path with ``?wait=true``. The framework's layers cost
    about as much CPU as a submission itself, and tills send many. Both routes answer alike
    (tests/api/test_records_api.py runs each with hostile input). See docs/ARCHITECTURE.md.
    """
    route = records.submit_lane(node)
    limited = LimitsMiddleware(route.app, node)

    async def serve(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not scope.get("query_string"):
            match, child = route.matches(scope)
            if match is Match.FULL:
                scope.update(child, route=route)
                await limited(scope, receive, send)
                return
        await app(scope, receive, send)

    return serve


_TAGS = [
    {"name": "records", "description": "Submit signed records (idempotent by record id)."},
    {"name": "chain", "description": "Blocks, certificates, proofs and checkpoints."},
    {"name": "exchange", "description": "Programs, rates, balances, quotes, settlement."},
    {"name": "events", "description": "A live stream of committed records (SSE)."},
    {"name": "operations", "description": "Health and metrics."},
]
