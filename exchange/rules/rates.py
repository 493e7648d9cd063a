"""Posted rates: a new rate takes effect only after the alliance's notice period.

Each program has one rate in effect (``rate``, ``rate_version``) and at most one pending
(``pending_rate``, ``pending_version``, ``pending_ms``). At the start of the first block whose
time is at or after ``pending_ms`` the pending rate takes effect. A swap must quote the
version in effect: quoting an older one is ``rate_version_stale``; quoting a pending or
unknown one is ``rate_version_not_in_effect``. So a swap quoted during the notice period
executes at the old rate, and nobody is surprised by a rate they did not see.

The notice is no arbitrage window: while a rate change of P is pending, swaps *into* P mint
at the lower of P's two rates (:func:`minting_rate`: fewer points, each worth the more), and
swaps *out of* P take the rate in effect. Points bought before the change are then never
worth more after it than they cost, and holders are not surprised: what they hold is priced
as they saw it until the new rate is in effect (ECONOMICS.md section 8).
"""

from __future__ import annotations

from exchange.codes import (
    CAP_TOO_LARGE,
    OK,
    PAYLOAD_MALFORMED,
    PROGRAM_UNKNOWN,
    RATE_CHANGE_PENDING,
    RATE_NOT_DIVISOR,
    RATE_UNCHANGED,
    RATE_VERSION_NOT_IN_EFFECT,
    RATE_VERSION_STALE,
)
from exchange.errors import InvariantViolation
from exchange.limits import program_value_max
from exchange.rules.auth import issuer_refusal
from exchange.rules.pricing import is_valid_rate, unit_value
from exchange.schema import Spec, is_code, is_int, well_formed
from exchange.state.env import Env
from exchange.state.model import Program, RateVersion
from exchange.state.state import State
from ledger.wire.record import Record

POST_RATE: Spec = (("program", is_code), ("rate", is_int))


def post_rate(s: State, env: Env, rec: Record, write: bool) -> str:
    """The issuer posts a new rate, in effect after the notice period."""
    p = rec.payload
    if not well_formed(p, POST_RATE):
        return PAYLOAD_MALFORMED
    program = s.programs.get(p["program"])
    if program is None:
        return PROGRAM_UNKNOWN
    refused = issuer_refusal(s, rec.signers, program)
    if refused:
        return refused
    rate = p["rate"]
    if not is_valid_rate(rate):
        return RATE_NOT_DIVISOR
    if max(program.cap, program.supply) * unit_value(rate) > program_value_max:
        return CAP_TOO_LARGE
    if program.pending_version is not None:
        return RATE_CHANGE_PENDING
    if rate == program.rate:
        return RATE_UNCHANGED
    if not write:
        return OK
    version = program.rate_version + 1
    effective_ms = env.time_ms + env.params.rate_notice_ms
    edited = s.programs.edit(program.code)
    edited.pending_rate, edited.pending_version, edited.pending_ms = rate, version, effective_ms
    s.rates.put((program.code, version),
                RateVersion(rate, env.time_ms, effective_ms, env.height, rec.id))
    s.pending_rates.add(program.code)
    env.event("rate_posted", program.code, f"v{version} {rate}/yuan from {effective_ms}")
    return OK


def activate_rates(s: State, env: Env) -> None:
    """Put into effect every pending rate whose notice period has ended (program order)."""
    if not s.pending_rates:
        return
    for code in sorted(s.pending_rates):
        program = s.programs.get(code)
        if program is None or program.pending_ms is None or program.pending_ms > env.time_ms:
            continue
        edited = s.programs.edit(code)
        rate, version = edited.pending_rate, edited.pending_version
        if rate is None or version is None:  # set together with pending_ms, always
            raise InvariantViolation(f"program {code} has a pending time but no pending rate")
        edited.rate, edited.rate_version = rate, version
        edited.pending_rate = edited.pending_version = edited.pending_ms = None
        env.event("rate_in_effect", code, f"v{edited.rate_version} {edited.rate}/yuan")


def prune_pending(s: State) -> None:
    """Forget committed programs that no longer have a pending rate (after commit)."""
    done = [code for code in s.pending_rates
            if (p := s.programs.base.get(code)) is None or p.pending_version is None]
    s.pending_rates.difference_update(done)


def minting_rate(program: Program) -> int:
    """The rate at which a swap mints ``program``'s points: the rate in effect, or during a
    pending change the lower of the two (the one that mints fewer points)."""
    pending = program.pending_rate
    return program.rate if pending is None or pending > program.rate else pending


def version_code(program: Program, quoted: int) -> str | None:
    """None when ``quoted`` is the version in effect, else the rejection code."""
    if quoted == program.rate_version:
        return None
    return RATE_VERSION_STALE if quoted < program.rate_version else RATE_VERSION_NOT_IN_EFFECT
