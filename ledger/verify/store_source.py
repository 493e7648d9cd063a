"""The verifier's SQLite source: node stores and the pending-record journal, read-only.

Each store is read in one read transaction (a consistent snapshot even while the node runs)
through two cursors walking ``blocks`` and ``records`` in key order, so memory stays flat.
A blocks row missing or out of place, or a records row outside every block, is a failure.

Stores are read through apsw rather than the standard library's ``sqlite3``: the verifier
reads every row of every store, and Python 3.11's ``sqlite3`` releases and takes back the GIL
around each column value it reads. apsw reads the same rows, as the same Python values, in
half the time (a 20,000-record store: records 1.6 -> 1.0 us per record, history rows
1.65 -> 0.75).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import apsw

from ledger.chain.genesis import Genesis
from ledger.verify.failure import SourceError, VerifyFailed, fail
from ledger.verify.source import RawBlock
from ledger.verify.state import LEDGER_TABLES

#: What reading a store may raise when it is damaged mid-run (the verifier's own scratch
#: files use ``sqlite3``).
STORE_ERRORS = (apsw.Error, sqlite3.DatabaseError)


def open_readonly(path: Path) -> apsw.Connection:
    """A read-only connection holding one snapshot (raises SourceError when unreadable)."""
    if not path.is_file():
        raise SourceError(f"{path} does not exist")
    try:
        conn = apsw.Connection(str(path), flags=apsw.SQLITE_OPEN_READONLY)
        conn.set_busy_timeout(10000)
        conn.execute("BEGIN")
        conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchall()
    except apsw.Error as exc:
        raise SourceError(f"cannot read {path} as SQLite: {exc}") from exc
    return conn


class SqliteNode:
    """One node's store file (``node-N.sqlite``)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.name = self.path.name
        self.conn = open_readonly(self.path)
        self._tables = {n: [c for (_, c, *_) in self.conn.execute(f"PRAGMA table_info([{n}])")]
                        for (n,) in self.conn.execute(
                            "SELECT name FROM sqlite_master WHERE type = 'table'")}
        for table, (columns, _) in LEDGER_TABLES.items():
            if table not in self._tables:
                raise fail("table_missing", 0, self.name, table=table,
                           detail="a table of the ledger is not in the store")
            if self._tables[table] != list(columns):
                raise fail("table_mismatch", 0, self.name, table=table,
                           expected=list(columns), found=self._tables[table])

    def head(self) -> tuple[int, int]:
        row = self.conn.execute("SELECT height, header FROM blocks WHERE typeof(height) = "
                                "'integer' ORDER BY height DESC LIMIT 1").fetchone()
        if row is None:
            return 0, 0
        total = _total(row[1])
        return int(row[0]), total

    def blocks(self) -> Iterator[RawBlock]:
        blocks = self.conn.execute("SELECT height, hash, header, certificate, checkpoint "
                                   "FROM blocks ORDER BY height")
        records = self.conn.execute("SELECT height, idx, id, type, signer, seq, body, sigs "
                                    "FROM records ORDER BY height, idx")
        pending = next(records, None)
        h = 0
        for height, hash_, header, cert, checkpoint in blocks:
            h += 1
            if height != h:
                if type(height) is int and height > h:
                    raise fail("row_missing", h, self.name, table="blocks", key=(h,),
                               detail=f"the next stored block is at height {height}")
                raise fail("row_unexpected", h, self.name, table="blocks", key=(height,),
                           detail="a blocks row out of the sequence 1, 2, 3, ...")
            rows = []
            while pending is not None and not _after(pending[0], h):
                if pending[0] != h:
                    raise self._stray(pending, h)
                rows.append(pending[1:])
                pending = next(records, None)
            yield RawBlock(h, hash_, header, cert, checkpoint, rows)
        if pending is not None:
            raise self._stray(pending, h)

    def _stray(self, row: tuple[Any, ...], h: int) -> VerifyFailed:
        return fail("row_unexpected", h, self.name, table="records", key=(row[0], row[1]),
                    record=row[2] if isinstance(row[2], str) else None,
                    detail="a records row that belongs to no stored block")

    def state(self) -> SqliteState:
        return SqliteState(self.conn, self._tables)

    def close(self) -> None:
        self.conn.close(True)  # its cursors too, and the read transaction


