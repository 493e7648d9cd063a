"""The verifier's HTTP source: a node's chain API (``/v1/genesis``, ``/v1/blocks``,
``/v1/tables``), read as any outsider would read it.

Blocks are fetched in pages of about ``records_per_page`` records (``/v1/blocks?from=&limit=
&records=true``) by a background thread one page ahead of the checks, so network and
checking overlap and memory stays flat. Derived rows come from ``/v1/tables/{name}`` pages.
Only what the node shows can be checked: its other replicas, the index columns of its
``records`` table and its pending journal are not served.
"""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Iterator, Sequence
from typing import Any

import httpx

from ledger.chain.genesis import Genesis
from ledger.errors import LedgerError
from ledger.limits import blocks_per_fetch_max
from ledger.verify.failure import SourceError, StateMoved, fail
from ledger.verify.source import RawBlock
from ledger.wire.canonical import canonical_bytes

records_per_page = 4000
rows_per_page = 500  # the node serves at most ledger.limits.page_rows_max
_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode


class HttpSource:
    """A node URL; ``genesis`` pins the genesis you trust (else the served one is used)."""

    def __init__(self, url: str, *, genesis: Genesis | None = None,
                 transport: httpx.BaseTransport | None = None, timeout_s: float = 60.0) -> None:
        self.target = url.rstrip("/")
        self.pinned = genesis
        self.client = httpx.Client(base_url=self.target, transport=transport, timeout=timeout_s)
        self._node: HttpNode | None = None

    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        """The JSON of a GET; None on 404; SourceError when the node cannot be read."""
        try:
            response = self.client.get(path, params=params)
        except httpx.HTTPError as exc:
            raise SourceError(f"cannot reach {self.target}{path}: {exc}") from exc
        if response.status_code == 404:
            return None
        if response.status_code >= 400:
            raise SourceError(f"{self.target}{path} answered {response.status_code}")
        try:
            return response.json()
        except ValueError as exc:
            raise SourceError(f"{self.target}{path} did not answer JSON") from exc

    def genesis(self) -> Genesis:
        doc = self.get("/v1/genesis")
        if not isinstance(doc, dict):
            raise SourceError(f"{self.target} serves no chain API (/v1/genesis)")
        try:
            served = Genesis.from_json(doc["genesis"])
        except (LedgerError, KeyError, TypeError) as exc:
            raise fail("genesis_mismatch", 0, self.target, detail=f"malformed: {exc}") from None
        if doc.get("hash") != served.hash.hex():
            raise fail("genesis_mismatch", 0, self.target, expected=served.hash.hex(),
                       found=doc.get("hash"), detail="the served hash is not the document's")
        if self.pinned is not None and self.pinned.hash != served.hash:
            raise fail("genesis_mismatch", 0, self.target, expected=self.pinned.hash.hex(),
                       found=served.hash.hex(), detail="the node serves another genesis")
        return self.pinned or served

    def nodes(self) -> list[HttpNode]:
        if self._node is None:
            self._node = HttpNode(self)
        return [self._node]

    def pending(self) -> None:
        return None

    def close(self) -> None:
        if self._node is not None:
            self._node.stop.set()
        self.client.close()


