"""A block's changes: the rows its overlay sets or deletes, as :class:`Change` values.

``collect_changes`` walks each table's overlay against the committed values (keys sorted)
and returns the rows in the digest's order (table, then key), with the block's append-only
rows (history, swaps, events); holdings become balance and lot rows, checked on the way.
"""

from __future__ import annotations

from collections.abc import Mapping
from itertools import chain
from operator import itemgetter
from typing import Any

from exchange.errors import InvariantViolation
from exchange.state.model import Lot
from exchange.state.state import State, Table
from exchange.state.tables import BALANCES, LOTS, PLAIN, VALUES_OF, offer_row, promotion_row
from ledger.application import Change, new_change


def _key(key: Any) -> tuple[Any, ...]:
    return key if isinstance(key, tuple) else (key,)


def collect_changes(s: State, balance_delta: dict[str, int] | None = None,
                    appended: Mapping[str, list[Change]] | None = None) -> list[Change]:
    """Every row the block's overlay sets or deletes, and the block's ``appended`` rows
    (history, swaps, events: each list in key order), ordered by table, then key: the
    order of :func:`ledger.application.ordered_changes`, so sorting them is one pass.

    When ``balance_delta`` is given it receives, per program, the net change of all balances
    (for the conservation check), and every changed holding is checked on the way.
    """
    tables: dict[str, list[Change]] = {name: rows for name, rows in (appended or {}).items()
                                       if rows}
    for attr, name, to_row, _ in PLAIN:
        table: Table[Any, Any] = getattr(s, attr)
        values = VALUES_OF[name]
        rows = [Change(name, _key(key), None if new is None else values(to_row(key, new)))
                for key, _, new in table.changed()]
        if rows:
            tables[name] = rows
    _promotion_changes(s, tables)
    _offer_changes(s, tables)
    _holding_changes(s, tables, {} if balance_delta is None else balance_delta)
    return list(chain.from_iterable(tables[name] for name in sorted(tables)))


def _promotion_changes(s: State, tables: dict[str, list[Change]]) -> None:
    changes: list[Change] = []
    for (program, source), old, new in s.promotions.changed():
        before = {p.start_ms: p for p in old or ()}
        after = {p.start_ms: p for p in new or ()}
        for start in sorted(before.keys() | after.keys()):
            promo = after.get(start)
            if promo == before.get(start):
                continue
            changes.append(Change("x_promotions", (program, source, start), None if promo is None
                                  else VALUES_OF["x_promotions"](
                                      promotion_row(program, source, promo))))
    if changes:
        tables["x_promotions"] = changes


def _offer_changes(s: State, tables: dict[str, list[Change]]) -> None:
    changes: list[Change] = []
    for program, old, new in s.offers.changed():
        before = {o.id: o for o in old or ()}
        after = {o.id: o for o in new or ()}
        for offer in sorted(before.keys() | after.keys()):
            found = after.get(offer)
            if found != before.get(offer):
                changes.append(Change("x_offers", (program, offer), None if found is None
                                      else VALUES_OF["x_offers"](offer_row(program, found))))
    if changes:
        tables["x_offers"] = changes


def _holding_changes(s: State, tables: dict[str, list[Change]], delta: dict[str, int]) -> None:
    """x_balances rows (account, program, balance, earned) and x_lots rows (account, program,
    expires_ms, amount) of every holding the block changed, each list in key order."""
    balances: list[Change] = []
    lots: list[Change] = []
    append = balances.append
    for key, old, new in s.holdings.changed():
        account, program = key
        held, after, earned = (0, (), 0) if new is None else new
        held_before, before, earned_before = (0, (), 0) if old is None else old
        if new is None:
            append(new_change((BALANCES, key, None)))
        else:
            if held <= 0 or not 0 <= earned <= held:
                raise InvariantViolation(f"holding {key} is not positive or over-earned")
            if old is None or held != held_before or earned != earned_before:
                append(new_change((BALANCES, key, (account, program, held, earned))))
        delta[program] = delta.get(program, 0) + held - held_before
        if before != after:
            _lot_changes(account, program, before, after, held, lots)
    if balances:
        tables[BALANCES] = balances
    if lots:
        tables[LOTS] = lots


_amount = itemgetter(1)


def _lot_changes(account: str, program: str, before: tuple[Lot, ...], after: tuple[Lot, ...],
                 held: int, out: list[Change]) -> None:
    """Rows for the lots that differ between two expiry-sorted lot lists, in expiry order.

    A holding has up to one lot per day of its program's expiry period, and a record changes
    the newest lots (earning) or the oldest (spending): a long common prefix or suffix is
    dropped by one tuple comparison (in C) before the merge walk. ``after`` must sum to at
    most ``held`` (the rest never lapses; :func:`exchange.state.audit.audit` checks that it is all
    of it in a program with an expiry period).
    """
    if after and sum(map(_amount, after)) > held:
        raise InvariantViolation(f"lots of {(account, program)} exceed its balance")
    count_before, count_after = len(before), len(after)
    if count_before > 2 and count_after > 2:
        same = min(count_before, count_after) - 1
        if before[:same] == after[:same]:
            before, after = before[same:], after[same:]
        elif before[count_before - same:] == after[count_after - same:]:
            before, after = before[:count_before - same], after[:count_after - same]
        count_before, count_after = len(before), len(after)
    append = out.append
    i = j = 0
    while i < count_before or j < count_after:
        if j == count_after or (i < count_before and before[i][0] < after[j][0]):
            append(new_change((LOTS, (account, program, before[i][0]), None)))
            i += 1
            continue
        expires_ms, amount = after[j]
        same_time = i < count_before and before[i][0] == expires_ms
        if not same_time or before[i][1] != amount:
            if amount <= 0:
                raise InvariantViolation(f"lot of {account[:12]}/{program} is not positive")
            append(new_change((LOTS, (account, program, expires_ms),
                               (account, program, expires_ms, amount))))
        i += same_time
        j += 1

