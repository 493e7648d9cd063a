"""Obligations and settlement: multilateral netting and settle records."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from exchange import queries
from exchange import records as R
from exchange.model import Position
from exchange.settlement import net_positions

Chain = Any  # the conftest driver


def _triangle(c: Chain) -> Chain:
    """VK owes BP ¥8 and BP owes NS ¥8: netted, VK pays NS ¥8 and BP nothing."""
    assert c.one(c.rec(R.apply_merchant, c.ns, "noodle-shop", "Noodle Shop")) == "ok"
    assert c.vote(R.admit_merchant, "noodle-shop") == "ok"
    assert c.one(c.rec(R.create_program, c.ns, "noodle-shop", "ns", "面馆积分", 10, 0, 10**6,
                       accepts=["bp"])) == "ok"
    assert c.block(
        c.rec(R.issue, c.vk, "vk", c.alice.public_hex, 800),
        c.rec(R.issue, c.bp, "bp", c.bob.public_hex, 8000),
    ) == ["ok", "ok"]
    assert c.block(
        c.rec(R.swap, c.alice, "vk", 800, "bp", 8000, 1, 1),
        c.rec(R.swap, c.bob, "bp", 8000, "ns", 80, 1, 1),
    ) == ["ok", "ok"]
    return c


def test_statement_nets_a_chain_of_debts_into_one_payment(alliance: Chain) -> None:
    c = _triangle(alliance)
    obligations = queries.obligations(c.app.view)
    assert [(o["debtor"], o["creditor"], o["accrued_micro"]) for o in obligations["matrix"]] == [
        ("burger-palace", "noodle-shop", 8_000_000),
        ("village-kitchen", "burger-palace", 8_000_000)]
    assert sum(p["net_micro"] for p in obligations["positions"]) == 0
    statement = queries.statement(c.app.view)
    assert statement["payments"] == [{"payer": "village-kitchen", "payee": "noodle-shop",
                                      "amount_micro": 8_000_000, "amount_fen": 800}]
    settle = c.rec(R.settle, [c.vk, c.ns], "village-kitchen", "noodle-shop", 800, "wire 17")
    assert c.one(settle) == "ok"
    assert all(p["net_micro"] == 0 for p in queries.obligations(c.app.view)["positions"])
    assert c.app.audit() == []


def test_partial_settlement_leaves_the_rest_owed(alliance: Chain) -> None:
    c = _triangle(alliance)
    assert c.one(c.rec(R.settle, [c.vk, c.ns], "village-kitchen", "noodle-shop", 300)) == "ok"
    assert queries.statement(c.app.view)["payments"][0]["amount_fen"] == 500
    too_much = c.rec(R.settle, [c.vk, c.ns], "village-kitchen", "noodle-shop", 501)
    assert c.one(too_much) == "settle_exceeds_position"


def test_settle_needs_both_issuers_signatures_in_order(alliance: Chain) -> None:
    c = _triangle(alliance)
    swapped = c.rec(R.settle, [c.ns, c.vk], "village-kitchen", "noodle-shop", 800)
    assert c.one(swapped) == "not_authorized"


def test_swaps_between_two_programs_of_one_issuer_leave_no_obligation(alliance: Chain) -> None:
    c = alliance
    assert c.one(c.rec(R.create_program, c.bp, "burger-palace", "bp-gold", "Gold", 10, 0,
                       10**6, accepts=["bp"])) == "ok"
    assert c.one(c.rec(R.issue, c.bp, "bp", c.alice.public_hex, 1000)) == "ok"
    assert c.one(c.rec(R.swap, c.alice, "bp", 1000, "bp-gold", 10, 1, 1)) == "ok"
    assert queries.obligations(c.app.view)["matrix"] == []
    assert queries.regulator_report(c.app.view)["flows"][0]["value_micro"] == 1_000_000


def test_payments_below_one_fen_are_left_for_a_later_statement() -> None:
    positions = {"a": Position(payable=9_999), "b": Position(receivable=9_999)}
    assert [p.amount_fen for p in net_positions(positions)] == [0]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(-10**9, 10**9), min_size=1, max_size=12))
def test_netting_clears_every_position_in_at_most_n_minus_1_payments(nets: list[int]) -> None:
    nets.append(-sum(nets))  # positions always sum to zero
    positions = {f"m{i:02}": Position(receivable=max(n, 0), payable=max(-n, 0))
                 for i, n in enumerate(nets)}
    payments = net_positions(positions)
    parties = sum(1 for n in nets if n)
    assert len(payments) <= max(parties - 1, 0)
    left = {mid: p.net for mid, p in positions.items()}
    for pay in payments:
        assert pay.amount_micro > 0
        left[pay.payer] += pay.amount_micro
        left[pay.payee] -= pay.amount_micro
        assert left[pay.payer] <= 0 <= left[pay.payee]  # nobody overpays or is overpaid
    assert all(v == 0 for v in left.values())