class HttpNode:
    """The node behind the URL."""

    def __init__(self, source: HttpSource) -> None:
        self.source, self.name = source, source.target
        self.stop = threading.Event()
        self._head: tuple[int, int] | None = None

    def head(self) -> tuple[int, int]:
        if self._head is None:
            first = self.source.get("/v1/blocks", {"from": 1, "limit": 1})
            height = first.get("height") if isinstance(first, dict) else None
            if type(height) is not int or height < 0:
                raise SourceError(f"{self.name} serves no chain height (/v1/blocks)")
            last = self.source.get(f"/v1/blocks/{height}") if height else None
            total = last.get("header", {}).get("total") if isinstance(last, dict) else 0
            self._head = (height, total if type(total) is int else 0)
        return self._head

    def blocks(self) -> Iterator[RawBlock]:
        height = self.head()[0]
        pages: queue.Queue[Any] = queue.Queue(maxsize=2)
        thread = threading.Thread(target=self._fetch, args=(height, pages), daemon=True)
        thread.start()
        h = 0
        while h < height:
            page = pages.get()
            if isinstance(page, BaseException):
                raise page
            for block in page:
                h += 1
                yield _raw(block, h, self.name)
        self.stop.set()

    def _fetch(self, height: int, pages: queue.Queue[Any]) -> None:
        h, limit = 1, 10
        try:
            while h <= height and not self.stop.is_set():
                data = self.source.get("/v1/blocks", {"from": h, "limit": min(
                    limit, height - h + 1), "records": "true"})
                blocks = data.get("blocks") if isinstance(data, dict) else None
                if not blocks:
                    raise fail("row_missing", h, self.name, table="blocks", key=(h,),
                               detail="the node serves no block at this height")
                self._put(pages, blocks)
                records = sum(len(b.get("records") or ()) for b in blocks if isinstance(b, dict))
                h += len(blocks)
                limit = max(1, min(blocks_per_fetch_max,
                                   records_per_page * len(blocks) // max(records, 1)))
        except BaseException as exc:  # handed to the reading thread
            self._put(pages, exc)

    def _put(self, pages: queue.Queue[Any], item: Any) -> None:
        while not self.stop.is_set():
            try:
                pages.put(item, timeout=0.5)
                return
            except queue.Full:
                continue

    def state(self) -> HttpState:
        return HttpState(self.source, self.head()[0])


def _raw(block: Any, h: int, node: str) -> RawBlock:
    if not isinstance(block, dict) or block.get("height") != h:
        raise fail("row_missing", h, node, table="blocks", key=(h,),
                   detail="the node served another block than the one asked for")
    rows = [(i, None, None, None, None, *_record_text(wire))
            for i, wire in enumerate(block.get("records") or ())]
    return RawBlock(h, block.get("hash"), block.get("header"), block.get("certificate"),
                    block.get("checkpoint"), rows)


def _record_text(wire: Any) -> tuple[Any, Any]:
    """(body text, comma-joined signatures) of a served record, canonical when possible."""
    if not isinstance(wire, dict) or set(wire) != {"body", "signatures"}:
        return json.dumps(wire), None
    body, sigs = wire["body"], wire["signatures"]
    try:
        text = _encode(body)
        if not text.isascii():
            text = canonical_bytes(body).decode()
    except (LedgerError, TypeError, ValueError):
        text = json.dumps(body, default=str)
    joined = ",".join(sigs) if isinstance(sigs, list) and all(
        isinstance(s, str) for s in sigs) else None
    return text, joined


class HttpState:
    """Derived rows through ``/v1/tables``; ``height`` is the head the run verifies."""

    def __init__(self, source: HttpSource, height: int) -> None:
        self.source, self.height = source, height

    def table_columns(self) -> dict[str, list[str]] | None:
        listing = self.source.get("/v1/tables")
        if not isinstance(listing, dict):
            return None
        self._moved(listing)
        return {t["name"]: list(t["columns"]) for t in listing.get("tables", ())}

    def rows(self, table: str, columns: Sequence[str],
             pk: Sequence[str]) -> Iterator[tuple[Any, ...]] | None:
        first = self.source.get(f"/v1/tables/{table}", {"limit": rows_per_page})
        if not isinstance(first, dict):
            return None
        if first.get("columns") != list(columns):
            raise fail("table_mismatch", self.height, self.source.target, table=table,
                       expected=list(columns), found=first.get("columns"))
        return self._pages(table, first)

    def _pages(self, table: str, page: dict[str, Any]) -> Iterator[tuple[Any, ...]]:
        while True:
            self._moved(page)
            for row in page.get("rows", ()):
                yield tuple(row)
            after = page.get("next")
            if after is None:
                return
            page = self.source.get(f"/v1/tables/{table}", {"after": json.dumps(after),
                                                           "limit": rows_per_page})
            if not isinstance(page, dict):
                raise SourceError(f"{self.source.target}: table {table} vanished while read")

    def _moved(self, page: dict[str, Any]) -> None:
        if page.get("height") != self.height:
            raise StateMoved(f"{self.source.target} is at height {page.get('height')}, "
                             f"the run verified {self.height}")
