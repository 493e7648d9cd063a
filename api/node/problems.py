"""Errors as RFC 9457 problem details (``application/problem+json``) with a stable ``code``.

Core layers raise typed errors with codes; this module alone maps them to HTTP statuses.
Nothing a client sends can produce a 500: unexpected exceptions are logged and answered
with a 500 problem only for genuine server faults.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ledger.errors import (
    Backpressure,
    BadSignature,
    ConsensusError,
    EncodingError,
    KeyFileError,
    LedgerError,
    MalformedRecord,
    ProofError,
    StaleSequence,
    StoreError,
    WrongChain,
)

log = logging.getLogger("jifentong.api")

PROBLEM = "application/problem+json"


class Problem(Exception):
    """An HTTP problem raised by a route: status, stable code, human detail."""

    def __init__(self, status: int, code: str, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.status, self.code, self.detail, self.extra = status, code, detail, extra


def status_of(exc: LedgerError) -> int:
    """The HTTP status for a core error."""
    if exc.code == "record_too_large":
        return 413
    if isinstance(exc, Backpressure):
        return 503
    if isinstance(exc, EncodingError | MalformedRecord | KeyFileError):
        return 400
    if isinstance(exc, StaleSequence):
        return 409
    if isinstance(exc, BadSignature | WrongChain | ProofError):
        return 422
    if isinstance(exc, StoreError | ConsensusError):
        return 503 if exc.code in ("no_quorum", "no_replica") else 400
    return 422  # business rule rejections from the application


def problem_body(status: int, code: str, detail: str, **extra: Any) -> dict[str, Any]:
    """The RFC 9457 body: type, title, status, detail, and our stable ``code``."""
    return {"type": f"/problems/{code}", "title": code.replace("_", " "), "status": status,
            "detail": detail, "code": code, **extra}


def problem_response(status: int, code: str, detail: str, **extra: Any) -> JSONResponse:
    body = problem_body(status, code, detail, **extra)
    headers = {}
    if status in (429, 503):
        headers["Retry-After"] = str(extra.get("retry_after_s", 1))
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def problem_for(exc: LedgerError, **extra: Any) -> JSONResponse:
    if isinstance(exc, Backpressure):
        extra["retry_after_s"] = exc.retry_after_s
    return problem_response(status_of(exc), exc.code, str(exc), **extra)


def install(app: FastAPI) -> None:
    """Register the handlers that turn every error into a problem response."""

    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        return problem_response(exc.status, exc.code, exc.detail, **exc.extra)

    @app.exception_handler(LedgerError)
    async def _ledger(request: Request, exc: LedgerError) -> JSONResponse:
        return problem_for(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()))
        return problem_response(400, "invalid_parameter",
                                f"{where}: {first.get('msg', 'invalid')}")

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed", 413: "request_too_large",
                406: "not_acceptable"}.get(exc.status_code, "http_error")
        return problem_response(exc.status_code, code, str(exc.detail))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return problem_response(500, "internal_error", "the node failed to answer; see its log")


PROBLEM_SCHEMA = {
    "type": "object",
    "required": ["type", "title", "status", "detail", "code"],
    "properties": {
        "type": {"type": "string"}, "title": {"type": "string"},
        "status": {"type": "integer"}, "detail": {"type": "string"},
        "code": {"type": "string"},
    },
}


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for the problem statuses a route can answer."""
    return {s: {"description": "problem", "content": {PROBLEM: {"schema": PROBLEM_SCHEMA}}}
            for s in statuses}
