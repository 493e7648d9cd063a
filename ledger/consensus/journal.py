"""A durable journal of acknowledged but uncommitted records.

A node acknowledges a submission only after the record is in this journal (SQLite, WAL), so
a crash between acknowledgement and commit loses nothing: on reopening, the journal's records
are checked again and queued. Records leave the journal when their block commits or when
they are rejected at block time.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path

from ledger.wire.record import Record


class PendingJournal:
    """Pending records by id, in arrival order."""

    def __init__(self, path: Path) -> None:
        self.conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.execute("CREATE TABLE IF NOT EXISTS pending "
                          "(n INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT UNIQUE, wire BLOB)")
        self.lock = threading.Lock()

    def add(self, records: Sequence[Record]) -> None:
        """Persist ``records`` before they are acknowledged."""
        with self.lock:
            self.conn.execute("BEGIN")
            self.conn.executemany("INSERT OR IGNORE INTO pending(id, wire) VALUES (?, ?)",
                                  [(r.id, r.wire_bytes()) for r in records])
            self.conn.execute("COMMIT")

    def remove(self, record_ids: Iterable[str]) -> None:
        """Forget records that were committed or rejected."""
        ids = [(i,) for i in record_ids]
        if not ids:
            return
        with self.lock:
            self.conn.execute("BEGIN")
            self.conn.executemany("DELETE FROM pending WHERE id = ?", ids)
            self.conn.execute("COMMIT")

    def load(self) -> list[bytes]:
        """Every pending record's wire bytes, oldest first."""
        with self.lock:
            return [bytes(w) for (w,) in self.conn.execute("SELECT wire FROM pending ORDER BY n")]

    def __len__(self) -> int:
        with self.lock:
            return int(self.conn.execute("SELECT COUNT(*) FROM pending").fetchone()[0])

    def close(self) -> None:
        self.conn.close()
