"""Programs: created and updated by their issuer; inbound promotions at the issuer's cost.

A program's terms: code, name (any Unicode), issuer, posted rate (points per yuan), expiry
period in days (0 = never), issuance cap (most points in circulation), whether holders may
transfer, and its swap-in rules: minimum and step of points received, daily inbound cap, and
the programs it accepts swaps from. Rates change only through ``exchange.post_rate``.
"""

from __future__ import annotations

from collections.abc import Sequence

from exchange.codes import (
    AMOUNT_INVALID,
    CAP_TOO_LARGE,
    ISSUER_SUSPENDED,
    MERCHANT_UNKNOWN,
    NOT_AUTHORIZED,
    OK,
    PAYLOAD_MALFORMED,
    PROGRAM_EXISTS,
    PROGRAM_UNKNOWN,
    PROMOTION_INVALID,
    PROMOTION_OVERLAPS,
    RATE_NOT_DIVISOR,
    SAME_PROGRAM,
    STATUS_INVALID,
    TOO_MANY_PROGRAMS,
    TOO_MANY_PROMOTIONS,
)
from exchange.limits import (
    amount_max,
    bonus_bp_max,
    expiry_days_max,
    program_value_max,
    programs_max,
    programs_per_merchant_max,
    promotion_window_ms_max,
    promotions_per_pair_max,
    return_days_max,
)
from exchange.rules.auth import issuer_refusal, signs_for_merchant
from exchange.rules.pricing import is_valid_rate, unit_value
from exchange.schema import Spec, is_bool, is_code, is_codes, is_id, is_int, is_name, well_formed
from exchange.state.env import Env
from exchange.state.model import ACTIVE, SUSPENDED, Program, Promotion, RateVersion
from exchange.state.state import State
from ledger.wire.record import Record

_TERMS: Spec = (("name", is_name), ("cap", is_int), ("transferable", is_bool),
                ("min_in", is_int), ("step_in", is_int), ("daily_in_cap", is_int),
                ("accepts", is_codes))
CREATE: Spec = (("merchant", is_id), ("program", is_code), ("rate", is_int),
                ("expiry_days", lambda v: type(v) is int and 0 <= v <= expiry_days_max),
                ("return_days", lambda v: type(v) is int and 0 <= v <= return_days_max),
                *_TERMS)
UPDATE: Spec = (("program", is_code), *_TERMS)
PROMOTE: Spec = (("program", is_code), ("source", is_code), ("bonus_bp", is_int),
                 ("start_ms", is_int), ("end_ms", is_int))


def create_program(s: State, env: Env, rec: Record, write: bool) -> str:
    """An active merchant opens a program; its first rate is version 1, in effect at once."""
    p = rec.payload
    if not well_formed(p, CREATE):
        return PAYLOAD_MALFORMED
    if not _amounts_valid(p):
        return AMOUNT_INVALID
    merchant = s.merchants.get(p["merchant"])
    if merchant is None:
        return MERCHANT_UNKNOWN
    if not all(s.programs.get(code) is not None for code in p["accepts"]):
        return PROGRAM_UNKNOWN
    if not signs_for_merchant(s, rec.signers, merchant.id):
        return NOT_AUTHORIZED
    if s.programs.get(p["program"]) is not None:
        return PROGRAM_EXISTS
    if merchant.status == SUSPENDED:
        return ISSUER_SUSPENDED
    if merchant.status != ACTIVE:
        return STATUS_INVALID
    programs = s.programs.items()
    own = sum(1 for _, prog in programs if prog.issuer == merchant.id)
    if own >= programs_per_merchant_max or len(programs) >= programs_max:
        return TOO_MANY_PROGRAMS
    if not is_valid_rate(p["rate"]):
        return RATE_NOT_DIVISOR
    if p["cap"] * unit_value(p["rate"]) > program_value_max:
        return CAP_TOO_LARGE
    if not write:
        return OK
    code = p["program"]
    s.programs.put(code, Program(
        code, p["name"], merchant.id, p["rate"], 1, None, None, None, p["expiry_days"],
        p["cap"], p["transferable"], p["min_in"], p["step_in"], p["daily_in_cap"],
        tuple(sorted(p["accepts"])), env.height, return_days=p["return_days"]))
    s.rates.put((code, 1), RateVersion(p["rate"], env.time_ms, env.time_ms, env.height, rec.id))
    env.event("program_created", code, p["name"])
    return OK


