"""The application rows the replay expects, and their comparison with a node's tables.

Tables the application restores from (``restore=True``: programs, balances, lots... bounded
by the number of accounts) are not kept: at a node's head their rows are the application's
committed state (APP-7, ``Application.rows``), which the changes of every block built up.
History and index tables (``restore=False``, growing with the chain) are compared block by
block (``verify_stream``) or go to a scratch SQLite file declared like the store's tables, so
memory stays flat however long the chain. Values are given the column affinities SQLite gives
them in the store, so an integer written to a text column compares as the store returns it.
"""

from __future__ import annotations

import operator
import shutil
import sqlite3
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import partial
from itertools import groupby
from operator import is_not, itemgetter
from pathlib import Path
from typing import Any

from ledger.application import Change, TableSpec, Values
from ledger.verify.compare import compare_rows, sql_order
from ledger.verify.failure import VerifyFailed, fail

HEIGHT = "_height"
_AFFINITY = {int: "INTEGER", bool: "INTEGER", str: "TEXT", float: "FLOAT", bytes: "BLOB"}
_table_of, _row_of = itemgetter(0), itemgetter(2)
_is_row = partial(is_not, None)
#: ``found(in_order)``: a node's rows of a table, in key order or (cheaper) in any order;
#: None when the node does not serve them.
Found = Callable[[bool], Iterable[tuple[Any, ...]] | None]


class _Table:
    """How one application table's rows are keyed, typed and kept."""

    def __init__(self, spec: TableSpec) -> None:
        self.name, self.restore = spec.name, spec.restore
        self.columns = tuple(spec.columns)
        self.kinds = tuple(spec.columns.values())
        self.pk_at = tuple(self.columns.index(c) for c in spec.pk)
        first = self.pk_at[0]  # keys are tuples, also of one column (a slice, in C)
        self.key = itemgetter(*self.pk_at) if len(self.pk_at) > 1 else itemgetter(
            slice(first, first + 1))
        #: Rows of block ``h`` have keys that start with ``h`` and are never rewritten.
        self.append_only = not spec.restore and spec.pk[0] == "height"
        self.written = 0  # rows written, when streamed


