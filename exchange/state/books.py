"""The issuer's books: per-program, per-day movement counters kept under the state commitment.

At the end of every block, :func:`record_books` turns the change of each touched program's
lifetime counters into the day's ``x_books`` row for that program and the rate version the
block ran at, and the change of each obligation into the day's ``x_dues`` row. A statement
for any range of days is then a range sum over a few rows (``exchange.statement``), not a
replay, and the verifier checks these rows like every other derived row.

Every counter here is at most a lifetime counter it is derived from (checked at check time
against ``counter_max`` with ``counter_limit_reached``), so none can overflow; the hook checks
that as an invariant. The table specs and row builders for ``x_pending``, ``x_books`` and
``x_dues`` live here too; :mod:`exchange.state.tables` lists them with the others.

:func:`record_aging` books, per program and day, the points added to and removed from each
lapse month (``YYYY-MM`` of a lot's ``expires_ms``, or ``never`` for the rest of a balance) by
the block's holding changes, so the aging at the last block of any period is a sum over the
rows before its end (``exchange.statement``). ``x_settlements`` keeps each settlement payment
with the obligations standing just before it, for the statement's list.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import astuple, fields
from datetime import date, timedelta
from typing import Any

from exchange.errors import InvariantViolation, invariant
from exchange.limits import counter_max, day_ms
from exchange.state.env import Env
from exchange.state.model import Aging, Book, Due, Holding, PendingIssue, Program, Settlement
from exchange.state.state import State
from ledger.application import Row, TableSpec

S, N = str, int
BOOK_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(Book))
SETTLEMENT_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(Settlement))
#: The aging bucket of points that never lapse.
NEVER = "never"
_EPOCH = date(1970, 1, 1)

BOOK_SPECS: tuple[TableSpec, ...] = (
    TableSpec("x_pending", {"issue": S, "account": S, "program": S, "amount": N,
                            "vests_ms": N, "height": N, "void_record": S},
              ("issue",), (("account",), ("program",)), True),
    TableSpec("x_books", {"program": S, "day": N, "version": N,
                          **{name: N for name in BOOK_FIELDS}},
              ("program", "day", "version"), (), True),
    TableSpec("x_dues", {"debtor": S, "creditor": S, "day": N, "accrued": N, "settled": N},
              ("debtor", "creditor", "day"), (("creditor",),), True),
    TableSpec("x_aging", {"program": S, "day": N, "lapses": S, "added": N, "removed": N},
              ("program", "day", "lapses"), (), True),
    TableSpec("x_settlements", {"height": N, "idx": N, **{
        name: (S if name in ("record", "payer", "payee", "reference") else N)
        for name in SETTLEMENT_FIELDS}}, ("height", "idx"), (("payer",), ("payee",)), True),
)


def _pending_row(k: str, v: PendingIssue) -> Row:
    return {"issue": k, "account": v.account, "program": v.program, "amount": v.amount,
            "vests_ms": v.vests_ms, "height": v.height, "void_record": v.void_record}


def _book_row(k: tuple[str, int, int], v: Book) -> Row:
    return {"program": k[0], "day": k[1], "version": k[2], **dict(zip(
        BOOK_FIELDS, astuple(v), strict=True))}


def _due_row(k: tuple[str, str, int], v: Due) -> Row:
    return {"debtor": k[0], "creditor": k[1], "day": k[2], "accrued": v.accrued,
            "settled": v.settled}


#: (state attribute, table, row of (key, value), (key, value) of row), as
#: exchange.state.tables.PLAIN.
BOOK_PLAIN: tuple[tuple[str, str, Any, Any], ...] = (
    ("pending", "x_pending", _pending_row, lambda r: (r["issue"], PendingIssue(
        r["account"], r["program"], r["amount"], r["vests_ms"], r["height"],
        r["void_record"]))),
    ("books", "x_books", _book_row, lambda r: ((r["program"], r["day"], r["version"]), Book(
        *(r[name] for name in BOOK_FIELDS)))),
    ("dues", "x_dues", _due_row, lambda r: ((r["debtor"], r["creditor"], r["day"]), Due(
        r["accrued"], r["settled"]))),
    ("aging", "x_aging", lambda k, v: {"program": k[0], "day": k[1], "lapses": k[2],
                                       "added": v.added, "removed": v.removed},
     lambda r: ((r["program"], r["day"], r["lapses"]), Aging(r["added"], r["removed"]))),
    ("settlements", "x_settlements", lambda k, v: {"height": k[0], "idx": k[1], **dict(zip(
        SETTLEMENT_FIELDS, astuple(v), strict=True))},
     lambda r: ((r["height"], r["idx"]), Settlement(*(r[name] for name in SETTLEMENT_FIELDS)))),
)


def movements(old: Program | None, new: Program) -> Book:
    """The change from ``old`` to ``new`` counters as one book (``pending``: the new level)."""
    def d(name: str) -> int:
        return int(getattr(new, name)) - (int(getattr(old, name)) if old is not None else 0)

    outflow = d("redeemed") + d("swapped_out") + d("expired")
    return Book(issued=d("issued") - d("promoted"), bonus=d("promoted"), voided=d("voided"),
                redeemed=d("redeemed"), swapped_in=d("swapped_in"),
                swapped_out=d("swapped_out"), expired=d("expired"),
                vested=d("supply") + outflow, pending=new.pending)


def record_books(s: State, env: Env) -> None:
    """Add the block's movements to the day's book of every program and pair it touched."""
    for code in sorted(s.programs.work):
        new = s.programs.work[code]
        if new is None:
            raise InvariantViolation(f"program {code} deleted")
        old = s.programs.base.get(code)
        moved = movements(old, new)
        if moved == Book(pending=moved.pending) and (old is None or old.pending == new.pending):
            continue  # terms or rate only
        book = s.books.edit_or_add((code, env.day, new.rate_version), Book)
        for name in BOOK_FIELDS[:-1]:
            total = getattr(book, name) + getattr(moved, name)
            invariant(0 <= total <= counter_max, f"book {name} of {code} out of range")
            setattr(book, name, total)
        book.pending = moved.pending
    for pair in sorted(s.obligations.work):
        new_ob = s.obligations.work[pair]
        if new_ob is None:
            raise InvariantViolation(f"obligation {pair} deleted")
        old_ob = s.obligations.base.get(pair)
        accrued = new_ob.accrued - (old_ob.accrued if old_ob else 0)
        settled = new_ob.settled - (old_ob.settled if old_ob else 0)
        if accrued or settled:
            due = s.dues.edit_or_add((*pair, env.day), Due)
            due.accrued += accrued
            due.settled += settled
            invariant(0 <= due.accrued <= counter_max and 0 <= due.settled <= counter_max,
                      f"dues of {pair} out of range")


def lapse_month(expires_ms: int, offset_ms: int) -> str:
    """``YYYY-MM`` of the alliance's day on which a lot lapses."""
    found = _EPOCH + timedelta(days=(expires_ms + offset_ms) // day_ms)
    return f"{found.year:04d}-{found.month:02d}"


def _lots_and_rest(held: Holding | None) -> tuple[dict[int, int], int]:
    """A holding's lots by ``expires_ms`` and the part of its balance without a lot."""
    if held is None:
        return {}, 0
    balance, lots, _ = held
    by_expiry = dict(lots)  # one lot per expires_ms (the x_lots key)
    rest = balance - sum(by_expiry.values())
    invariant(rest >= 0 and len(by_expiry) == len(lots), "lots do not fit the balance")
    return by_expiry, rest


def record_aging(s: State, env: Env) -> None:
    """Book the block's change of each program's points per lapse month on the day's rows.

    Only the lots a holding gained, lost or changed are looked at (with the part of its
    balance without a lot, under :data:`NEVER`), so a block costs what it touched."""
    offset = env.params.day_offset_ms
    months: dict[int, str] = {}
    deltas: dict[tuple[str, str], int] = defaultdict(int)
    base = s.holdings.base
    for key, new in s.holdings.work.items():
        old = base.get(key)
        if new == old:
            continue
        (new_lots, new_rest), (old_lots, old_rest) = _lots_and_rest(new), _lots_and_rest(old)
        if new_rest != old_rest:
            deltas[(key[1], NEVER)] += new_rest - old_rest
        if new_lots == old_lots:
            continue
        for expires_ms in new_lots.keys() | old_lots.keys():
            change = new_lots.get(expires_ms, 0) - old_lots.get(expires_ms, 0)
            if change:
                month = months.get(expires_ms)
                if month is None:
                    month = months[expires_ms] = lapse_month(expires_ms, offset)
                deltas[(key[1], month)] += change
    for code, bucket in sorted(deltas):
        change = deltas[(code, bucket)]
        if change:
            row = s.aging.edit_or_add((code, env.day, bucket), Aging)
            if change > 0:
                row.added += change
            else:
                row.removed -= change
            invariant(row.added <= counter_max and row.removed <= counter_max,
                      f"aging of {code} out of range")
