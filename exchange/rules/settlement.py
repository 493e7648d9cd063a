"""Settlement: netting swap obligations multilaterally and recording payments that cleared.

Each issuer's position is ``net = receivable - payable + paid - received`` (µ¥): what the
alliance owes it (positive) or what it owes the alliance (negative); the positions always sum
to zero. A statement nets them into at most n-1 payments (largest debtor pays largest
creditor, repeatedly). Money moves outside the ledger; ``exchange.settle``, signed by payer and
payee, records that a payment of N fen cleared, reducing the payer's debt and the payee's
credit. Sub-fen remainders stay on the books and roll into the next statement.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass

from exchange.codes import (
    AMOUNT_INVALID,
    MERCHANT_UNKNOWN,
    NOT_AUTHORIZED,
    OK,
    PAYLOAD_MALFORMED,
    SAME_MERCHANT,
    SETTLE_EXCEEDS_POSITION,
)
from exchange.limits import micro_per_fen, settle_fen_max
from exchange.schema import Spec, is_id, is_int, is_ref, well_formed
from exchange.state.env import Env
from exchange.state.model import Obligation, Position, Settlement
from exchange.state.state import State
from ledger.wire.record import Record

SETTLE: Spec = (("payer", is_id), ("payee", is_id), ("amount_fen", is_int),
                ("reference", is_ref))


def settle(s: State, env: Env, rec: Record, write: bool) -> str:
    """Payer and payee issuers record that a payment of ``amount_fen`` cleared."""
    p = rec.payload
    if not well_formed(p, SETTLE):
        return PAYLOAD_MALFORMED
    if not 0 < p["amount_fen"] <= settle_fen_max:
        return AMOUNT_INVALID
    payer, payee = s.merchants.get(p["payer"]), s.merchants.get(p["payee"])
    if payer is None or payee is None:
        return MERCHANT_UNKNOWN
    if payer.id == payee.id:
        return SAME_MERCHANT
    if rec.signers != [payer.pubkey, payee.pubkey]:
        return NOT_AUTHORIZED
    amount = p["amount_fen"] * micro_per_fen
    owes, owed = s.positions.get(payer.id), s.positions.get(payee.id)
    if owes is None or owed is None or -owes.net < amount or owed.net < amount:
        return SETTLE_EXCEEDS_POSITION
    if not write:
        return OK
    s.settlements.put((env.height, env.idx), Settlement(
        env.record, env.day, payer.id, payee.id, p["amount_fen"], p["reference"],
        owed_between(s, payer.id, payee.id) - owed_between(s, payee.id, payer.id),
        owes.net, owed.net))
    s.positions.edit(payer.id).paid += amount
    s.positions.edit(payee.id).received += amount
    s.obligations.edit_or_add((payer.id, payee.id), Obligation).settled += amount
    env.event("settled", f"{payer.id}->{payee.id}", f"{p['amount_fen']} fen {p['reference']}")
    return OK


def owed_between(s: State, debtor: str, creditor: str) -> int:
    """What ``debtor`` still owes ``creditor`` for swaps between them (µ¥; negative when it
    paid more than it accrued, through multilateral netting)."""
    found = s.obligations.get((debtor, creditor))
    return found.accrued - found.settled if found is not None else 0


@dataclass(frozen=True, slots=True)
class Payment:
    """One payment of a settlement statement (µ¥, and the whole fen a settle record can carry)."""

    payer: str
    payee: str
    amount_micro: int

    @property
    def amount_fen(self) -> int:
        return self.amount_micro // micro_per_fen


def net_positions(positions: dict[str, Position]) -> list[Payment]:
    """Greedy multilateral netting: the largest debtor pays the largest creditor, repeatedly.

    Every step clears at least one party, so n parties need at most n-1 payments. Ties are
    broken by merchant id, so every replica and reader computes the same statement.
    """
    debtors = [(pos.net, mid) for mid, pos in positions.items() if pos.net < 0]
    creditors = [(-pos.net, mid) for mid, pos in positions.items() if pos.net > 0]
    heapq.heapify(debtors)  # most negative first
    heapq.heapify(creditors)  # most positive first
    payments: list[Payment] = []
    while debtors and creditors:
        debt, payer = heapq.heappop(debtors)
        credit, payee = heapq.heappop(creditors)
        amount = min(-debt, -credit)
        payments.append(Payment(payer, payee, amount))
        if -debt > amount:
            heapq.heappush(debtors, (debt + amount, payer))
        if -credit > amount:
            heapq.heappush(creditors, (credit + amount, payee))
    return payments
