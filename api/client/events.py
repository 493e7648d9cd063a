"""Following ``GET /v1/events`` from Python: an iterator of committed records as they land.

    >>> from api.client.client import Client
    >>> for event in Client("http://127.0.0.1:8400").events(account=key):   # doctest: +SKIP
    ...     print(event["id"], event["type"], event["effects"])

The iterator reconnects when the node closes a stream (each lives at most
``event_stream_ms_max``), resuming after the last event it yielded with ``Last-Event-ID``,
so no event is lost or repeated across reconnections.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx

from ledger.limits import event_reconnects_idle_max


class StreamRefused(Exception):
    """The node refused the stream (``code``; ``retry_after_s`` when it said when to retry)."""

    def __init__(self, status: int, code: str, retry_after_s: int | None) -> None:
        super().__init__(f"{status} {code}")
        self.status, self.code, self.retry_after_s = status, code, retry_after_s


def parse_sse(lines: Iterator[str]) -> Iterator[dict[str, str]]:
    """Server-Sent Events from text lines: dicts with ``id``, ``event`` and ``data``."""
    fields: dict[str, str] = {}
    data: list[str] = []
    for line in lines:
        if not line:
            if data:
                yield {**fields, "data": "\n".join(data)}
            fields, data = {}, []
        elif not line.startswith(":"):
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if name == "data":
                data.append(value)
            elif name in ("id", "event"):
                fields[name] = value


def follow(http: httpx.Client, *, program: str | None = None, account: str | None = None,
           merchant: str | None = None, from_height: int | None = None,
           since_ms: int | None = None, last_event_id: str | None = None,
           reconnect: bool = True) -> Iterator[dict[str, Any]]:
    """Committed records matching the filters, oldest first, for as long as the caller reads.

    Start after ``last_event_id``, at ``from_height``, at ``since_ms``, or else at the head.
    """
    params = {k: v for k, v in (("program", program), ("account", account),
                                ("merchant", merchant), ("from", from_height),
                                ("since_ms", since_ms)) if v is not None}
    idle = 0
    while idle < event_reconnects_idle_max:
        headers = {"accept": "text/event-stream"}
        if last_event_id is not None:
            headers["last-event-id"] = last_event_id
            params = {k: v for k, v in params.items() if k not in ("from", "since_ms")}
        timeout = httpx.Timeout(10.0, read=None)
        with http.stream("GET", "/v1/events", params=params, headers=headers,
                         timeout=timeout) as response:
            if response.status_code != 200:
                body = json.loads(response.read() or b"{}")
                after = response.headers.get("retry-after")
                raise StreamRefused(response.status_code, str(body.get("code", "http_error")),
                                    int(after) if after and after.isdigit() else None)
            idle += 1
            for message in parse_sse(response.iter_lines()):
                if message.get("event") != "record":
                    continue
                idle = 0
                last_event_id = message.get("id", last_event_id)
                yield json.loads(message["data"])
        if not reconnect:
            return