class ExpectedRows:
    """Every application row as the replay wrote it.

    ``rows_of(table)``: the rows of a restore table in the application's committed state.
    ``streamed``: append-only tables are not kept; each block's rows of them are left in
    :attr:`block` (key order) for :class:`~ledger.verify.stream.StreamedRows` to compare.
    """

    def __init__(self, specs: Iterable[TableSpec], rows_of: Callable[[str], Iterable[Values]],
                 streamed: bool = False) -> None:
        specs = list(specs)
        self.tables = {s.name: _Table(s) for s in specs}
        self.rows_of, self.streamed = rows_of, streamed
        self._counts: dict[str, int] = {}
        self.block: dict[str, list[tuple[Any, ...]]] = {}
        self._probe = sqlite3.connect(":memory:")
        self._probe.execute("CREATE TABLE p (i INTEGER, t TEXT, r FLOAT, b BLOB)")
        self._dir = tempfile.mkdtemp(prefix="jifentong-verify-")
        self.conn = sqlite3.connect(Path(self._dir) / "expected.sqlite", isolation_level=None)
        for pragma in ("journal_mode=OFF", "synchronous=OFF", "cache_size=-32000"):
            self.conn.execute(f"PRAGMA {pragma}")
        self._sql: dict[str, tuple[str, str, str, str]] = {}
        for spec in specs:
            if not spec.restore and not self.is_streamed(spec.name):
                self._scratch_table(spec)
        self.conn.execute("BEGIN")

    def _scratch_table(self, spec: TableSpec) -> None:
        """A table declared like the store's (same affinities), plus the writing height."""
        declared = [f"[{c}] {_AFFINITY.get(kind, '')}".rstrip()
                    for c, kind in spec.columns.items()]
        pk = ", ".join(f"[{c}]" for c in spec.pk)
        self.conn.execute(f"CREATE TABLE [{spec.name}] ({', '.join(declared)}, "
                          f"[{HEIGHT}] INTEGER, PRIMARY KEY ({pk}))")
        cols = [f"[{c}]" for c in spec.columns]
        where = " AND ".join(f"[{c}] = ?" for c in spec.pk)
        order = ", ".join(f"[{c}]" for c in spec.pk)
        self._sql[spec.name] = (
            f"INSERT OR REPLACE INTO [{spec.name}] ({', '.join(cols)}, {HEIGHT}) "
            f"VALUES ({', '.join('?' * (len(cols) + 1))})",
            f"DELETE FROM [{spec.name}] WHERE {where}",
            f"SELECT {', '.join(cols)} FROM [{spec.name}] ORDER BY {order}",
            f"SELECT {HEIGHT} FROM [{spec.name}] WHERE {where}")

    def _affine(self, value: Any, kind: type) -> Any:
        """``value`` as a store column declared for ``kind`` returns it."""
        column = {int: "i", bool: "i", str: "t", float: "r", bytes: "b"}.get(kind)
        if column is None:
            return value
        self._probe.execute("DELETE FROM p")
        self._probe.execute(f"INSERT INTO p ({column}) VALUES (?)", (value,))
        return self._probe.execute(f"SELECT {column} FROM p").fetchone()[0]

    def _typed(self, values: Iterable[Any], kinds: tuple[type, ...]) -> tuple[Any, ...]:
        return tuple(v if v is None or type(v) is k else self._affine(v, k)
                     for v, k in zip(values, kinds, strict=True))

    def apply(self, height: int, changes: Sequence[Change]) -> None:
        """One block's changes, in :func:`~ledger.application.ordered_changes` order, as
        ledger.store writes them: per table, deletes first, then upserts.

        Rows of restore tables are only checked for their width here (the committed state
        gives them at the head). Kept rows hold the values as the application gave them;
        SQLite's affinities are applied only when a comparison needs them (see
        :meth:`compare`). A table's changes are handled together, so the work per row is
        done in C."""
        tables, block = self.tables, self.block
        block.clear()
        seen: set[str] = set()
        for name, group in groupby(changes, _table_of):
            if name in seen:
                raise AssertionError("ExpectedRows.apply takes changes in ordered_changes order")
            seen.add(name)
            table = tables[name]
            run = list(group)
            upserts = list(map(_row_of, run))
            if None in upserts:  # deletes first, as the store does
                self._delete(table, height, [c.key for c in run if c.row is None])
                upserts = list(filter(_is_row, upserts))
                if not upserts:
                    continue
            if set(map(len, upserts)) != {len(table.columns)}:
                raise fail("replay_error", height, table=name, detail="the application wrote "
                           f"a row that does not have the table's {len(table.columns)} columns")
            if table.restore:
                continue
            if self.streamed and table.append_only:
                block[name] = self._in_key_order(table, height, upserts)
            else:
                sql = self._sql[name]
                self.conn.executemany(sql[0], [(*v, height) for v in upserts])

    def _delete(self, table: _Table, height: int, keys: list[tuple[Any, ...]]) -> None:
        if self.streamed and table.append_only:
            raise _not_append_only(table.name, height, keys[0])
        if not table.restore:
            self.conn.executemany(self._sql[table.name][1], keys)

    def is_streamed(self, name: str) -> bool:
        """True when ``name``'s rows are compared block by block, not kept."""
        return self.streamed and self.tables[name].append_only

    def _in_key_order(self, table: _Table, height: int,
                      rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        """A block's rows of an append-only table in key order, the last write of a key
        winning (as in the store); every key must start with the block's height."""
        keys = list(map(table.key, rows))
        table.written += len(rows)
        try:  # the usual case, in C: keys in order, so all of this height when both ends are
            if all(map(operator.lt, keys, keys[1:])) and keys[0][0] == height == keys[-1][0]:
                return rows
        except TypeError:  # keys of mixed types: SQLite's order below
            pass
        if any(key[0] != height for key in keys):
            bad = next(key for key in keys if key[0] != height)
            raise _not_append_only(table.name, height, bad)
        latest = dict(zip(keys, rows, strict=True))
        table.written -= len(rows) - len(latest)
        return [latest[key] for key in sorted(latest, key=sql_order)]

    def typed(self, name: str) -> Callable[[list[tuple[Any, ...]]], list[tuple[Any, ...]]]:
        """Rows of ``name`` with the column affinities the store gives them."""
        kinds = self.tables[name].kinds
        return lambda rows: [self._typed(values, kinds) for values in rows]

    def count(self, name: str) -> int:
        table = self.tables[name]
        if table.restore:
            found = self._counts.get(name)
            return len(list(self.rows_of(name))) if found is None else found
        if self.is_streamed(name):
            return table.written
        return int(self.conn.execute(f"SELECT COUNT(*) FROM [{name}]").fetchone()[0])

    def compare(self, name: str, found: Found, node: str, at: int) -> int:
        """Compare a node's rows of ``name`` with the expected ones; raises on the first
        difference (in key order), returns the rows compared."""
        table = self.tables[name]
        if not table.restore:
            rows = found(True)
            if rows is None:
                return 0
            _, _, select, height = self._sql[name]
            return compare_rows(self.conn.execute(select), rows, table.pk_at, name, node, at,
                                lambda key: _first(self.conn.execute(height, key)))
        rows = found(False)
        if rows is None:
            return 0
        mine = list(self.rows_of(name))
        self._counts[name] = len(mine)
        found_rows = list(map(tuple, rows))
        try:  # the usual case, in C: the same rows, none twice (APP-7's rows are distinct)
            stored = set(found_rows)
            if len(stored) == len(found_rows) == len(mine) and stored.issuperset(mine):
                return len(found_rows)
        except TypeError:  # an unhashable value: the merge below says what differs
            pass
        expected = dict(zip(map(table.key, mine), mine, strict=True))
        typed = sorted((self._typed(values, table.kinds) for values in expected.values()),
                       key=lambda values: sql_order(table.key(values)))
        return compare_rows(typed, found(True) or (), table.pk_at, name, node, at)

    def close(self) -> None:
        self.conn.close()
        self._probe.close()
        shutil.rmtree(self._dir, ignore_errors=True)


def _not_append_only(table: str, height: int, key: Any) -> VerifyFailed:
    return fail("replay_error", height, table=table, key=tuple(key),
                detail="the application rewrote a row of an earlier block in a history "
                "table (keyed by height first, not restored): the verifier compares those "
                "block by block and requires them append-only")


def _first(cursor: Iterator[tuple[Any, ...]]) -> Any:
    row = next(cursor, None)
    return None if row is None else row[0]
