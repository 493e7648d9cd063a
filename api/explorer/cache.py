"""Per-node caches that keep every explorer page bounded, whatever the length of the chain.

- :class:`ChainDays`: records per day over the last ``window_days``, read from block headers
  incrementally (only blocks above the last height seen); the window's start is found by a
  binary search over heights, so a cold start reads O(log n) headers plus the window.
- :class:`ProgramSeries`: per program and day, points issued, redeemed, swapped in and out and
  expired, folded from the exchange's balance movements above the last height seen (by
  primary-key range, in chunks). Small gaps are folded during the request; a long catch-up (a
  cold start on a big chain) runs in a background thread while pages show the series so far.
- :class:`Memo`: a value per key recomputed when the chain moved and the value is older than its
  time to live (holder counts and distributions).
- certificate checks per block height (four signature verifications each) in a bounded LRU.
"""

from __future__ import annotations

import sqlite3
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, TypeVar

from api.node.runtime import Serving
from exchange import queries_history
from ledger.store import Store

T = TypeVar("T")
day_ms = 86_400_000
window_days = 60
#: Records folded into the program series during a request; more goes to a background thread.
fold_records_inline_max = 20_000
#: Blocks folded per chunk (each at most ``block_records_max`` records).
fold_blocks_per_chunk = 10
#: Certificates whose check is remembered; block hashes remembered for search.
certificates_max = 4096
hashes_max = 200_000

# history kind -> series column
KINDS = {"issue": 0, "bonus": 0, "redeem": 1, "swap_in": 2, "swap_out": 3, "expire": 4}
SERIES = ("issued", "redeemed", "swapped in", "swapped out", "expired")


def _time_at(conn: sqlite3.Connection, height: int) -> int:
    row = conn.execute("SELECT json_extract(header, '$.time') FROM blocks WHERE height = ?",
                       (height,)).fetchone()
    return int(row[0]) if row else 0


class ChainDays:
    """Records per day (alliance days) for the last ``window_days``, and recent block hashes."""

    def __init__(self, offset_ms: int) -> None:
        self.offset_ms = offset_ms
        self.lock = threading.Lock()
        self.height = 0  # last height folded
        self.first = 0  # first height of the window (hashes are known from here on)
        self.days: dict[int, int] = {}
        self.hashes: OrderedDict[str, int] = OrderedDict()

    def refresh(self, conn: sqlite3.Connection, head: int) -> None:
        """Fold the blocks above the last height seen (at most 20,000 per call)."""
        if head <= self.height:
            return
        with self.lock:
            if self.height == 0:
                self.first = window_start(conn, head, window_days)
                self.height = self.first - 1
            rows = conn.execute(
                "SELECT height, hash, json_extract(header, '$.time'), "
                "json_extract(header, '$.records') FROM blocks WHERE height > ? "
                "ORDER BY height LIMIT 20000", (self.height,)).fetchall()
            for height, hash_, time_ms, records in rows:
                day = (time_ms + self.offset_ms) // day_ms
                self.days[day] = self.days.get(day, 0) + records
                self.hashes[hash_] = height
                self.height = height
            while len(self.hashes) > hashes_max:
                _, dropped = self.hashes.popitem(last=False)
                self.first = dropped + 1
            if self.days:
                last = max(self.days)
                for day in [d for d in self.days if d <= last - window_days]:
                    del self.days[day]

    def height_of(self, conn: sqlite3.Connection, block_hash: str) -> int | None:
        """The height of a block by hash: recent ones from memory, older ones by a scan of
        the blocks before the window (``blocks`` has no index on ``hash``)."""
        found = self.hashes.get(block_hash)
        if found is None and self.first > 1:
            row = conn.execute("SELECT height FROM blocks WHERE height < ? AND hash = ?",
                               (self.first, block_hash)).fetchone()
            found = row[0] if row else None
        return found

    def series(self, last_day: int, count: int) -> list[tuple[int, int]]:
        """(day, records) for the ``count`` days up to ``last_day``, zeros included."""
        return [(d, self.days.get(d, 0)) for d in range(last_day - count + 1, last_day + 1)]


def window_start(conn: sqlite3.Connection, head: int, days: int) -> int:
    """The first height whose block time is within ``days`` of the head's (binary search)."""
    since = _time_at(conn, head) - days * day_ms
    low, high = 1, head
    while low < high:
        mid = (low + high) // 2
        if _time_at(conn, mid) < since:
            low = mid + 1
        else:
            high = mid
    return low


