"""Reads of the exchange's holdings rows (``x_balances``) for holder lists and search.

The exchange owns ``x_balances`` (keyed by ``(account, program)`` with a program index,
docs/STATE.md), so the SQL that reads it lives here; the explorer and the bench call these
functions with a read-only connection to a validator's store. Lists are bounded by a
``limit`` (at most :data:`exchange.limits.rows_per_read_max`); grouped reads return one row
per program or per balance length.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from exchange.errors import invariant
from exchange.limits import rows_per_read_max


@dataclass(frozen=True)
class Holder:
    """One account's balance of one program."""

    account: str
    balance: int


@dataclass(frozen=True)
class Holding:
    """How many accounts hold a program and how many points they hold together."""

    holders: int
    held: int


@dataclass(frozen=True)
class Decade:
    """Holders whose balance has ``digits`` decimal digits."""

    digits: int
    holders: int


def _bounded(limit: int) -> int:
    invariant(0 < limit <= rows_per_read_max, "limit %s outside 1..%s", limit, rows_per_read_max)
    return limit


def holders_total(conn: sqlite3.Connection) -> int:
    """Accounts that hold any program (one pass over the primary key)."""
    row = conn.execute("SELECT COUNT(DISTINCT account) FROM x_balances").fetchone()
    return int(row[0]) if row else 0


def holders_per_program(conn: sqlite3.Connection) -> dict[str, int]:
    """Holders of each program with any (one grouped read of the program index)."""
    return {program: count for program, count in
            conn.execute("SELECT program, COUNT(*) FROM x_balances GROUP BY program")}


def holding(conn: sqlite3.Connection, program: str) -> Holding:
    """Holders of ``program`` and the points they hold."""
    row = conn.execute("SELECT COUNT(*), COALESCE(SUM(balance), 0) FROM x_balances "
                       "WHERE program = ?", (program,)).fetchone()
    return Holding(*row) if row else Holding(0, 0)


def top_holders(conn: sqlite3.Connection, program: str, limit: int,
                after: tuple[int, str] | None = None) -> list[Holder]:
    """Holders of ``program`` by balance, largest first, then by account, at most ``limit``;
    with ``after`` (balance, account), those that follow it."""
    if after is None:
        rows = conn.execute("SELECT account, balance FROM x_balances WHERE program = ? "
                            "ORDER BY balance DESC, account LIMIT ?", (program, _bounded(limit)))
    else:
        rows = conn.execute("SELECT account, balance FROM x_balances WHERE program = ? AND "
                            "(balance < ? OR (balance = ? AND account > ?)) "
                            "ORDER BY balance DESC, account LIMIT ?",
                            (program, after[0], after[0], after[1], _bounded(limit)))
    return [Holder(*row) for row in rows]


def balance_decades(conn: sqlite3.Connection, program: str) -> list[Decade]:
    """Holders of ``program`` by the number of digits of their balance, fewest first."""
    rows = conn.execute("SELECT length(balance), COUNT(*) FROM x_balances "
                        "WHERE program = ? GROUP BY 1 ORDER BY 1", (program,))
    return [Decade(*row) for row in rows]


def accounts_between(conn: sqlite3.Connection, low: str, high: str, limit: int) -> list[str]:
    """Accounts holding any program whose key is in ``[low, high)``, in order."""
    rows = conn.execute("SELECT DISTINCT account FROM x_balances WHERE account >= ? "
                        "AND account < ? ORDER BY account LIMIT ?", (low, high, _bounded(limit)))
    return [account for (account,) in rows]


def accounts_holding(conn: sqlite3.Connection, program: str, limit: int) -> list[str]:
    """Some accounts holding ``program`` (in index order), at most ``limit``."""
    rows = conn.execute("SELECT account FROM x_balances WHERE program = ? LIMIT ?",
                        (program, _bounded(limit)))
    return [account for (account,) in rows]
