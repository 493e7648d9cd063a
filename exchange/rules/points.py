"""Issue, transfer and redeem: points minted by their issuer, moved or spent by their holder.

An issue of a program with a return window is held pending (``exchange.rules.pending``) and counts
against the cap at once; only vested points are in a balance, so only they can move.

Only a program's issuer mints it, and not while suspended or beyond the issuance cap. Only the
holder's signature moves or spends holdings: transfers (if the program allows them) keep the
points' expiry; redemptions burn points at the issuer against an order reference, and stay
open when the issuer is suspended.
"""

from __future__ import annotations

from exchange.codes import (
    AMOUNT_INVALID,
    CAP_EXCEEDED,
    COUNTER_LIMIT_REACHED,
    INSUFFICIENT_BALANCE,
    NOT_AUTHORIZED,
    NOT_TRANSFERABLE,
    OK,
    PAYLOAD_MALFORMED,
    PROGRAM_UNKNOWN,
    RECIPIENT_NOT_CUSTOMER,
    SAME_ACCOUNT,
)
from exchange.limits import amount_max, counter_max
from exchange.rules.auth import issuer_refusal
from exchange.rules.holdings import balance, credit, credit_lots, debit
from exchange.rules.pending import hold
from exchange.schema import Spec, is_code_ref, is_int, is_key, is_ref, well_formed
from exchange.state.env import Env
from exchange.state.state import State
from ledger.wire.record import Record

ISSUE: Spec = (("program", is_code_ref), ("to", is_key), ("amount", is_int), ("ref", is_ref))
TRANSFER: Spec = (("program", is_code_ref), ("to", is_key), ("amount", is_int), ("memo", is_ref))
REDEEM: Spec = (("program", is_code_ref), ("amount", is_int), ("order", is_ref))


def issue(s: State, env: Env, rec: Record, write: bool) -> str:
    """The issuer mints points to a customer, within its cap."""
    p = rec.payload
    if not well_formed(p, ISSUE):
        return PAYLOAD_MALFORMED
    amount = p["amount"]
    if not 0 < amount <= amount_max:
        return AMOUNT_INVALID
    program = s.programs.get(p["program"])
    if program is None:
        return PROGRAM_UNKNOWN
    refused = issuer_refusal(s, rec.signers, program)
    if refused:
        return refused
    if s.keys.get(p["to"]) is not None:
        return RECIPIENT_NOT_CUSTOMER
    if program.supply + program.pending + amount > program.cap:
        return CAP_EXCEEDED
    if program.issued + program.swapped_in + amount > counter_max:
        return COUNTER_LIMIT_REACHED
    if not write:
        return OK
    edited = s.programs.edit(program.code)
    edited.issued += amount
    if program.return_days:
        hold(s, env, p["to"], program, amount, p["ref"])  # pending: voidable, not spendable
        return OK
    edited.supply += amount
    credit(s, env, p["to"], program, amount, "issue", p["ref"], earned=True)
    return OK


def transfer(s: State, env: Env, rec: Record, write: bool) -> str:
    """A holder gives points of a transferable program; they keep their expiry."""
    p = rec.payload
    if not well_formed(p, TRANSFER):
        return PAYLOAD_MALFORMED
    amount = p["amount"]
    if not 0 < amount <= amount_max:
        return AMOUNT_INVALID
    program = s.programs.get(p["program"])
    if program is None:
        return PROGRAM_UNKNOWN
    holder, to = rec.signers[0], p["to"]
    if to == holder:
        return SAME_ACCOUNT
    if len(rec.signers) != 1:
        return NOT_AUTHORIZED
    if s.keys.get(to) is not None:
        return RECIPIENT_NOT_CUSTOMER
    if not program.transferable:
        return NOT_TRANSFERABLE
    if balance(s, holder, program.code) < amount:
        return INSUFFICIENT_BALANCE
    if not write:
        return OK
    parts = debit(s, env, holder, program.code, amount, "transfer_out", to)
    credit_lots(s, env, to, program.code, parts, amount, "transfer_in", holder)
    return OK


def redeem(s: State, env: Env, rec: Record, write: bool) -> str:
    """A holder spends points at the issuer: burned, against an order reference."""
    p = rec.payload
    if not well_formed(p, REDEEM):
        return PAYLOAD_MALFORMED
    amount = p["amount"]
    if not 0 < amount <= amount_max:
        return AMOUNT_INVALID
    program = s.programs.get(p["program"])
    if program is None:
        return PROGRAM_UNKNOWN
    if len(rec.signers) != 1:
        return NOT_AUTHORIZED
    holder = rec.signers[0]
    if balance(s, holder, program.code) < amount:
        return INSUFFICIENT_BALANCE
    if not write:
        return OK
    edited = s.programs.edit(program.code)
    edited.supply -= amount
    edited.redeemed += amount
    debit(s, env, holder, program.code, amount, "redeem", p["order"])
    return OK
