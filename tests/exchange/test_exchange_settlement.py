"""Obligations and settlement: multilateral netting and settle records."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exchange import queries
from exchange import records as R
from exchange.limits import micro_per_fen, settle_fen_max
from exchange.rules.settlement import net_positions
from exchange.state.model import Position
from exchange.state.state import State

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


@pytest.mark.parametrize(("payer", "payee"), [
    ("village-kitchen", "burger-palace"),  # VK owes ¥8; BP's net is 0: owed nothing
    ("noodle-shop", "burger-palace"),  # NS is owed ¥8 and owes nothing; BP is owed nothing
    ("burger-palace", "noodle-shop"),  # NS is owed ¥8; BP's net is 0: owes nothing
], ids=["payee owed nothing", "payer owes nothing, payee owed nothing", "payer owes nothing"])
def test_a_payment_beyond_either_position_is_refused_and_changes_nothing(
        alliance: Chain, payer: str, payee: str) -> None:
    c = _triangle(alliance)
    keys = {"village-kitchen": c.vk, "burger-palace": c.bp, "noodle-shop": c.ns}
    before = queries.obligations(c.app.view)
    settle = c.rec(R.settle, [keys[payer], keys[payee]], payer, payee, 800)
    assert c.one(settle) == "settle_exceeds_position"
    assert queries.obligations(c.app.view) == before
    assert c.app.audit() == []


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


NETTING_EXAMPLE = re.compile(r"\*Example \(netting order\)\.\*(.*?)\n\n", re.S)


def test_the_netting_order_is_the_documented_worked_example() -> None:
    """docs/ECONOMICS.md §9: largest debtor pays largest creditor, ties by merchant id."""
    yuan = 100 * micro_per_fen
    nets = {"alpha": -5, "beta": -3, "gamma": 4, "delta": 4}
    positions = {m: Position(receivable=max(n, 0) * yuan, payable=max(-n, 0) * yuan)
                 for m, n in nets.items()}
    payments = [f"{p.payer} pays {p.payee} ¥{p.amount_micro // yuan}"
                for p in net_positions(positions)]
    assert payments == ["alpha pays delta ¥4", "beta pays gamma ¥3", "alpha pays gamma ¥1"]
    doc = (Path(__file__).resolve().parents[2] / "docs" / "ECONOMICS.md").read_text()
    example = NETTING_EXAMPLE.search(doc)
    assert example is not None, "ECONOMICS.md lost its netting-order example"
    assert ", then ".join(payments) in " ".join(example.group(1).split())


def test_the_statement_leaves_sub_fen_payments_for_a_later_statement() -> None:
    """A payment under 1 fen cannot be carried by a settle record: the statement omits it,
    and the position stays on the books (docs/ECONOMICS.md §9)."""
    s = State()
    s.params.put("last_time_ms", 1)
    s.positions.put("a", Position(payable=3 * micro_per_fen + 9_999))
    s.positions.put("b", Position(receivable=3 * micro_per_fen))
    s.positions.put("c", Position(receivable=9_999))
    s.positions.put("d", Position(payable=micro_per_fen - 1))
    s.positions.put("e", Position(receivable=micro_per_fen - 1))
    s.positions.put("f", Position(payable=micro_per_fen))  # exactly 1 fen: in the statement
    s.positions.put("g", Position(receivable=micro_per_fen))
    statement = queries.statement(s)
    assert statement["payments"] == [
        {"payer": "a", "payee": "b", "amount_micro": 30_000, "amount_fen": 3},
        {"payer": "f", "payee": "g", "amount_micro": 10_000, "amount_fen": 1}]
    assert [p.amount_micro for p in net_positions(dict(s.positions.items()))] == \
        [30_000, 10_000, 9_999, 9_999]  # the netting keeps them; only the statement omits
    assert [p["net_micro"] for p in statement["positions"]] == [
        -39_999, 30_000, 9_999, -9_999, 9_999, -10_000, 10_000]


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


def test_partial_settlements_add_up_and_each_is_an_event(alliance: Chain) -> None:
    c = _triangle(alliance)
    for fen, ref in ((300, "wire 1"), (200, "wire 2")):
        assert c.one(c.rec(R.settle, [c.vk, c.ns], "village-kitchen", "noodle-shop", fen,
                           ref)) == "ok"
    assert c.store["x_obligations"][("village-kitchen", "noodle-shop")]["settled"] == 5_000_000
    positions = {p["merchant"]: p for p in queries.obligations(c.app.view)["positions"]}
    assert positions["village-kitchen"]["paid_micro"] == 5_000_000
    assert positions["noodle-shop"]["received_micro"] == 5_000_000
    events = [(e["kind"], e["subject"], e["detail"]) for e in c.store["x_events"].values()
              if e["kind"] == "settled"]
    assert events == [("settled", "village-kitchen->noodle-shop", "300 fen wire 1"),
                      ("settled", "village-kitchen->noodle-shop", "200 fen wire 2")]


@pytest.mark.parametrize(("payer", "payee", "fen", "code"), [
    ("village-kitchen", "noodle-shop", 1, "ok"),
    ("village-kitchen", "noodle-shop", 0, "amount_invalid"),
    ("village-kitchen", "noodle-shop", settle_fen_max, "settle_exceeds_position"),
    ("village-kitchen", "noodle-shop", settle_fen_max + 1, "amount_invalid"),
    ("nobody", "noodle-shop", 1, "merchant_unknown"),
    ("village-kitchen", "nobody", 1, "merchant_unknown"),
])
def test_settle_amount_bounds_and_unknown_merchants(alliance: Chain, payer: str, payee: str,
                                                    fen: int, code: str) -> None:
    c = _triangle(alliance)
    assert c.one(c.rec(R.settle, [c.vk, c.ns], payer, payee, fen)) == code


def test_netting_pays_one_micro_yuan_and_leaves_zero_nets_out() -> None:
    positions = {"a": Position(payable=1), "b": Position(receivable=1), "z": Position()}
    assert [(p.payer, p.payee, p.amount_micro) for p in net_positions(positions)] == [
        ("a", "b", 1)]


@pytest.mark.parametrize(("payer", "payee"), [("village-kitchen", "noodle-shop"),
                                              ("noodle-shop", "burger-palace")],
                         ids=["payee never swapped", "payer never swapped"])
def test_a_merchant_without_a_position_neither_pays_nor_is_paid(alliance: Chain, payer: str,
                                                                 payee: str) -> None:
    """VK owes BP ¥8; Noodle Shop is a member that no swap has touched: it has no position."""
    c = alliance
    assert c.one(c.rec(R.apply_merchant, c.ns, "noodle-shop", "Noodle Shop")) == "ok"
    assert c.vote(R.admit_merchant, "noodle-shop") == "ok"
    assert c.one(c.rec(R.issue, c.vk, "vk", c.alice.public_hex, 800)) == "ok"
    assert c.one(c.rec(R.swap, c.alice, "vk", 800, "bp", 8000, 1, 1)) == "ok"
    assert "noodle-shop" not in {p["merchant"] for p in
                                 queries.obligations(c.app.view)["positions"]}
    keys = {"village-kitchen": c.vk, "burger-palace": c.bp, "noodle-shop": c.ns}
    settle = c.rec(R.settle, [keys[payer], keys[payee]], payer, payee, 1)
    assert c.one(settle) == "settle_exceeds_position"
    assert c.app.audit() == []
