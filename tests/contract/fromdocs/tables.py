"""STATE.md §1-§2: the exchange's tables, and a block's changes as PROTOCOL.md §8 hashes them."""

from __future__ import annotations

from typing import Any

from .canon import CHANGES, STATE, domain_hash, sha

Value = int | str | None
Row = dict[str, Value]
Key = tuple[Value, ...]

# table: (key column count, columns in row order), straight from STATE.md §2.
TABLES: dict[str, tuple[int, tuple[str, ...]]] = {
    "x_params": (1, ("name", "value")),
    "x_regulator": (1, ("id", "name", "pubkey")),
    "x_members": (1, ("id", "name", "pubkey", "validator_key", "status", "since_height",
                      "changed_height")),
    "x_merchants": (1, ("id", "name", "description", "category", "area", "address", "contact",
                        "pubkey", "status", "applied_height", "changed_height")),
    "x_applications": (1, ("merchant", "lapses_ms")),
    "x_keys": (1, ("pubkey", "kind", "owner", "status", "height")),
    "x_programs": (1, ("code", "name", "issuer", "rate", "rate_version", "pending_rate",
                       "pending_version", "pending_ms", "expiry_days", "cap", "transferable",
                       "min_in", "step_in", "daily_in_cap", "accepts", "created_height",
                       "supply", "issued", "promoted", "redeemed", "swapped_in", "swapped_out",
                       "expired", "return_days", "pending", "voided")),
    "x_rates": (2, ("program", "version", "rate", "posted_ms", "effective_ms", "height",
                    "record")),
    "x_promotions": (3, ("program", "source", "start_ms", "end_ms", "bonus_bp", "height",
                         "record")),
    "x_balances": (2, ("account", "program", "balance", "earned")),
    "x_lots": (3, ("account", "program", "expires_ms", "amount")),
    "x_inbound": (1, ("program", "day", "amount")),
    "x_flows": (2, ("source", "target", "swaps", "given", "received", "bonus", "value")),
    "x_obligations": (2, ("debtor", "creditor", "accrued", "settled")),
    "x_positions": (1, ("merchant", "receivable", "payable", "paid", "received", "net")),
    "x_offers": (2, ("program", "offer", "item", "price", "area", "valid_from_ms",
                     "valid_until_ms", "height", "record")),
    "x_pending": (1, ("issue", "account", "program", "amount", "vests_ms", "height",
                      "void_record")),
    "x_books": (3, ("program", "day", "version", "issued", "bonus", "voided", "redeemed",
                    "swapped_in", "swapped_out", "expired", "vested", "pending")),
    "x_dues": (3, ("debtor", "creditor", "day", "accrued", "settled")),
    "x_aging": (3, ("program", "day", "lapses", "added", "removed")),
    "x_settlements": (2, ("height", "idx", "record", "day", "payer", "payee", "amount_fen",
                          "reference", "owed_before", "payer_net_before", "payee_net_before")),
    "x_history": (3, ("height", "idx", "n", "account", "program", "kind", "delta", "balance",
                      "record", "ref")),
    "x_swaps": (2, ("height", "idx", "record", "holder", "give", "get", "taken", "base",
                    "bonus", "out", "give_version", "get_version", "give_rate", "get_rate",
                    "value_burned", "value_minted", "bonus_value")),
    "x_events": (3, ("height", "idx", "n", "kind", "subject", "detail", "record")),
}
APPEND_ONLY = ("x_history", "x_swaps", "x_events")

Change = tuple[str, Key, list[Value] | None]


def key_of(table: str, row: Row) -> Key:
    """The row's primary-key values in key order."""
    count, columns = TABLES[table]
    return tuple(row[c] for c in columns[:count])


def as_list(table: str, row: Row) -> list[Value]:
    """The row's values in column order; every column must be present, nothing else."""
    columns = TABLES[table][1]
    if set(row) != set(columns):
        raise KeyError(f"{table}: columns {sorted(row)} are not {columns}")
    return [row[c] for c in columns]


class Tables:
    """Committed rows plus the current block's writes, so a block's changes are a diff."""

    def __init__(self) -> None:
        self.rows: dict[str, dict[Key, Row]] = {t: {} for t in TABLES if t not in APPEND_ONLY}
        self.before: dict[tuple[str, Key], Row | None] = {}
        self.appended: list[Change] = []

    def get(self, table: str, key: Key) -> Row | None:
        """A copy of the row, or None."""
        row = self.rows[table].get(key)
        return dict(row) if row is not None else None

    def select(self, table: str) -> list[Row]:
        """Copies of every row of table, in key order."""
        return [dict(self.rows[table][k]) for k in sorted(self.rows[table], key=_sort_key)]

    def put(self, table: str, row: Row) -> None:
        """Insert or replace the row (by its key)."""
        as_list(table, row)
        key = key_of(table, row)
        self._remember(table, key)
        self.rows[table][key] = dict(row)

    def delete(self, table: str, key: Key) -> None:
        """Delete the row if there is one."""
        if key in self.rows[table]:
            self._remember(table, key)
            del self.rows[table][key]

    def append(self, table: str, row: Row) -> None:
        """A new row of an append-only table."""
        self.appended.append((table, key_of(table, row), as_list(table, row)))

    def committed(self, table: str, key: Key) -> Row | None:
        """The row as the previous block left it."""
        if (table, key) in self.before:
            return self.before[(table, key)]
        return self.get(table, key)

    def touched(self, table: str) -> list[Key]:
        """Keys of table written in this block, in key order."""
        return sorted((k for t, k in self.before if t == table), key=_sort_key)

    def end_block(self) -> list[Change]:
        """The block's changes, sorted (PROTOCOL.md §8); starts the next block."""
        changes: list[Change] = list(self.appended)
        for (table, key), old in self.before.items():
            new = self.rows[table].get(key)
            if new != old:
                changes.append((table, key, as_list(table, new) if new is not None else None))
        self.before, self.appended = {}, []
        return sorted(changes, key=lambda c: (c[0], _sort_key(c[1])))

    def _remember(self, table: str, key: Key) -> None:
        if (table, key) not in self.before:
            old = self.rows[table].get(key)
            self.before[(table, key)] = dict(old) if old is not None else None


def _sort_key(key: Key) -> tuple[Any, ...]:
    # One table's keys have one type per position, so Python's tuple order is §8's order
    # (strings by code point, integers numerically, a prefix first).
    return key


def changes_digest(changes: list[Change]) -> bytes:
    """H(0x16 ‖ canonical([[table, key, row], ...]))."""
    return domain_hash(CHANGES, [[t, list(k), r] for t, k, r in changes])


def next_state(previous: bytes, changes: list[Change]) -> bytes:
    """state_h = H(0x12 ‖ state_(h−1) ‖ changes_digest)."""
    return sha(STATE + previous + changes_digest(changes))
