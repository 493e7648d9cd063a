"""Swaps at posted rates: the holder gives points of A for at least ``min_out`` points of B.

Only the A points needed are taken; the value minted (before a promotion bonus) never exceeds
the value burned; there is no fee. B's posted rate and swap-in rules are B's standing, signed
consent to mint. Every swap between two issuers leaves an obligation: A's issuer owes B's
issuer the value minted (the bonus is B's own cost and owed by nobody).

No value from nothing (ECONOMICS.md sections 5, 7, 8): a bonus applies only to A points their
issuer issued, never to points a swap minted; during a pending rate change of B, B's points
are minted at the lower of its two rates; the points minted lapse no later than the earliest
lot of A given for them.
"""

from __future__ import annotations

from dataclasses import dataclass

from exchange.codes import (
    AMOUNT_INVALID,
    BELOW_MINIMUM,
    CAP_EXCEEDED,
    COUNTER_LIMIT_REACHED,
    DAILY_CAP_EXCEEDED,
    INSUFFICIENT_BALANCE,
    ISSUER_SUSPENDED,
    MIN_OUT_NOT_MET,
    NOT_AUTHORIZED,
    OK,
    PAYLOAD_MALFORMED,
    PROGRAM_NOT_ACCEPTED,
    PROGRAM_UNKNOWN,
    SAME_PROGRAM,
)
from exchange.errors import invariant
from exchange.limits import amount_max, counter_max
from exchange.rules.holdings import balance, credit, debit, unearned
from exchange.rules.pricing import swap_amounts, unit_value
from exchange.rules.programs import active_promotion
from exchange.rules.rates import minting_rate, version_code
from exchange.schema import Spec, is_code_ref, is_int, well_formed
from exchange.state.env import Env
from exchange.state.model import ACTIVE, Flow, Obligation, Position, Program, Promotion
from exchange.state.state import State
from ledger.wire.record import Record

SWAP: Spec = (("give", is_code_ref), ("amount", is_int), ("get", is_code_ref), ("min_out", is_int),
              ("give_version", is_int), ("get_version", is_int))


@dataclass(slots=True)
class SwapPlan:
    """A swap that passed every check: what it takes, mints and owes."""

    give: Program
    get: Program
    taken: int
    base: int
    bonus: int
    promotion: Promotion | None
    rate_get: int
    value_burned: int
    value_minted: int

    @property
    def out(self) -> int:
        return self.base + self.bonus


def swap(s: State, env: Env, rec: Record, write: bool) -> str:
    """The holder swaps points of one program for another at the quoted versions."""
    p = rec.payload
    if not well_formed(p, SWAP):
        return PAYLOAD_MALFORMED
    amount, min_out = p["amount"], p["min_out"]
    if not (0 < amount <= amount_max and 0 <= min_out <= counter_max):
        return AMOUNT_INVALID
    give, get = s.programs.get(p["give"]), s.programs.get(p["get"])
    if give is None or get is None:
        return PROGRAM_UNKNOWN
    if give.code == get.code:
        return SAME_PROGRAM
    if len(rec.signers) != 1:
        return NOT_AUTHORIZED
    holder = rec.signers[0]
    plan = price_swap(s, env.time_ms, env.day, holder, give, get, amount, min_out,
                      p["give_version"], p["get_version"])
    if isinstance(plan, str):
        return plan
    if write:
        apply_swap(s, env, holder, plan)
    return OK