def update_program(s: State, env: Env, rec: Record, write: bool) -> str:
    """The active issuer replaces a program's terms (all but rate and expiry), at once."""
    p = rec.payload
    if not well_formed(p, UPDATE):
        return PAYLOAD_MALFORMED
    if not _amounts_valid(p):
        return AMOUNT_INVALID
    program = s.programs.get(p["program"])
    if program is None or not all(s.programs.get(code) is not None for code in p["accepts"]):
        return PROGRAM_UNKNOWN
    if program.code in p["accepts"]:
        return SAME_PROGRAM
    refused = issuer_refusal(s, rec.signers, program)  # a suspended issuer changes no terms
    if refused:
        return refused
    rates = (program.rate, program.pending_rate or program.rate)
    if p["cap"] * max(map(unit_value, rates)) > program_value_max:
        return CAP_TOO_LARGE
    if not write:
        return OK
    edited = s.programs.edit(program.code)
    edited.name, edited.cap, edited.transferable = p["name"], p["cap"], p["transferable"]
    edited.min_in, edited.step_in, edited.daily_in_cap = p["min_in"], p["step_in"], p[
        "daily_in_cap"]
    edited.accepts = tuple(sorted(p["accepts"]))
    env.event("program_updated", program.code, p["name"])
    return OK


def promote(s: State, env: Env, rec: Record, write: bool) -> str:
    """The receiving program's issuer adds ``bonus_bp`` on swaps in from ``source``."""
    p = rec.payload
    if not well_formed(p, PROMOTE):
        return PAYLOAD_MALFORMED
    program, source = s.programs.get(p["program"]), s.programs.get(p["source"])
    if program is None or source is None:
        return PROGRAM_UNKNOWN
    if program.code == source.code:
        return SAME_PROGRAM
    refused = issuer_refusal(s, rec.signers, program)
    if refused:
        return refused
    start, end, now = p["start_ms"], p["end_ms"], env.time_ms
    if not (0 < p["bonus_bp"] <= bonus_bp_max and 0 <= start < end and end > now
            and end - start <= promotion_window_ms_max):
        return PROMOTION_INVALID
    key = (program.code, source.code)
    live = [promo for promo in s.promotions.get(key) or () if promo.end_ms > now]
    if any(promo.start_ms < end and start < promo.end_ms for promo in live):
        return PROMOTION_OVERLAPS
    if len(live) >= promotions_per_pair_max:
        return TOO_MANY_PROMOTIONS
    if not write:
        return OK
    live.append(Promotion(start, end, p["bonus_bp"], env.height, rec.id))
    s.promotions.put(key, tuple(sorted(live, key=lambda promo: promo.start_ms)))
    env.event("promotion", program.code, f"from {source.code} +{p['bonus_bp']}bp "
              f"[{start}, {end})")
    return OK


def active_promotion(s: State, program: str, source: str, now_ms: int) -> Promotion | None:
    """The promotion of ``program`` on swaps from ``source`` in force at ``now_ms``."""
    for promo in s.promotions.get((program, source)) or ():
        if promo.start_ms <= now_ms < promo.end_ms:
            return promo
    return None


def _amounts_valid(p: dict[str, object]) -> bool:
    amounts: Sequence[object] = (p["cap"], p["min_in"], p["step_in"], p["daily_in_cap"])
    return all(isinstance(amount, int) and 0 < amount <= amount_max for amount in amounts)
