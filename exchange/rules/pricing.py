"""Pricing with integers only: point values, swap amounts, promotion bonuses.

A posted rate ``r`` is points per yuan of redemption value and divides 1,000,000, so one
point is worth exactly ``1_000_000 // r`` micro-yuan (µ¥) and ``p`` points ``p * unit``.

Swap of ``x`` points of A (rate ``ra``) into B (rate ``rb``), step ``s``, bonus ``bp``::

    base  = floor(x * rb / ra), rounded down to a multiple of s
    taken = ceil(base * ra / rb)          # only the A points needed; taken <= x
    bonus = floor(eligible_base * bp / 10_000)   # B's own promotion, at B's cost
    value minted (base) = base * unit_b <= taken * unit_a = value burned

A bonus applies only to the A points their issuer issued (not minted by a swap): of
``taken``, the holder's ``unearned`` points go first, and ``eligible_base`` is the part of
``base`` the rest buys, ``min(base, floor((taken - unearned) * rb / ra))`` (all of ``base``
when every point taken was earned). During a pending rate change of B, ``rb`` is the lower
of B's two rates (:func:`exchange.rules.rates.minting_rate`).
"""

from __future__ import annotations

from exchange.limits import micro_per_yuan, rate_max

BP = 10_000  # basis points in 100%


def is_valid_rate(rate: int) -> bool:
    """True when ``rate`` is 1..1,000,000 points per yuan and divides 1,000,000."""
    return 0 < rate <= rate_max and micro_per_yuan % rate == 0


def unit_value(rate: int) -> int:
    """The value of one point at ``rate``, in µ¥ (exact because the rate divides 10**6)."""
    return micro_per_yuan // rate


def value(points: int, rate: int) -> int:
    """The value of ``points`` at ``rate``, in µ¥."""
    return points * (micro_per_yuan // rate)


def swap_amounts(amount: int, rate_give: int, rate_get: int, step: int,
                 bonus_bp: int, unearned: int = 0) -> tuple[int, int, int]:
    """(base, taken, bonus) for giving ``amount`` points of which the first ``unearned``
    were minted by a swap; see the module docstring."""
    base = amount * rate_get // rate_give
    if step > 1:
        base -= base % step
    taken = -(-base * rate_give // rate_get)
    eligible = taken - unearned
    if eligible <= 0 or not bonus_bp:
        return base, taken, 0
    eligible_base = base if eligible >= taken else min(base, eligible * rate_get // rate_give)
    return base, taken, eligible_base * bonus_bp // BP
