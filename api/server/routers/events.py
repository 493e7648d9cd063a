"""``GET /v1/events``: Server-Sent Events of committed records and what they changed.

Each event is one committed record: ``id: <height>.<index>``, ``event: record`` and a JSON
``data`` with the record's type, signers, payload, block time and its balance movements
(``effects``, from the exchange's history rows). Filters (``program``, ``account``,
``merchant``) keep the records that touch them. A client resumes with ``Last-Event-ID``
(``H`` or ``H.I``: everything after it) or starts at a height with ``from`` (or at a time,
``since_ms``); with neither it gets what commits from now on. A stream closes after
``event_stream_ms_max``; EventSource clients reconnect on their own with ``Last-Event-ID``.
At most ``event_streams_max`` streams at once: beyond that, 503 ``too_many_streams`` with
``Retry-After``.
"""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
import threading
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from api.node.problems import Problem, responses
from api.node.runtime import Serving
from api.server.routers.exchange import NodeDep, read
from exchange import queries, queries_history
from ledger.limits import event_blocks_per_poll_max, event_stream_ms_max, event_streams_max

router = APIRouter(prefix="/v1", tags=["events"])

POLL_S = 0.25
HEARTBEAT_S = 15.0
RETRY_AFTER_S = 5
#: An index past any block's last record: "the whole block was sent".
WHOLE = 2**31
_LAST_ID = re.compile(r"(\d{1,16})(?:\.(\d{1,6}))?\Z")
Json = dict[str, Any]


class StreamSlots:
    """A counter of open streams, bounded by ``event_streams_max``."""

    def __init__(self, limit: int = event_streams_max) -> None:
        self.limit, self.open = limit, 0
        self._lock = threading.Lock()

    def take(self) -> bool:
        with self._lock:
            if self.open >= self.limit:
                return False
            self.open += 1
            return True

    def give(self) -> None:
        with self._lock:
            self.open -= 1


def slots_of(request: Request) -> StreamSlots:
    """The app's stream counter (made on first use)."""
    state = request.app.state
    if not hasattr(state, "event_slots"):
        state.event_slots = StreamSlots()
    slots: StreamSlots = state.event_slots
    return slots


def first_height_since(node: Serving, since_ms: int) -> int:
    """The first height whose block time is at least ``since_ms`` (head + 1 if none)."""
    store = node.replica.store
    low, high = 1, store.height() + 1
    while low < high:  # block times only grow with height
        middle = (low + high) // 2
        header = store.header(middle)
        if header is not None and header.time_ms < since_ms:
            low = middle + 1
        else:
            high = middle
    return low


def start_after(last_event_id: str | None, from_height: int | None, head: int) -> tuple[int, int]:
    """(height, index) of the last event the client has: the stream sends what follows."""
    if last_event_id:
        match = _LAST_ID.match(last_event_id.strip())
        if match is None:
            raise Problem(400, "invalid_parameter", "Last-Event-ID is HEIGHT or HEIGHT.INDEX")
        height = int(match[1])
        return (height, int(match[2])) if match[2] is not None else (height, WHOLE)
    if from_height is not None:
        return from_height - 1, WHOLE
    return head, WHOLE


def block_events(node: Serving, height: int) -> list[Json]:
    """Every record of the block at ``height`` as an event, with its balance movements."""
    block = node.replica.store.certified_block(height)[0]
    try:
        rows = queries_history.block_movements(node.replica.store.thread_reader(), height)
    except sqlite3.OperationalError:  # an application without balances (the counter)
        rows = []
    effects: dict[int, list[Json]] = {}
    for row in rows:
        effects.setdefault(row.idx, []).append({"account": row.account, "program": row.program,
                                                "kind": row.kind, "delta": row.delta,
                                                "balance": row.balance})
    return [{"id": f"{height}.{index}", "height": height, "index": index, "record": record.id,
             "time_ms": block.header.time_ms, "type": record.type, "signers": record.signers,
             "payload": record.payload, "effects": effects.get(index, [])}
            for index, record in enumerate(block.records)]