def price_swap(s: State, now_ms: int, day: int, holder: str | None, give: Program,
               get: Program, amount: int, min_out: int, give_version: int,
               get_version: int) -> str | SwapPlan:
    """The checks from the receiving issuer's status on, and the amounts; no writes.

    ``holder`` None skips the balance check (a quote for anyone).
    """
    issuer = s.merchants.get(get.issuer)
    if issuer is None or issuer.status != ACTIVE:
        return ISSUER_SUSPENDED
    if give.code not in get.accepts:
        return PROGRAM_NOT_ACCEPTED
    stale = version_code(give, give_version) or version_code(get, get_version)
    if stale:
        return stale
    if holder is not None and balance(s, holder, give.code) < amount:
        return INSUFFICIENT_BALANCE
    promotion = active_promotion(s, get.code, give.code, now_ms)
    rate_get = minting_rate(get)
    base, taken, bonus = swap_amounts(amount, give.rate, rate_get, get.step_in,
                                      promotion.bonus_bp if promotion else 0,
                                      0 if holder is None else unearned(s, holder, give.code))
    if base == 0 or base < get.min_in:
        return BELOW_MINIMUM
    out = base + bonus
    if out < min_out:
        return MIN_OUT_NOT_MET
    if inbound_today(s, get.code, day) + out > get.daily_in_cap:
        return DAILY_CAP_EXCEEDED
    if get.supply + get.pending + out > get.cap:
        return CAP_EXCEEDED
    value_minted = base * unit_value(rate_get)
    if (get.issued + get.swapped_in + out > counter_max
            or _flow_overflows(s, give.code, get.code, value_minted)
            or _owing_overflows(s, give.issuer, get.issuer, value_minted)):
        return COUNTER_LIMIT_REACHED
    return SwapPlan(give, get, taken, base, bonus, promotion, rate_get,
                    taken * unit_value(give.rate), value_minted)


def apply_swap(s: State, env: Env, holder: str, plan: SwapPlan) -> None:
    """Burn the A points taken, mint B points (and bonus), record flow and obligation."""
    give, get = plan.give, plan.get
    invariant(plan.value_minted <= plan.value_burned, "a swap minted more value than it burned")
    invariant(plan.bonus == 0 or plan.promotion is not None, "a bonus without a promotion")
    edited = s.programs.edit(give.code)
    edited.supply -= plan.taken
    edited.swapped_out += plan.taken
    edited = s.programs.edit(get.code)
    edited.supply += plan.out
    edited.swapped_in += plan.base
    edited.issued += plan.bonus
    edited.promoted += plan.bonus
    lots, _ = debit(s, env, holder, give.code, plan.taken, "swap_out", get.code)
    until_ms = lots[0][0] if lots else 0  # the earliest lot given (0: none of them lapses)
    credit(s, env, holder, get, plan.base, "swap_in", give.code, until_ms=until_ms)
    if plan.bonus:
        credit(s, env, holder, get, plan.bonus, "bonus", give.code, until_ms=until_ms)
    s.inbound.put(get.code, (env.day, inbound_today(s, get.code, env.day) + plan.out))
    flow = s.flows.edit_or_add((give.code, get.code), Flow)
    flow.swaps += 1
    flow.given += plan.taken
    flow.received += plan.base
    flow.bonus += plan.bonus
    flow.value += plan.value_minted
    if give.issuer != get.issuer:
        s.obligations.edit_or_add((give.issuer, get.issuer), Obligation).accrued += (
            plan.value_minted)
        s.positions.edit_or_add(give.issuer, Position).payable += plan.value_minted
        s.positions.edit_or_add(get.issuer, Position).receivable += plan.value_minted
    env.swap_row({
        "holder": holder, "give": give.code, "get": get.code, "taken": plan.taken,
        "base": plan.base, "bonus": plan.bonus, "out": plan.out,
        "give_version": give.rate_version, "get_version": get.rate_version,
        "give_rate": give.rate, "get_rate": plan.rate_get, "value_burned": plan.value_burned,
        "value_minted": plan.value_minted, "bonus_value": plan.bonus * unit_value(plan.rate_get)})


def inbound_today(s: State, program: str, day: int) -> int:
    """Points of ``program`` minted by swaps in on day number ``day`` (bonus included)."""
    found = s.inbound.get(program)
    return found[1] if found is not None and found[0] == day else 0


def _flow_overflows(s: State, give: str, get: str, value: int) -> bool:
    """True when the pair's lifetime value (µ¥) would pass ``counter_max``. Its point counts
    are held by the programs' own (given <= give's swapped_out, received <= get's swapped_in,
    swaps <= given), but value is in µ¥ and grows on every swap, within one issuer too."""
    flow = s.flows.get((give, get))
    return flow is not None and flow.value + value > counter_max


def _owing_overflows(s: State, debtor: str, creditor: str, value: int) -> bool:
    if debtor == creditor:
        return False
    payer, payee = s.positions.get(debtor), s.positions.get(creditor)
    return ((payer.payable if payer else 0) + value > counter_max
            or (payee.receivable if payee else 0) + value > counter_max)
