"""Record types and one body builder per type, so callers never spell payloads by hand.

Each builder returns a body made with :func:`ledger.wire.record.make_body`; sign it with
:func:`ledger.wire.record.sign_body`. Every builder takes the keyword ``expires``: the last block
time (Unix ms) at which the record may commit, at most the genesis ``record_ttl_ms_max``
after the block time (clients set their clock plus a default, see :mod:`api.client.client`).
Governance builders take the list of signing member keys (the first one's sequence number is
``seq``). See docs/ECONOMICS.md for the payload table, and :mod:`exchange.registry` for
each type's builder, payload spec and handler in one place.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ledger.wire.record import make_body

ADMIT_MEMBER = "alliance.admit_member"
SUSPEND_MEMBER = "alliance.suspend_member"
REINSTATE_MEMBER = "alliance.reinstate_member"
APPLY_MERCHANT = "alliance.apply_merchant"
ADMIT_MERCHANT = "alliance.admit_merchant"
REJECT_MERCHANT = "alliance.reject_merchant"
SUSPEND_MERCHANT = "alliance.suspend_merchant"
REINSTATE_MERCHANT = "alliance.reinstate_merchant"
ROTATE_KEY = "alliance.rotate_key"
CREATE_PROGRAM = "exchange.create_program"
UPDATE_PROGRAM = "exchange.update_program"
POST_RATE = "exchange.post_rate"
PROMOTE = "exchange.promote"
ISSUE = "exchange.issue"
TRANSFER = "exchange.transfer"
REDEEM = "exchange.redeem"
SWAP = "exchange.swap"
SETTLE = "exchange.settle"
OFFER = "exchange.offer"
WITHDRAW_OFFER = "exchange.withdraw_offer"
VOID_ISSUE = "exchange.void_issue"

Body = dict[str, Any]


def admit_member(chain: str, signers: Sequence[str], seq: int, member: str, name: str,
                 key: str, validator_key: str | None = None, *, expires: int) -> Body:
    """Members vote a new member in (with its validator key, if it runs a node)."""
    return make_body(chain, ADMIT_MEMBER, signers, seq, {
        "member": member, "name": name, "key": key, "validator_key": validator_key},
        expires=expires)


def suspend_member(chain: str, signers: Sequence[str], seq: int, member: str,
                   reason: str = "", *, expires: int) -> Body:
    """Members vote a member out of voting and out of the validator set."""
    return make_body(chain, SUSPEND_MEMBER, signers, seq, {"member": member, "reason": reason},
                     expires=expires)


def reinstate_member(chain: str, signers: Sequence[str], seq: int, member: str,
                     *, expires: int) -> Body:
    """Members vote a suspended member back in."""
    return make_body(chain, REINSTATE_MEMBER, signers, seq, {"member": member}, expires=expires)


def apply_merchant(chain: str, key: str, seq: int, merchant: str, name: str,
                   description: str = "", category: str = "", area: str = "",
                   address: str = "", contact: str = "", *, expires: int) -> Body:
    """A merchant applies with its profile, signed by the key it will use."""
    return make_body(chain, APPLY_MERCHANT, [key], seq, {
        "merchant": merchant, "name": name, "description": description,
        "category": category, "area": area, "address": address, "contact": contact},
        expires=expires)


def admit_merchant(chain: str, signers: Sequence[str], seq: int, merchant: str,
                   *, expires: int) -> Body:
    """Members vote an applicant merchant in."""
    return make_body(chain, ADMIT_MERCHANT, signers, seq, {"merchant": merchant}, expires=expires)


def reject_merchant(chain: str, signers: Sequence[str], seq: int, merchant: str,
                    reason: str = "", *, expires: int) -> Body:
    """Members reject a pending application: it is removed and its id and key are freed."""
    return make_body(chain, REJECT_MERCHANT, signers, seq,
                     {"merchant": merchant, "reason": reason}, expires=expires)


def suspend_merchant(chain: str, signers: Sequence[str], seq: int, merchant: str,
                     reason: str = "", *, expires: int) -> Body:
    """Members suspend a merchant: no new issuing, inbound swaps or rates; holders keep all."""
    return make_body(chain, SUSPEND_MERCHANT, signers, seq,
                     {"merchant": merchant, "reason": reason}, expires=expires)


def reinstate_merchant(chain: str, signers: Sequence[str], seq: int, merchant: str,
                       *, expires: int) -> Body:
    """Members lift a merchant's suspension."""
    return make_body(chain, REINSTATE_MERCHANT, signers, seq, {"merchant": merchant},
                     expires=expires)


def rotate_key(chain: str, signers: Sequence[str], seq: int, party: str, party_id: str,
               new_key: str, *, expires: int) -> Body:
    """Replace a member's or merchant's key: signed by the old key, or by a member vote."""
    return make_body(chain, ROTATE_KEY, signers, seq,
                     {"party": party, "id": party_id, "new_key": new_key}, expires=expires)