def program_issuers(node: Serving) -> dict[str, str]:
    """Program code to issuing merchant (empty for an application without programs)."""
    if not hasattr(node.replica.app, "view"):
        return {}
    return {p["code"]: p["issuer"] for p in read(node, queries.programs)}


def matches(event: Json, program: str | None, account: str | None, merchant: str | None,
            issuers: dict[str, str]) -> bool:
    """Whether ``event`` touches the program, the account and the merchant asked for."""
    payload = event["payload"]
    programs = {payload.get(k) for k in ("program", "give", "get")} - {None}
    programs |= {e["program"] for e in event["effects"]}
    if program is not None and program not in programs:
        return False
    if account is not None and account not in event["signers"] and account != payload.get(
            "to") and all(e["account"] != account for e in event["effects"]):
        return False
    return merchant is None or payload.get("merchant") == merchant or any(
        issuers.get(p) == merchant for p in programs)


def sse(event: Json) -> str:
    data = json.dumps(event, ensure_ascii=False, separators=(",", ":"))
    return f"id: {event['id']}\nevent: record\ndata: {data}\n\n"


async def stream(request: Request, node: Serving, after: tuple[int, int], program: str | None,
                 account: str | None, merchant: str | None, slots: StreamSlots,
                 ) -> AsyncIterator[str]:
    """Events after ``after`` as they commit, until the client leaves."""
    height, index = after
    quiet_s, ends_s = 0.0, time.monotonic() + event_stream_ms_max / 1000
    try:
        yield f"retry: {RETRY_AFTER_S * 1000}\n\n"
        while time.monotonic() < ends_s and not await request.is_disconnected():
            head = node.replica.height
            first = height if index < WHOLE else height + 1  # a block partly sent: again
            if head < first:
                await asyncio.sleep(POLL_S)
                quiet_s += POLL_S
                if quiet_s >= HEARTBEAT_S:
                    quiet_s = 0.0
                    yield ": still here\n\n"
                continue
            issuers = program_issuers(node)
            last = min(head, first + event_blocks_per_poll_max - 1)
            for h in range(first, last + 1):
                for event in await run_in_threadpool(block_events, node, h):
                    if (h, event["index"]) > (height, index) and matches(
                            event, program, account, merchant, issuers):
                        yield sse(event)
            height, index = last, WHOLE
            quiet_s = 0.0
    finally:
        slots.give()


Filter = Annotated[str | None, Query(pattern="^[a-z0-9][a-z0-9_-]{0,39}$")]


# Not in the OpenAPI schema: a stream that never ends cannot be described there, and schema
# fuzzers and generated clients would wait on it forever. docs/API.md documents it.
@router.get("/events", responses=responses(400, 503), include_in_schema=False,
            response_class=StreamingResponse,
            summary="Server-Sent Events of committed records and their effects")
async def events(request: Request, node: NodeDep, program: Filter = None,
                 account: Annotated[str | None, Query(pattern="^[0-9a-f]{64}$")] = None,
                 merchant: Filter = None,
                 from_height: Annotated[int | None, Query(alias="from", ge=1,
                                                          le=2**53 - 1)] = None,
                 since_ms: Annotated[int | None, Query(ge=0, le=2**53 - 1)] = None,
                 last_event_id: Annotated[str | None, Header(max_length=40)] = None,
                 ) -> StreamingResponse:
    """``text/event-stream``; filters combine (all must hold). Resume with ``Last-Event-ID``;
    start at a height with ``from`` or at the first block at or after ``since_ms``."""
    if from_height is None and since_ms is not None:
        from_height = await run_in_threadpool(first_height_since, node, since_ms)
    after = start_after(last_event_id, from_height, node.replica.height)
    slots = slots_of(request)
    if not slots.take():
        raise Problem(503, "too_many_streams",
                      f"this node serves at most {slots.limit} event streams at once",
                      retry_after_s=RETRY_AFTER_S)
    return StreamingResponse(stream(request, node, after, program, account, merchant, slots),
                             media_type="text/event-stream",
                             headers={"cache-control": "no-store", "x-accel-buffering": "no"})
