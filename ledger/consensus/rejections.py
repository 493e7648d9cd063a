"""The rejected record ids a node remembers, so that a refusal is final.

A record refused at submission or left out of a block at block time is remembered with its
code until its ``expires`` has passed (after that it can never commit, so forgetting it is
safe). Sending it again gets the same answer, and ``GET /v1/records/{id}`` keeps reporting
it. The ids live in memory (a dict and an expiry heap) and, for a node, in a SQLite file, so
they survive a restart. Bounded by ``rejected_ids_max``: when full, :meth:`RejectedIds.full`
tells the node to refuse new submissions with backpressure rather than forget a refusal.
"""

from __future__ import annotations

import heapq
import sqlite3
import threading
from collections.abc import Iterable
from pathlib import Path

from ledger.limits import rejected_ids_max


class RejectedIds:
    """Rejected record id -> code, until the record's ``expires`` (persisted when ``path``)."""

    def __init__(self, path: Path | None = None, ids_max: int = rejected_ids_max) -> None:
        self.ids_max = ids_max
        self._codes: dict[str, tuple[str, int]] = {}
        self._heap: list[tuple[int, str]] = []
        self.lock = threading.Lock()
        self.conn: sqlite3.Connection | None = None
        if path is not None:
            self.conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=NORMAL")
            self.conn.execute("CREATE TABLE IF NOT EXISTS rejected (id TEXT PRIMARY KEY, "
                              "code TEXT NOT NULL, expires INTEGER NOT NULL)")
            for record_id, code, expires in self.conn.execute(
                    "SELECT id, code, expires FROM rejected"):
                self._codes[record_id] = (code, expires)
                self._heap.append((expires, record_id))
            heapq.heapify(self._heap)

    def __len__(self) -> int:
        return len(self._codes)

    def __contains__(self, record_id: object) -> bool:
        return record_id in self._codes

    def code(self, record_id: str) -> str | None:
        """The code ``record_id`` was rejected with, or None."""
        found = self._codes.get(record_id)
        return found[0] if found is not None else None

    def full(self) -> bool:
        """True when no more ids fit (until some expire)."""
        return len(self._codes) >= self.ids_max

    def add(self, rejections: Iterable[tuple[str, str, int]]) -> None:
        """Remember ``(record id, code, expires)``; the first code of an id stays."""
        fresh = []
        with self.lock:
            for record_id, code, expires in rejections:
                if record_id in self._codes:
                    continue
                self._codes[record_id] = (code, expires)
                heapq.heappush(self._heap, (expires, record_id))
                fresh.append((record_id, code, expires))
            if fresh and self.conn is not None:
                self.conn.execute("BEGIN")
                self.conn.executemany("INSERT OR IGNORE INTO rejected VALUES (?, ?, ?)", fresh)
                self.conn.execute("COMMIT")

    def forget_expired(self, time_ms: int) -> int:
        """Forget every id whose ``expires`` is before ``time_ms`` (a committed block's
        time: they can never commit). Returns how many were forgotten."""
        with self.lock:
            gone = []
            while self._heap and self._heap[0][0] < time_ms:
                _, record_id = heapq.heappop(self._heap)
                del self._codes[record_id]
                gone.append(record_id)
            if gone and self.conn is not None:
                self.conn.execute("DELETE FROM rejected WHERE expires < ?", (time_ms,))
            return len(gone)

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None