def create_program(chain: str, key: str, seq: int, merchant: str, program: str, name: str,
                   rate: int, expiry_days: int, cap: int, transferable: bool = False,
                   min_in: int = 1, step_in: int = 1, daily_in_cap: int = 10**12,
                   accepts: Sequence[str] = (), return_days: int = 0, *,
                   expires: int) -> Body:
    """A merchant opens a program with its first posted rate (version 1, in effect at once);
    with ``return_days`` > 0 its issues stay pending (voidable on a refund) that many days."""
    return make_body(chain, CREATE_PROGRAM, [key], seq, {
        "merchant": merchant, "program": program, "name": name, "rate": rate,
        "expiry_days": expiry_days, "return_days": return_days, "cap": cap,
        "transferable": transferable, "min_in": min_in, "step_in": step_in,
        "daily_in_cap": daily_in_cap, "accepts": list(accepts)}, expires=expires)


def update_program(chain: str, key: str, seq: int, program: str, name: str, cap: int,
                   transferable: bool, min_in: int, step_in: int, daily_in_cap: int,
                   accepts: Sequence[str], *, expires: int) -> Body:
    """The issuer replaces a program's terms (all but rate and expiry), in effect at once."""
    return make_body(chain, UPDATE_PROGRAM, [key], seq, {
        "program": program, "name": name, "cap": cap, "transferable": transferable,
        "min_in": min_in, "step_in": step_in, "daily_in_cap": daily_in_cap,
        "accepts": list(accepts)}, expires=expires)


def post_rate(chain: str, key: str, seq: int, program: str, rate: int, *, expires: int) -> Body:
    """The issuer posts a new rate; it takes effect after the alliance's notice period."""
    return make_body(chain, POST_RATE, [key], seq, {"program": program, "rate": rate},
                     expires=expires)


def promote(chain: str, key: str, seq: int, program: str, source: str, bonus_bp: int,
            start_ms: int, end_ms: int, *, expires: int) -> Body:
    """The receiving issuer adds a bonus on swaps from ``source`` during [start, end)."""
    return make_body(chain, PROMOTE, [key], seq, {
        "program": program, "source": source, "bonus_bp": bonus_bp,
        "start_ms": start_ms, "end_ms": end_ms}, expires=expires)


def issue(chain: str, key: str, seq: int, program: str, to: str, amount: int,
          ref: str = "", *, expires: int) -> Body:
    """The issuer mints points to a customer (e.g. for a purchase, ``ref`` its receipt)."""
    return make_body(chain, ISSUE, [key], seq,
                     {"program": program, "to": to, "amount": amount, "ref": ref}, expires=expires)


def transfer(chain: str, holder: str, seq: int, program: str, to: str, amount: int,
             memo: str = "", *, expires: int) -> Body:
    """A holder gives points of a transferable program to another customer."""
    return make_body(chain, TRANSFER, [holder], seq,
                     {"program": program, "to": to, "amount": amount, "memo": memo},
                     expires=expires)


def redeem(chain: str, holder: str, seq: int, program: str, amount: int, order: str,
           *, expires: int) -> Body:
    """A holder spends points at their issuer (burned), for the order ``order``."""
    return make_body(chain, REDEEM, [holder], seq,
                     {"program": program, "amount": amount, "order": order}, expires=expires)


def swap(chain: str, holder: str, seq: int, give: str, amount: int, get: str, min_out: int,
         give_version: int, get_version: int, *, expires: int) -> Body:
    """Give up to ``amount`` of ``give`` for at least ``min_out`` of ``get`` at quoted rates."""
    return make_body(chain, SWAP, [holder], seq, {
        "give": give, "amount": amount, "get": get, "min_out": min_out,
        "give_version": give_version, "get_version": get_version}, expires=expires)


def settle(chain: str, payer_key: str, payee_key: str, seq: int, payer: str, payee: str,
           amount_fen: int, reference: str = "", *, expires: int) -> Body:
    """Payer and payee issuers both sign that a payment of ``amount_fen`` fen cleared."""
    return make_body(chain, SETTLE, [payer_key, payee_key], seq, {
        "payer": payer, "payee": payee, "amount_fen": amount_fen, "reference": reference},
        expires=expires)


def offer(chain: str, key: str, seq: int, program: str, offer: str, item: str, price: int,
          area: str, valid_from_ms: int, valid_until_ms: int, *, expires: int) -> Body:
    """The issuer offers ``item`` for ``price`` points of ``program`` during [from, until)."""
    return make_body(chain, OFFER, [key], seq, {
        "program": program, "offer": offer, "item": item, "price": price, "area": area,
        "valid_from_ms": valid_from_ms, "valid_until_ms": valid_until_ms}, expires=expires)


def withdraw_offer(chain: str, key: str, seq: int, program: str, offer: str,
                   *, expires: int) -> Body:
    """The issuer ends one of its offers early."""
    return make_body(chain, WITHDRAW_OFFER, [key], seq, {"program": program, "offer": offer},
                     expires=expires)


def void_issue(chain: str, key: str, seq: int, issue: str, reason: str = "",
               *, expires: int) -> Body:
    """The issuer voids the still-pending points of its issue ``issue`` (a refund)."""
    return make_body(chain, VOID_ISSUE, [key], seq, {"issue": issue, "reason": reason},
                     expires=expires)