class ProgramSeries:
    """Points per program per day by kind (see ``SERIES``), folded from the exchange's
    movements (:func:`exchange.queries_history.height_totals`)."""

    def __init__(self, offset_ms: int) -> None:
        self.offset_ms = offset_ms
        self.lock = threading.Lock()
        self.height = -1  # last height folded (-1: not started)
        self.total = 0  # records up to ``height``
        self.data: dict[str, dict[int, list[int]]] = {}
        self.pruned_day = 0
        self.worker: threading.Thread | None = None

    def refresh(self, store: Store, head: int, head_total: int) -> bool:
        """Fold new blocks; True when the series is complete up to ``head``."""
        if self.height >= head:
            return True
        conn = store.thread_reader()
        if self.height < 0:
            with self.lock:
                if self.height < 0:
                    self.height = window_start(conn, head, window_days) - 1 if head else 0
                    self.total = _total_at(conn, self.height)
        if head_total - self.total <= fold_records_inline_max and self.lock.acquire(False):
            try:
                self._fold(conn, head)
            finally:
                self.lock.release()
            return self.height >= head
        if self.worker is None or not self.worker.is_alive():
            self.worker = threading.Thread(target=self._catch_up, args=(store, head),
                                           name="explorer-series", daemon=True)
            self.worker.start()
        return False

    def _catch_up(self, store: Store, head: int) -> None:
        conn = store.reader()
        try:
            with self.lock:
                self._fold(conn, head)
        finally:
            conn.close()

    def _fold(self, conn: sqlite3.Connection, head: int) -> None:
        while self.height < head:
            upto = min(head, self.height + fold_blocks_per_chunk)
            days = {h: (t + self.offset_ms) // day_ms for h, t in conn.execute(
                "SELECT height, json_extract(header, '$.time') FROM blocks "
                "WHERE height > ? AND height <= ?", (self.height, upto))}
            for total in queries_history.height_totals(conn, self.height, upto):
                column = KINDS.get(total.kind)
                if column is None:
                    continue
                per_day = self.data.setdefault(total.program, {})
                row = per_day.setdefault(days[total.height], [0] * len(SERIES))
                row[column] += abs(total.points)
            self.total = _total_at(conn, upto)
            self.height = upto
            if days:
                self._prune(max(days.values()) - window_days)

    def _prune(self, before_day: int) -> None:
        """Forget days that left the window (at most once per new day)."""
        if before_day <= self.pruned_day:
            return
        self.pruned_day = before_day
        for per_day in self.data.values():
            for day in [d for d in per_day if d < before_day]:
                del per_day[day]

    def series(self, program: str, last_day: int, count: int) -> list[tuple[int, list[int]]]:
        per_day = self.data.get(program, {})
        zero = [0] * len(SERIES)
        return [(d, list(per_day.get(d, zero))) for d in range(last_day - count + 1, last_day + 1)]


def _total_at(conn: sqlite3.Connection, height: int) -> int:
    if height <= 0:
        return 0
    row = conn.execute("SELECT json_extract(header, '$.total') FROM blocks WHERE height = ?",
                       (height,)).fetchone()
    return int(row[0]) if row else 0


class Memo:
    """Values by key, recomputed when the chain moved and they are older than ``ttl_s``."""

    def __init__(self, entries_max: int = 512) -> None:
        self.entries: OrderedDict[Any, tuple[int, float, Any]] = OrderedDict()
        self.entries_max = entries_max
        self.lock = threading.Lock()

    def get(self, key: Any, height: int, compute: Callable[[], T], ttl_s: float = 5.0) -> T:
        with self.lock:
            found = self.entries.get(key)
        now = time.monotonic()
        if found is not None and (found[0] == height or now - found[1] < ttl_s):
            cached: T = found[2]  # what compute() gave for this key
            return cached
        value = compute()
        with self.lock:
            self.entries[key] = (height, now, value)
            self.entries.move_to_end(key)
            while len(self.entries) > self.entries_max:
                self.entries.popitem(last=False)
        return value


class ExplorerCache:
    """Everything the explorer remembers about one node's chain."""

    def __init__(self, offset_ms: int) -> None:
        self.days = ChainDays(offset_ms)
        self.series = ProgramSeries(offset_ms)
        self.memo = Memo()
        self.certificates: OrderedDict[tuple[int, str], list[str]] = OrderedDict()
        self.lock = threading.Lock()

    def settle(self, timeout_s: float = 600.0) -> None:
        """Wait for a background catch-up of the program series (the bench warms up so)."""
        worker = self.series.worker
        if worker is not None:
            worker.join(timeout_s)

    def certificate(self, height: int, header_hash: str, check: Callable[[], list[str]],
                    ) -> list[str]:
        """The validators whose vote on block ``height`` verifies (checked once per block)."""
        key = (height, header_hash)
        with self.lock:
            found = self.certificates.get(key)
        if found is None:
            found = check()
            with self.lock:
                self.certificates[key] = found
                while len(self.certificates) > certificates_max:
                    self.certificates.popitem(last=False)
        return found


_caches: weakref.WeakKeyDictionary[Serving, ExplorerCache] = weakref.WeakKeyDictionary()
_caches_lock = threading.Lock()


def cache_of(node: Serving, offset_ms: int) -> ExplorerCache:
    """The explorer cache of ``node`` (made on first use)."""
    with _caches_lock:
        found = _caches.get(node)
        if found is None:
            found = _caches[node] = ExplorerCache(offset_ms)
        return found
