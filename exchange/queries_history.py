"""Reads of the exchange's append-only rows: balance movements, swaps and events.

The exchange owns ``x_history``, ``x_swaps`` and ``x_events`` (keyed by ``(height, idx, n)``,
docs/STATE.md), so the SQL that reads them lives here and nowhere else; the explorer, the
routers and the event stream call these functions. Each takes a read-only connection to a
validator's store and returns typed rows. Every read is a primary-key or index probe bounded by
a ``limit`` (at most :data:`exchange.limits.rows_per_read_max`), or a grouped read of one
block's rows.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from exchange.errors import invariant
from exchange.limits import rows_per_read_max

#: A keyset position ``(height, idx, n)``: a page holds the rows strictly before it.
Position = tuple[int, ...]


@dataclass(frozen=True)
class Movement:
    """One balance movement of an account (an ``x_history`` row without the account)."""

    height: int
    idx: int
    n: int
    program: str
    kind: str
    delta: int
    balance: int
    record: str
    ref: str


@dataclass(frozen=True)
class RecordMovement:
    """One balance movement a record made (an ``x_history`` row of a known record)."""

    n: int
    account: str
    program: str
    kind: str
    delta: int
    balance: int
    ref: str


@dataclass(frozen=True)
class BlockMovement:
    """One balance movement in a block, by the index of the record that made it."""

    idx: int
    account: str
    program: str
    kind: str
    delta: int
    balance: int


@dataclass(frozen=True)
class MovementTotal:
    """Movements of one program and kind summed: ``holdings`` rows, ``points`` their deltas."""

    program: str
    kind: str
    holdings: int
    points: int


@dataclass(frozen=True)
class HeightTotal:
    """The sum of one block's movements of one program and kind."""

    height: int
    program: str
    kind: str
    points: int


@dataclass(frozen=True)
class Event:
    """A governance or lifecycle event (an ``x_events`` row)."""

    height: int
    idx: int
    n: int
    kind: str
    subject: str
    detail: str
    record: str


@dataclass(frozen=True)
class Swap:
    """What one swap record did (an ``x_swaps`` row, values in micro-yuan)."""

    give: str
    get: str
    taken: int
    base: int
    bonus: int
    out: int
    value_burned: int
    value_minted: int
    give_rate: int
    get_rate: int
    holder: str


def _bounded(limit: int) -> int:
    invariant(0 < limit <= rows_per_read_max, "limit %s outside 1..%s", limit, rows_per_read_max)
    return limit


def account_history(conn: sqlite3.Connection, account: str, before: Position,
                    limit: int) -> list[Movement]:
    """An account's movements strictly before ``before``, newest first, at most ``limit``."""
    rows = conn.execute(
        "SELECT height, idx, n, program, kind, delta, balance, record, ref FROM x_history "
        "WHERE account = ? AND (height, idx, n) < (?, ?, ?) "
        "ORDER BY height DESC, idx DESC, n DESC LIMIT ?", (account, *before, _bounded(limit)))
    return [Movement(*row) for row in rows]


def has_history(conn: sqlite3.Connection, account: str) -> bool:
    """Whether ``account`` ever held points (one probe of the account index)."""
    return conn.execute("SELECT 1 FROM x_history WHERE account = ? LIMIT 1",
                        (account,)).fetchone() is not None


def record_movements(conn: sqlite3.Connection, height: int, idx: int,
                     limit: int) -> list[RecordMovement]:
    """The movements of the record at ``(height, idx)`` in order, at most ``limit``."""
    rows = conn.execute("SELECT n, account, program, kind, delta, balance, ref FROM x_history "
                        "WHERE height = ? AND idx = ? ORDER BY n LIMIT ?",
                        (height, idx, _bounded(limit)))
    return [RecordMovement(*row) for row in rows]


def block_movements(conn: sqlite3.Connection, height: int) -> list[BlockMovement]:
    """Every movement of the records of block ``height`` (bounded by the block's size)."""
    rows = conn.execute("SELECT idx, account, program, kind, delta, balance FROM x_history "
                        "WHERE height = ? ORDER BY idx, n", (height,))
    return [BlockMovement(*row) for row in rows]


def begin_block_totals(conn: sqlite3.Connection, height: int) -> list[MovementTotal]:
    """The movements block ``height`` made before its records (expiry), by program and kind."""
    rows = conn.execute("SELECT program, kind, COUNT(*), SUM(delta) FROM x_history "
                        "WHERE height = ? AND idx = -1 GROUP BY program, kind", (height,))
    return [MovementTotal(*row) for row in rows]


def height_totals(conn: sqlite3.Connection, after: int, upto: int) -> list[HeightTotal]:
    """Per block in ``(after, upto]``, per program and kind, the sum of the movements."""
    rows = conn.execute("SELECT height, program, kind, SUM(delta) FROM x_history "
                        "WHERE height > ? AND height <= ? GROUP BY height, program, kind",
                        (after, upto))
    return [HeightTotal(*row) for row in rows]


def record_swap(conn: sqlite3.Connection, height: int, idx: int) -> Swap | None:
    """The swap made by the record at ``(height, idx)``; None when it is not a swap."""
    row = conn.execute("SELECT give, get, taken, base, bonus, out, value_burned, value_minted, "
                       "give_rate, get_rate, holder FROM x_swaps WHERE height = ? AND idx = ?",
                       (height, idx)).fetchone()
    return None if row is None else Swap(*row)


_EVENT = "SELECT height, idx, n, kind, subject, detail, record FROM x_events "
_NEWEST = "AND (height, idx, n) < (?, ?, ?) ORDER BY height DESC, idx DESC, n DESC LIMIT ?"
_GOVERNANCE = ("(kind LIKE 'member\\_%' ESCAPE '\\' OR kind LIKE 'merchant\\_%' ESCAPE '\\' "
               "OR kind = 'key_rotated')")


def record_events(conn: sqlite3.Connection, height: int, idx: int, limit: int) -> list[Event]:
    """The events of the record at ``(height, idx)`` (-1: the block's start), in order."""
    rows = conn.execute(_EVENT + "WHERE height = ? AND idx = ? ORDER BY n LIMIT ?",
                        (height, idx, _bounded(limit)))
    return [Event(*row) for row in rows]


def governance_events(conn: sqlite3.Connection, before: Position, limit: int) -> list[Event]:
    """Member, merchant and key events strictly before ``before``, newest first."""
    rows = conn.execute(_EVENT + f"WHERE {_GOVERNANCE} " + _NEWEST, (*before, _bounded(limit)))
    return [Event(*row) for row in rows]


def settlement_events(conn: sqlite3.Connection, before: Position, limit: int) -> list[Event]:
    """Settlements recorded strictly before ``before``, newest first."""
    rows = conn.execute(_EVENT + "WHERE kind = 'settled' " + _NEWEST, (*before, _bounded(limit)))
    return [Event(*row) for row in rows]


def subject_events(conn: sqlite3.Connection, subject: str, limit: int) -> list[Event]:
    """The first ``limit`` events about ``subject`` (a merchant, member or program), oldest
    first."""
    rows = conn.execute(_EVENT + "WHERE subject = ? ORDER BY height, idx, n LIMIT ?",
                        (subject, _bounded(limit)))
    return [Event(*row) for row in rows]
