"""Submitting signed records: one or a batch, optionally waiting for a receipt.

Writes are non-custodial: the node receives records already signed by their owners and
holds no customer key. Every write is idempotent by record id: sending a record again
returns what became of it, marked ``duplicate``.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from api.node.deps import get_node
from api.node.problems import PROBLEM, Problem, problem_body, responses, status_of
from api.node.runtime import Serving
from api.schemas import documented
from api.schemas.chain import BatchAnswer, Submitted
from ledger.consensus.consortium import Outcome
from ledger.errors import Backpressure, DuplicateRecord, LedgerError, RejectedBefore
from ledger.limits import (
    batch_records_max,
    json_int_max,
    record_bytes_max,
    record_depth_max,
    record_signers_max,
    record_type_chars_max,
)
from ledger.verify.receipt import build_receipt
from ledger.wire.canonical import parse_strict
from ledger.wire.record import Record, parse_record, parse_records

router = APIRouter(prefix="/v1", tags=["records"])

RECORD_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["body", "signatures"],
    "additionalProperties": False,
    "properties": {
        "body": {
            "type": "object",
            "required": ["chain", "type", "signers", "seq", "expires", "payload"],
            "additionalProperties": False,
            "properties": {
                "chain": {"type": "string", "minLength": 1,
                          "maxLength": record_type_chars_max},
                "type": {"type": "string", "pattern": "^[a-z][a-z0-9_.]*$",
                         "maxLength": record_type_chars_max},
                "signers": {"type": "array", "minItems": 1, "maxItems": record_signers_max,
                            "items": {"type": "string", "pattern": "^[0-9a-f]{64}$"}},
                "seq": {"type": "integer", "minimum": 1, "maximum": json_int_max},
                "expires": {"type": "integer", "minimum": 1, "maximum": json_int_max,
                            "description": "last block time (Unix ms) at which it may commit"},
                "payload": {"type": "object"},
            },
        },
        "signatures": {"type": "array", "minItems": 1, "maxItems": record_signers_max,
                       "items": {"type": "string", "pattern": "^[0-9a-f]{128}$"}},
    },
}
EXAMPLE = {"body": {"chain": "demo-district", "type": "exchange.redeem",
                    "signers": ["3b6a27bcceb6a42d62a3a8d02a6f0d73653215771de243a63ac048a18b59da29"],
                    "seq": 7, "expires": 1767225600000,
                    "payload": {"program": "bp", "amount": 8000, "order": "A-1001"}},
           "signatures": ["8d0c…(128 hex digits)"]}

Wait = Annotated[bool, Query(description="wait for the block and answer with a receipt")]
Timeout = Annotated[int, Query(ge=0, le=60_000, description="how long to wait, ms")]


def _result(node: Serving, outcome: Outcome | None, record_id: str,
            duplicate: bool) -> dict[str, Any]:
    if outcome is None:
        return {"id": record_id, "status": "pending", "duplicate": duplicate}
    if outcome.code is not None:
        return {"id": record_id, "status": "rejected", "code": outcome.code, "duplicate": duplicate}
    out: dict[str, Any] = {"id": record_id, "status": "committed", "duplicate": duplicate,
                           "height": outcome.height, "index": outcome.index}
    return out


def _known(node: Serving, exc: DuplicateRecord) -> Outcome | None:
    if exc.height is None:
        return node.outcome(exc.record_id)
    location = node.replica.store.record_location(exc.record_id)
    return Outcome(exc.record_id, height=location[0], index=location[1]) if location else None


@router.post("/records", status_code=202, responses={
                 **responses(400, 409, 413, 422, 503), 202: {"model": Submitted},
                 200: {"model": Submitted, "description": "committed (with wait=true)"}},
             openapi_extra={"requestBody": {"required": True, "content": {"application/json": {
                 "schema": RECORD_SCHEMA, "example": EXAMPLE}}}},
             summary="Submit one signed record")
async def submit_record(request: Request, node: Annotated[Serving, Depends(get_node)],
                        wait: Wait = False, timeout_ms: Timeout = 10_000) -> JSONResponse:
    """Check, journal and queue a record; with ``wait`` answer once it is in a block."""
    status, body, headers = await submit_one(node, await request.body(), wait, timeout_ms)
    media = PROBLEM if status >= 400 else "application/json"
    return JSONResponse(body, status_code=status, media_type=media, headers=headers)


Answer = tuple[int, dict[str, Any], dict[str, str]]


async def submit_one(node: Serving, data: bytes, wait: bool, timeout_ms: int) -> Answer:
    """The whole of ``POST /v1/records``: (status, JSON body, extra headers).

    Shared by the route ``submit_record`` and the submit lane (:func:`submit_lane`), so
    both answer alike.
    """
    if len(data) > record_bytes_max:
        return problem(413, "record_too_large",
                       f"a record is at most {record_bytes_max} bytes; this one is {len(data)}")
    try:
        record = parse_record(data)
    except LedgerError as exc:
        return problem(status_of(exc), exc.code, str(exc))
    duplicate = False
    error = (await node.admit([record]))[0]
    if isinstance(error, DuplicateRecord):
        duplicate = True
        known = _known(node, error)
        if not wait or (known is not None):
            return _reply(node, _result(node, known, record.id, True), wait)
    elif error is not None:
        extra: dict[str, Any] = {}
        if isinstance(error, Backpressure):
            extra["retry_after_s"] = error.retry_after_s
        elif isinstance(error, RejectedBefore):
            extra.update(id=record.id, duplicate=True)
        return problem(status_of(error), error.code, str(error), **extra)
    if wait:
        outcomes = await node.wait([record.id], timeout_ms / 1000)
        return _reply(node, _result(node, outcomes.get(record.id), record.id, duplicate), wait)
    return 202, {"id": record.id, "status": "pending", "duplicate": False}, {}


def problem(status: int, code: str, detail: str, **extra: Any) -> Answer:
    body = problem_body(status, code, detail, **extra)
    headers = {"Retry-After": str(extra.get("retry_after_s", 1))} if status in (429, 503) else {}
    return status, body, headers


def _reply(node: Serving, result: dict[str, Any], with_receipt: bool) -> Answer:
    if result["status"] == "rejected":
        return problem(422, result["code"], f"record {result['id']} was rejected at block "
                       f"time: {result['code']}", id=result["id"])
    if result["status"] == "committed":
        if with_receipt:
            result["receipt"] = build_receipt(node.replica.store, result["id"])
        return 200, result, {}
    return 202, result, {}


async def fast_submit(node: Serving, receive: Receive, send: Send) -> None:
    """``POST /v1/records`` without a query string, answered without the framework's
    per-request machinery (the hot path of tills and wallets). Same answers as the route."""
    chunks, size = [], 0
    while True:
        message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size <= record_bytes_max + 1:
            chunks.append(chunk)
        if not message.get("more_body"):
            break
    if size > record_bytes_max:
        status, body, headers = problem(
            413, "record_too_large", f"a record is at most {record_bytes_max} bytes; this one "
            f"is {size}")
    else:
        status, body, headers = await submit_one(node, b"".join(chunks), False, 0)
    payload = json.dumps(body, ensure_ascii=False).encode()
    media = (PROBLEM if status >= 400 else "application/json").encode()
    raw = [(b"content-type", media), (b"content-length", str(len(payload)).encode())]
    raw += [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": payload})


class _Lane:
    """The ASGI endpoint of the submit lane: :func:`fast_submit` for one node."""

    def __init__(self, node: Serving) -> None:
        self.node = node

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await fast_submit(self.node, receive, send)


def submit_lane(node: Serving) -> Route:
    """The route ``submit_record_lane``: ``POST /v1/records``, answered by
    :func:`fast_submit` (``api.server.app.fast_lane`` serves it for requests without a query)."""
    return Route("/v1/records", _Lane(node), methods=["POST"], name="submit_record_lane")


BATCH_SCHEMA = {"type": "object", "required": ["records"], "additionalProperties": False,
                "properties": {"records": {"type": "array", "maxItems": batch_records_max,
                                           "items": RECORD_SCHEMA}}}


@router.post("/records/batch", response_model=documented(BatchAnswer),
             responses=responses(400, 413, 503),
             openapi_extra={"requestBody": {"required": True, "content": {"application/json": {
                 "schema": BATCH_SCHEMA}}}},
             summary=f"Submit up to {batch_records_max} signed records at once")
async def submit_batch(request: Request, node: Annotated[Serving, Depends(get_node)],
                       wait: Wait = False, timeout_ms: Timeout = 30_000) -> dict[str, Any]:
    """Each record is judged on its own; the answer lists a result per record, in order."""
    data = await request.body()
    wire = parse_strict(data, depth_max=record_depth_max + 6)
    if not isinstance(wire, dict) or set(wire) != {"records"} or not isinstance(
            wire["records"], list):
        raise Problem(400, "malformed_batch", 'a batch is {"records": [record, ...]}')
    items = wire["records"]
    if not 0 < len(items) <= batch_records_max:
        raise Problem(413 if items else 400, "batch_too_large" if items else "malformed_batch",
                      f"a batch holds 1 to {batch_records_max} records, not {len(items)}")
    parsed = parse_records(items, data.decode("utf-8"))  # parse_strict proved it UTF-8
    records = [p for p in parsed if isinstance(p, Record)]
    errors = iter(await node.admit(records) if records else [])
    results: list[dict[str, Any]] = []
    waiting: list[str] = []
    for item in parsed:
        if isinstance(item, LedgerError):
            results.append({"id": None, "status": "rejected", "code": item.code,
                            "detail": str(item)})
            continue
        error = next(errors)
        if isinstance(error, DuplicateRecord):
            results.append(_result(node, _known(node, error), item.id, True))
        elif error is not None:
            results.append({"id": item.id, "status": "rejected", "code": error.code,
                            "detail": str(error)})
        else:
            results.append({"id": item.id, "status": "pending", "duplicate": False})
            waiting.append(item.id)
    if wait and waiting:
        outcomes = await node.wait(waiting, timeout_ms / 1000)
        for result in results:
            if result["status"] == "pending" and result["id"] in outcomes:
                result.update(_result(node, outcomes[result["id"]], result["id"], False))
    counts: dict[str, int] = {}
    for result in results:
        counts[result["status"]] = counts.get(result["status"], 0) + 1
    return {"results": results, "counts": counts}
