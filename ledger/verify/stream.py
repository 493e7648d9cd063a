"""Append-only tables compared block by block, as the replay writes them.

History and index tables (``restore=False``, keyed by ``height`` first: the exchange's
history, swaps and events) grow with the chain. Rows of block ``h`` have keys that start
with ``h`` and are never rewritten, so a node's rows, read in key order, fall into blocks in
the order the replay produces them. When the source reads every table from the snapshot its
blocks come from (a store file: ``StoredState.snapshot``), each block's rows are compared
with the node's as soon as they are replayed, and nothing is kept: no scratch copy, no
second pass at the end. The first difference is the one a whole-table merge would report
(keys start with the height), and it is held until the node's head, where stored rows are
judged (after everything else at lower heights).
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import chain
from typing import Any

from ledger.verify.compare import compare_rows
from ledger.verify.failure import VerifyFailed
from ledger.verify.rows import ExpectedRows


class StreamedRows:
    """One node's rows of one append-only table, consumed one block at a time.

    ``typed(rows)`` gives expected rows with the column affinities the store applies, for
    a second look when the rows as the application wrote them differ from the found ones.
    """

    __slots__ = ("_at", "_head", "_node", "_pending", "_rows", "_table", "_typed", "count",
                 "failure")

    def __init__(self, table: str, rows: Iterator[tuple[Any, ...]], height_at: int,
                 node: str, head: int, typed: Any) -> None:
        self._table, self._rows, self._at = table, rows, height_at
        self._node, self._head, self._typed = node, head, typed
        self._pending = next(rows, None)
        self.count = 0
        self.failure: VerifyFailed | None = None

    def block(self, height: int, expected: list[tuple[Any, ...]],
              pk_at: tuple[int, ...]) -> None:
        """Compare the rows of block ``height`` (``expected``, in key order)."""
        if self.failure is not None:
            return
        found = self._take(height)
        if found == expected:
            self.count += len(found)
            return
        try:
            self.count += compare_rows(self._typed(expected), found, pk_at, self._table,
                                       self._node, self._head, lambda _: height)
        except VerifyFailed as exc:
            self.failure = exc

    def _take(self, height: int) -> list[tuple[Any, ...]]:
        """The node's next rows whose height sorts at or before ``height`` (SQLite order:
        NULL, then numbers, then text and blobs)."""
        out, row, at, rows = [], self._pending, self._at, self._rows
        while row is not None:
            value = row[at]
            if type(value) is int:
                if value > height:
                    break
            elif value is not None and (not isinstance(value, float) or value > height):
                break
            out.append(row)
            row = next(rows, None)
        self._pending = row
        return out

    def finish(self, pk_at: tuple[int, ...]) -> int:
        """At the node's head: raise the first difference found, or a row beyond every
        replayed block; returns the rows compared."""
        if self.failure is not None:
            raise self.failure
        rest = self._rows if self._pending is None else chain((self._pending,), self._rows)
        return self.count + compare_rows((), rest, pk_at, self._table, self._node, self._head)


def open_streams(expected: ExpectedRows, node: Any, head: int) -> dict[str, StreamedRows]:
    """A stream per append-only table ``node`` keeps with the expected columns (a table
    missing or declared otherwise is reported at the node's head, before any row)."""
    state = node.state() if expected.streamed else None
    if state is None:
        return {}
    columns = state.table_columns() or {}
    streams = {}
    for name, table in expected.tables.items():
        if not expected.is_streamed(name) or columns.get(name) != list(table.columns):
            continue
        rows = state.rows(name, table.columns, [table.columns[i] for i in table.pk_at])
        if rows is not None:
            streams[name] = StreamedRows(name, iter(rows), table.pk_at[0], node.name, head,
                                         expected.typed(name))
    return streams
