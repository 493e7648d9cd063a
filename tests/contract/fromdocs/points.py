"""STATE.md §5 credits and debits, and the swap of ECONOMICS.md §6-§7, as rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .tables import Row, Tables

DAY_MS = 86_400_000
MICRO = 1_000_000
Part = tuple[int | None, int]  # (lot expires_ms, or None for the part that never lapses; points)


@dataclass
class Context:
    """One block being executed: its height, time, day, the record at hand and the n counters."""

    tables: Tables
    day_offset_ms: int
    height: int = 0
    time: int = 0
    idx: int = -1
    record: str = ""
    counters: dict[tuple[str, int, int], int] = field(default_factory=dict)

    @property
    def day(self) -> int:
        """The block's day number (STATE.md §1)."""
        return (self.time + self.day_offset_ms) // DAY_MS

    def day_start(self, day: int) -> int:
        """The ms at which day number `day` starts."""
        return day * DAY_MS - self.day_offset_ms

    def _n(self, table: str) -> int:
        slot = (table, self.height, self.idx)
        n = self.counters.get(slot, 0)
        self.counters[slot] = n + 1
        return n

    def history(self, account: str, code: str, kind: str, delta: int, balance: int,
                ref: str) -> None:
        """One x_history row (STATE.md §6)."""
        self.tables.append("x_history", {
            "height": self.height, "idx": self.idx, "n": self._n("x_history"),
            "account": account, "program": code, "kind": kind, "delta": delta,
            "balance": balance, "record": self.record, "ref": ref})

    def event(self, kind: str, subject: str, detail: str) -> None:
        """One x_events row (STATE.md §7)."""
        self.tables.append("x_events", {
            "height": self.height, "idx": self.idx, "n": self._n("x_events"), "kind": kind,
            "subject": subject, "detail": detail, "record": self.record})

    def program(self, code: str) -> Row:
        """The program's row (it must exist: the record was accepted)."""
        row = self.tables.get("x_programs", (code,))
        if row is None:
            raise KeyError(f"no program {code}")
        return row

    def bump(self, row: Row, **deltas: int) -> None:
        """Add deltas to integer columns of row, in place."""
        for name, delta in deltas.items():
            row[name] = as_int(row[name]) + delta

    def lot_expiry(self, program: Row) -> int | None:
        """Start of day d + E + 1 for a credit now, or None when the program never lapses."""
        days = as_int(program["expiry_days"])
        return self.day_start(self.day + days + 1) if days > 0 else None


def present(row: Row | None, what: str) -> Row:
    """The row, which a committed (so accepted) record guarantees exists."""
    if row is None:
        raise LookupError(f"no {what} row: the replay and the chain disagree")
    return row


def as_int(value: Any) -> int:
    """An integer column's value."""
    if not isinstance(value, int):
        raise TypeError(f"not an integer: {value!r}")
    return value


def add_points(ctx: Context, account: str, code: str, parts: list[Part], earned: int,
               kind: str, ref: str) -> None:
    """A credit: balance (and earned) up, lots up per part, one history row."""
    amount = sum(a for _, a in parts)
    tables = ctx.tables
    row = tables.get("x_balances", (account, code)) or {
        "account": account, "program": code, "balance": 0, "earned": 0}
    ctx.bump(row, balance=amount, earned=earned)
    tables.put("x_balances", row)
    for expires, part in parts:
        if expires is None or part == 0:
            continue
        lot = tables.get("x_lots", (account, code, expires)) or {
            "account": account, "program": code, "expires_ms": expires, "amount": 0}
        ctx.bump(lot, amount=part)
        tables.put("x_lots", lot)
    ctx.history(account, code, kind, amount, as_int(row["balance"]), ref)


def take_points(ctx: Context, account: str, code: str, amount: int, kind: str,
                ref: str) -> tuple[list[Part], int]:
    """A debit, soonest-expiring lots first: the parts taken and the earned points taken."""
    tables = ctx.tables
    row = tables.get("x_balances", (account, code))
    if row is None or as_int(row["balance"]) < amount:
        raise ValueError(f"{account}/{code}: cannot take {amount}")
    lots = sorted((lot for lot in tables.select("x_lots")
                   if lot["account"] == account and lot["program"] == code),
                  key=lambda lot: as_int(lot["expires_ms"]))
    parts: list[Part] = []
    left = amount
    for lot in lots:
        if left == 0:
            break
        part = min(left, as_int(lot["amount"]))
        parts.append((as_int(lot["expires_ms"]), part))
        left -= part
        key = (account, code, lot["expires_ms"])
        if part == as_int(lot["amount"]):
            tables.delete("x_lots", key)
        else:
            ctx.bump(lot, amount=-part)
            tables.put("x_lots", lot)
    if left:
        parts.append((None, left))
    balance = as_int(row["balance"]) - amount
    earned = min(as_int(row["earned"]), balance)
    taken_earned = as_int(row["earned"]) - earned
    if balance == 0:
        tables.delete("x_balances", (account, code))
    else:
        row.update(balance=balance, earned=earned)
        tables.put("x_balances", row)
    ctx.history(account, code, kind, -amount, balance, ref)
    return parts, taken_earned


@dataclass(frozen=True)
class SwapTerms:
    """What one swap burns and mints (ECONOMICS.md §6)."""

    taken: int
    base: int
    bonus: int
    give_rate: int
    get_rate: int


def minting_rate(program: Row) -> int:
    """The lower of the rate in effect and a pending rate (ECONOMICS.md §8)."""
    rate = as_int(program["rate"])
    pending = program["pending_rate"]
    return min(rate, pending) if isinstance(pending, int) else rate


def promotion_bp(ctx: Context, give: str, get: str) -> int:
    """Bonus of get's promotion for give in force at the block time, else 0."""
    for promo in ctx.tables.select("x_promotions"):
        if (promo["program"], promo["source"]) == (get, give) and \
                as_int(promo["start_ms"]) <= ctx.time < as_int(promo["end_ms"]):
            return as_int(promo["bonus_bp"])
    return 0


def swap_terms(ctx: Context, holder: str, give: Row, get: Row, amount: int) -> SwapTerms:
    """base, taken, bonus per ECONOMICS.md §6-§7, from the committed-so-far rows."""
    ra, rb = as_int(give["rate"]), minting_rate(get)
    step = as_int(get["step_in"])
    base = amount * rb // ra // step * step
    taken = -(-base * ra // rb)
    holding = present(ctx.tables.get("x_balances", (holder, give["code"])), "holding")
    unearned = as_int(holding["balance"]) - as_int(holding["earned"])
    eligible = max(0, taken - unearned)
    eligible_base = min(base, eligible * rb // ra)
    bp = promotion_bp(ctx, as_str(give["code"]), as_str(get["code"]))
    return SwapTerms(taken, base, eligible_base * bp // 10_000, ra, rb)


def as_str(value: Any) -> str:
    """A string column's value."""
    if not isinstance(value, str):
        raise TypeError(f"not a string: {value!r}")
    return value
