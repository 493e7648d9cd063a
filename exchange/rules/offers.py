"""Redemption offers: an issuer publishes "this item for this many of my points, here, then".

An offer names its program, an id (a slug, unique among the program's open offers), the item
(printable Unicode), the price in points of that program, an area and a validity window
``[valid_from_ms, valid_until_ms)`` of at most 366 days that has not ended yet. Only the
program's issuer signs it, with its current key, and only while active. A program keeps at
most ``offers_per_program_max`` open offers (live or still to come). A withdrawn offer is
dropped at once; an ended one when the program's offers are next written. The issuer may
withdraw an open offer even while suspended (it only ever takes a promise back).

An offer is a published price, not a reservation: the customer still pays with
``exchange.redeem``. :func:`cheapest_swap` finds the smallest swap that tops a holding up to
an offer's price, using the swap handler's own pricing (:func:`exchange.rules.swap.price_swap`).
"""

from __future__ import annotations

from typing import Any

from exchange.codes import (
    AMOUNT_INVALID,
    NOT_AUTHORIZED,
    OFFER_EXISTS,
    OFFER_INVALID,
    OFFER_UNKNOWN,
    OK,
    PAYLOAD_MALFORMED,
    PROGRAM_UNKNOWN,
    TOO_MANY_OFFERS,
)
from exchange.limits import amount_max, area_chars_max, offer_window_ms_max, offers_per_program_max
from exchange.rules.auth import issuer_refusal, signs_for_merchant
from exchange.rules.holdings import balance, unearned
from exchange.rules.pricing import swap_amounts
from exchange.rules.programs import active_promotion
from exchange.rules.rates import minting_rate
from exchange.rules.swap import SwapPlan, price_swap
from exchange.schema import Spec, is_code, is_id, is_int, is_name, is_printable, well_formed
from exchange.state.env import Env
from exchange.state.model import Offer, Program
from exchange.state.state import State
from ledger.wire.record import Record


def is_area(value: Any) -> bool:
    """An area such as ``春熙路 Chunxi Road``: printable, up to 64 chars, may be empty."""
    return (type(value) is str and len(value) <= area_chars_max and is_printable(value)
            and value.strip() == value)


OFFER: Spec = (("program", is_code), ("offer", is_id), ("item", is_name), ("price", is_int),
               ("area", is_area), ("valid_from_ms", is_int), ("valid_until_ms", is_int))
WITHDRAW_OFFER: Spec = (("program", is_code), ("offer", is_id))


def publish(s: State, env: Env, rec: Record, write: bool) -> str:
    """The issuer publishes a redemption offer of one of its programs."""
    p = rec.payload
    if not well_formed(p, OFFER):
        return PAYLOAD_MALFORMED
    if not 0 < p["price"] <= amount_max:
        return AMOUNT_INVALID
    program = s.programs.get(p["program"])
    if program is None:
        return PROGRAM_UNKNOWN
    refused = issuer_refusal(s, rec.signers, program)
    if refused:
        return refused
    now = env.time_ms
    kept = open_offers(s, program.code, now)
    if any(o.id == p["offer"] for o in kept):
        return OFFER_EXISTS
    start, end = p["valid_from_ms"], p["valid_until_ms"]
    if not (0 <= start < end and end > now and end - start <= offer_window_ms_max):
        return OFFER_INVALID
    if len(kept) >= offers_per_program_max:
        return TOO_MANY_OFFERS
    if not write:
        return OK
    new = Offer(p["offer"], p["item"], p["price"], p["area"], start, end, env.height, rec.id)
    s.offers.put(program.code, tuple(sorted((*kept, new), key=lambda o: o.id)))
    env.event("offer_published", program.code, f"{new.id} {new.price} {new.item}")
    return OK


def withdraw(s: State, env: Env, rec: Record, write: bool) -> str:
    """The issuer takes back one of its open offers (allowed while suspended)."""
    p = rec.payload
    if not well_formed(p, WITHDRAW_OFFER):
        return PAYLOAD_MALFORMED
    program = s.programs.get(p["program"])
    if program is None:
        return PROGRAM_UNKNOWN
    if not signs_for_merchant(s, rec.signers, program.issuer):
        return NOT_AUTHORIZED
    kept = open_offers(s, program.code, env.time_ms)
    if not any(o.id == p["offer"] for o in kept):
        return OFFER_UNKNOWN
    if not write:
        return OK
    s.offers.put(program.code, tuple(o for o in kept if o.id != p["offer"]) or None)
    env.event("offer_withdrawn", program.code, p["offer"])
    return OK


def open_offers(s: State, program: str, now_ms: int) -> tuple[Offer, ...]:
    """The program's offers that have not ended at ``now_ms`` (live or still to come)."""
    return tuple(o for o in s.offers.get(program) or () if o.valid_until_ms > now_ms)


def cheapest_swap(s: State, now_ms: int, day: int, account: str, give: Program, get: Program,
                  need: int) -> SwapPlan | None:
    """The swap of the fewest ``give`` points that yields at least ``need`` ``get`` points.

    ``None`` when no amount the account holds is enough, or the swap handler would refuse
    it (receiving issuer suspended, not accepted, daily or issuance cap...). The amount to
    sign is ``plan.taken``: for the smallest sufficient amount, every point is needed.
    """
    if give.code not in get.accepts:
        return None
    held = min(balance(s, account, give.code), amount_max)
    promotion = active_promotion(s, get.code, give.code, now_ms)
    bonus_bp = promotion.bonus_bp if promotion else 0
    least = max(1, get.min_in)
    rate_get, minted = minting_rate(get), unearned(s, account, give.code)

    def out(amount: int) -> int:  # non-decreasing in amount
        base, _, bonus = swap_amounts(amount, give.rate, rate_get, get.step_in, bonus_bp,
                                      minted)
        return base + bonus if base >= least else 0

    if held <= 0 or out(held) < need:
        return None
    low, high = 1, held
    while low < high:
        mid = (low + high) // 2
        if out(mid) >= need:
            high = mid
        else:
            low = mid + 1
    plan = price_swap(s, now_ms, day, account, give, get, low, need, give.rate_version,
                      get.rate_version)
    return None if isinstance(plan, str) else plan
