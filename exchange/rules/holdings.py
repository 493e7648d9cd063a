"""Balances and lots: crediting and debiting a holder's points, oldest lots first.

A lot is ``(expires_ms, amount)``. Points earned on day ``d`` under an ``n``-day expiry lapse
at the start of day ``d + n + 1`` (spendable through day ``d + n``), so all points earned on
one day share one lot. Spending, swapping out and transferring always take the lots that
expire first, then points that never lapse; transferred points keep their expiry. Points
minted by a swap lapse no later than the earliest lot given for them (``until_ms``), so a
swap never extends the life of points (ECONOMICS.md section 5).

A holding also counts its ``earned`` points (issued by the issuer, not minted by a swap):
the only ones a promotion bonus applies to. Every debit takes the other points first, so
``earned`` is simply capped by what is left; a transfer carries the earned points it takes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from exchange.errors import InvariantViolation
from exchange.state.env import Env
from exchange.state.model import Holding, Lot, Program

if TYPE_CHECKING:
    from exchange.state.state import State


Taken = tuple[tuple[Lot, ...], int]  # (the lots taken, soonest first; earned points taken)


def balance(s: State, account: str, program: str) -> int:
    """The points of ``program`` that ``account`` holds (0 when none)."""
    holding = s.holdings.get((account, program))
    return holding[0] if holding is not None else 0


def unearned(s: State, account: str, program: str) -> int:
    """The points of the holding that a swap minted (taken before the earned ones)."""
    holding = s.holdings.get((account, program))
    return holding[0] - holding[2] if holding is not None else 0


def lot_expiry_ms(env: Env, program: Program) -> int:
    """When points of ``program`` earned in this block lapse (0 when they never do)."""
    days = program.expiry_days
    if not days:
        return 0
    found = env.lapse_ms.get(days)
    if found is None:  # once per block and expiry period
        found = env.lapse_ms[days] = env.params.day_start_ms(env.day + days + 1)
    return found


def credit(s: State, env: Env, account: str, program: Program, amount: int, kind: str,
           ref: str = "", *, earned: bool = False, until_ms: int = 0) -> None:
    """Add ``amount`` new points (a new or the newest lot) and log the movement.

    ``earned``: the issuer issued them. ``until_ms`` (0: no bound): they lapse no later than
    this, even in a program whose own points never lapse (points minted by a swap).
    """
    key = (account, program.code)
    holding = s.holdings.get(key)
    held, lots, kept = holding if holding is not None else (0, (), 0)
    expires_ms = lot_expiry_ms(env, program)
    if until_ms and (not expires_ms or until_ms < expires_ms):
        expires_ms = until_ms
    if expires_ms:
        lots = _merge(lots, ((expires_ms, amount),))
        s.expiry.add(expires_ms, key)
    _put(s, key, (held + amount, lots, kept + amount if earned else kept))
    env.history(account, program.code, kind, amount, held + amount, ref)


def credit_lots(s: State, env: Env, account: str, program: str, parts: Taken,
                amount: int, kind: str, ref: str = "") -> None:
    """Add points that keep the expiry and the earned count they had (a transfer)."""
    key = (account, program)
    holding = s.holdings.get(key)
    held, lots, kept = holding if holding is not None else (0, (), 0)
    taken_lots, earned = parts
    if taken_lots:
        lots = _merge(lots, taken_lots)
        for expires_ms, _ in taken_lots:
            s.expiry.add(expires_ms, key)
    _put(s, key, (held + amount, lots, kept + earned))
    env.history(account, program, kind, amount, held + amount, ref)


def debit(s: State, env: Env, account: str, program: str, amount: int, kind: str,
          ref: str = "") -> Taken:
    """Take ``amount`` points: lots soonest-expiring first, then points that never lapse;
    unearned points before earned ones. Returns the lots and the earned points taken."""
    key = (account, program)
    holding = s.holdings.get(key)
    if holding is None or holding[0] < amount:
        raise InvariantViolation("debit beyond the balance")
    held, lots, earned = holding
    taken: list[Lot] = []
    if lots:
        i, left = 0, amount
        while left and i < len(lots):
            expires_ms, lot = lots[i]
            if lot > left:
                taken.append((expires_ms, left))
                lots = ((expires_ms, lot - left), *lots[i + 1:])
                i = 0
                break
            taken.append((expires_ms, lot))
            left -= lot
            i += 1
        lots = lots[i:]
    kept = min(earned, held - amount)
    _put(s, key, (held - amount, lots, kept))
    env.history(account, program, kind, -amount, held - amount, ref)
    return tuple(taken), earned - kept


def _put(s: State, key: tuple[str, str], holding: Holding) -> None:
    s.holdings.put(key, holding if holding[0] else None)


def _merge(lots: tuple[Lot, ...], parts: tuple[Lot, ...]) -> tuple[Lot, ...]:
    """Merge two expiry-sorted lot lists, adding the amounts of lots with equal expiry."""
    if not lots:
        return parts
    if len(parts) == 1 and parts[0][0] >= lots[-1][0]:  # the common case: newest lot
        expires_ms, amount = parts[0]
        if expires_ms == lots[-1][0]:
            return (*lots[:-1], (expires_ms, lots[-1][1] + amount))
        return (*lots, parts[0])
    merged: dict[int, int] = dict(lots)
    for expires_ms, amount in parts:
        merged[expires_ms] = merged.get(expires_ms, 0) + amount
    return tuple(sorted(merged.items()))