def _total(header: Any) -> int:
    import json

    try:
        return int(json.loads(header)["total"])
    except (ValueError, TypeError, KeyError):
        return 0


def _after(height: Any, h: int) -> bool:
    """True when a records row of ``height`` sorts after block ``h`` (SQLite order)."""
    if isinstance(height, int | float):
        return height > h
    return height is not None  # text and blobs sort after every number


class SqliteState:
    """The derived rows of one store."""

    #: Rows come from the read snapshot the blocks come from, so they may be read while
    #: the blocks are (see ledger.verify.stream).
    snapshot = True

    def __init__(self, conn: apsw.Connection, tables: dict[str, list[str]]) -> None:
        self.conn, self.tables = conn, tables

    def table_columns(self) -> dict[str, list[str]]:
        return {t: c for t, c in self.tables.items() if not t.startswith("sqlite_")}

    def rows(self, table: str, columns: Sequence[str],
             pk: Sequence[str]) -> Iterator[tuple[Any, ...]]:
        cols = ", ".join(f"[{c}]" for c in columns)
        order = ", ".join(f"[{c}]" for c in pk)
        return self.conn.execute(f"SELECT {cols} FROM [{table}]" + (
            f" ORDER BY {order}" if order else ""))  # no order: a plain scan, far cheaper


class StoreSource:
    """Store files of one chain (a data dir's nodes), a trusted genesis and a journal."""

    def __init__(self, target: str, genesis: Genesis, stores: Sequence[Path],
                 journal: Path | None = None, pinned: Genesis | None = None) -> None:
        if not stores:
            raise SourceError(f"{target} holds no node store (node-*.sqlite)")
        self.target, self._genesis, self._pinned = target, genesis, pinned
        self._paths, self._journal = list(stores), journal
        self.journal_name = journal.name if journal is not None else "journal"
        self._nodes: list[SqliteNode] = []
        self._conns: list[apsw.Connection] = []

    def genesis(self) -> Genesis:
        """The genesis to trust: the pinned one, which the stored one must equal."""
        pinned = self._pinned
        if pinned is not None and pinned.hash != self._genesis.hash:
            raise fail("genesis_mismatch", 0, self.target, expected=pinned.hash.hex(),
                       found=self._genesis.hash.hex(),
                       detail="the data dir's genesis.json is not the genesis you pinned")
        return pinned or self._genesis

    def nodes(self) -> list[SqliteNode]:
        if not self._nodes:
            self._nodes = [SqliteNode(p) for p in self._paths]
        return self._nodes

    def pending(self) -> Iterator[tuple[Any, ...]] | None:
        """Journal rows ``(n, id, wire)``; a stray table or sequence row is a failure."""
        if self._journal is None or not self._journal.is_file():
            return None
        conn = open_readonly(self._journal)
        self._conns.append(conn)
        name = self._journal.name
        tables = {n for (n,) in conn.execute("SELECT name FROM sqlite_master WHERE type = "
                                             "'table'")}
        extra = sorted(tables - {"pending", "sqlite_sequence"})
        if extra or "pending" not in tables:
            raise fail("table_unexpected" if extra else "table_missing", None, name,
                       table=extra[0] if extra else "pending")
        (top_row,) = conn.execute("SELECT MAX(n) FROM pending").fetchall()  # one row: MAX
        top = top_row[0] if isinstance(top_row[0], int) else 0  # n: INTEGER PRIMARY KEY
        seq = conn.execute("SELECT name, seq FROM sqlite_sequence").fetchall() \
            if "sqlite_sequence" in tables else []
        covered = bool(seq) and isinstance(seq[0][1], int) and seq[0][1] >= top
        if any(n != "pending" for n, _ in seq) or (top and not covered):
            raise fail("row_mismatch", None, name, table="sqlite_sequence",
                       expected=["pending", f">= {top}"], found=[list(r) for r in seq],
                       detail="the journal's sequence does not cover its rows")
        return conn.execute("SELECT n, id, wire FROM pending ORDER BY n")

    def close(self) -> None:
        for node in self._nodes:
            node.close()
        for conn in self._conns:
            conn.close(True)
