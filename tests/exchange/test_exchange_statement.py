"""The story of a refund and the month's books, checked against a hand computation.

Village Kitchen (100 points per yuan, so one point is worth one fen; 30-day expiry) gives its
points a 7-day return window. In January 2024 Alice earns 500 points that stay pending, can't
spend them, returns the purchase (the points are voided), earns 300 more that vest after the
window and spends them; Bob's December points lapse; VK settles what it owes Burger Palace.
"""

from __future__ import annotations

from typing import Any

from exchange import codes as C
from exchange import queries
from exchange import records as R
from exchange.statement import issuer_statement, month_days

Chain = Any  # the conftest driver

JAN_1 = 23  # days after the tests' T0 (2023-12-09)


def at(c: Chain, day: int, hour: int = 10) -> int:
    """The time of ``hour`` o'clock on day ``day`` after T0 (UTC: the test chain's day)."""
    return c.T0 + day * c.DAY + hour * c.HOUR


def open_with_window(c: Chain) -> Chain:
    assert c.block(
        c.rec(R.apply_merchant, c.vk, "village-kitchen", "Village Kitchen"),
        c.rec(R.apply_merchant, c.bp, "burger-palace", "Burger Palace")) == ["ok", "ok"]
    assert c.vote(R.admit_merchant, "village-kitchen") == "ok"
    assert c.vote(R.admit_merchant, "burger-palace") == "ok"
    assert c.block(
        c.rec(R.create_program, c.vk, "village-kitchen", "vk", "乡村基积分", 100, 30, 10**9,
              return_days=7),
        c.rec(R.create_program, c.bp, "burger-palace", "bp", "汉堡宫积分", 1000, 0, 10**10,
              accepts=["vk"])) == ["ok", "ok"]
    return c


def test_a_refunded_purchase_is_voided_and_the_month_ties_out(new_chain: Any) -> None:
    c = open_with_window(new_chain())
    alice, bob = c.alice.public_hex, c.bob.public_hex
    # December 20: Bob earns 200 (pending until Dec 28 00:00, when they vest).
    assert c.one(c.rec(R.issue, c.vk, "vk", bob, 200, "receipt 0"), at=at(c, 11)) == "ok"
    c.block(at=at(c, 19, 1))
    assert c.balance(c.bob, "vk") == 200
    # January 3: Alice's purchase earns 500 pending points.
    purchase = c.rec(R.issue, c.vk, "vk", alice, 500, "receipt 1")
    assert c.one(purchase, at=at(c, JAN_1 + 2)) == "ok"
    assert c.balance(c.alice, "vk") == 0
    shown = queries.balances(c.app.view, alice)
    assert shown["pending"] == [{"issue": purchase.id, "program": "vk", "amount": 500,
                                 "vests_ms": c.T0 + (JAN_1 + 10) * c.DAY, "value_micro":
                                 5_000_000}]
    # She can't spend them: not redeem, not swap.
    assert c.one(c.rec(R.redeem, c.alice, "vk", 500, "lunch")) == C.INSUFFICIENT_BALANCE
    assert c.one(c.rec(R.swap, c.alice, "vk", 500, "bp", 0, 1, 1)) == C.INSUFFICIENT_BALANCE
    # January 5: she returns the purchase; VK voids the points, once.
    refund = c.rec(R.void_issue, c.vk, purchase.id, "refund of receipt 1")
    assert c.one(refund, at=at(c, JAN_1 + 4)) == "ok"
    assert c.one(c.rec(R.void_issue, c.vk, purchase.id, "again")) == C.ISSUE_ALREADY_VOIDED
    # January 6: another purchase; its 300 points vest on January 14, expiring from then.
    assert c.one(c.rec(R.issue, c.vk, "vk", alice, 300, "receipt 2"),
                 at=at(c, JAN_1 + 5)) == "ok"
    c.block(at=at(c, JAN_1 + 13, 0))
    assert c.balance(c.alice, "vk") == 300
    lots = queries.balances(c.app.view, alice)["holdings"][0]["lots"]
    assert lots == [{"expires_ms": c.T0 + (JAN_1 + 13 + 31) * c.DAY, "amount": 300}]
    # ...and are spent: 120 at VK, 100 swapped for Burger Palace points (¥1 of value).
    assert c.one(c.rec(R.redeem, c.alice, "vk", 120, "dinner"), at=at(c, JAN_1 + 14)) == "ok"
    assert c.one(c.rec(R.swap, c.alice, "vk", 100, "bp", 1000, 1, 1)) == "ok"
    assert c.one(c.rec(R.redeem, c.bob, "vk", 50, "tea"), at=at(c, JAN_1 + 19)) == "ok"
    # January 25: Bob earns 400, still pending on January 31.
    assert c.one(c.rec(R.issue, c.vk, "vk", bob, 400, "receipt 3"), at=at(c, JAN_1 + 24)) == "ok"
    c.block(at=at(c, JAN_1 + 28))  # Jan 29: Bob's December lot (150 left) lapsed on Jan 28
    assert c.balance(c.bob, "vk") == 0
    settle = c.rec(R.settle, [c.vk, c.bp], "village-kitchen", "burger-palace", 100, "jan")
    assert c.one(settle, at=at(c, JAN_1 + 29)) == "ok"
    settled_at = c.height
    c.block(at=at(c, JAN_1 + 33))  # February 2: Bob's 400 vest (after the month)

    first, end = month_days("2024-01")
    statement = issuer_statement(c.app.view, "village-kitchen", first, end)
    assert statement is not None
    # The hand computation, in points (one point = one fen at 100 points per yuan):
    opening = 200  # Bob's December points, vested Dec 28
    issued = 500 + 300 + 400  # receipts 1, 2 and 3
    voided = 500  # receipt 1, refunded
    redeemed = 120 + 50
    swapped_out = 100
    expired = 200 - 50  # Bob's December lot, lapsed Jan 28
    closing = opening + issued - voided - redeemed - swapped_out - expired
    assert closing == (300 - 120 - 100) + 400  # Alice's 80 and Bob's pending 400
    hand = {"opening": opening, "issued": issued, "pending": 400, "voided": voided,
            "redeemed": redeemed, "swapped_in": 0, "swapped_out": swapped_out, "bonus": 0,
            "expired": expired, "closing": closing}
    assert statement["points"] == hand
    assert statement["yuan"] == {**hand, "revaluation": 0}  # fen = points at this rate
    assert statement["period"]["from"] == "2024-01-01" and statement["period"]["to"] == (
        "2024-02-01")
    owed = statement["obligations"]
    assert owed == [{"counterparty": "burger-palace", "receivable_micro": 0,
                     "payable_micro": 1_000_000, "received_micro": 0, "paid_micro": 1_000_000,
                     "net_opening_micro": 0, "net_closing_micro": 0}]
    # The one payment of the month, and the obligation it paid: VK's own ¥1 to BP.
    paid = {"height": settled_at, "idx": 0, "record": settle.id, "date": "2024-01-30",
            "payer": "village-kitchen", "payee": "burger-palace", "direction": "paid",
            "amount_fen": 100, "reference": "jan", "owed_before_micro": 1_000_000,
            "cleared_micro": 1_000_000, "netted_micro": 0,
            "payer_net_before_micro": -1_000_000, "payee_net_before_micro": 1_000_000}
    assert statement["settlements"] == {"count": 1, "truncated": False, "payments": [paid]}
    # Aging at the January closing height (Jan 30), not now: Bob's 400 were still pending
    # and Alice's 80 lapse on February 14.
    assert [(b["expires"], b["points"], b["value_fen"]) for b in statement["aging"]] == [
        ("pending", 400, 400), ("2024-02", 80, 80)]
    three = statement["rates"][0]
    assert (three["months"], three["vested"], three["redeemed"], three["expired"]) == (
        3, 200 + 300, 170, 150)
    assert (three["redemption_bp"], three["breakage_bp"]) == (3400, 3000)
    bp = issuer_statement(c.app.view, "burger-palace", first, end)
    assert bp is not None and bp["points"]["swapped_in"] == bp["points"]["closing"] == 1000
    assert bp["settlements"]["payments"] == [{**paid, "direction": "received"}]
    # BP's points never lapse, but those swapped from VK keep the VK lot's date (Feb 14).
    assert bp["aging"] == [{"expires": "2024-02", "points": 1000, "value_micro": 1_000_000,
                            "value_fen": 100}]
    assert bp["yuan"]["closing"] == 100  # 1000 points at 1000 per yuan = ¥1
    # February opens where January closed; the vest moves pending to spendable, not liability.
    feb = issuer_statement(c.app.view, "village-kitchen", *month_days("2024-02"))
    assert feb is not None and feb["points"]["opening"] == closing
    assert feb["points"]["closing"] == closing and feb["points"]["pending"] == 0
    # ...and February's aging (today's) differs: Bob's 400 vested on Feb 2, lapsing Mar 4.
    assert [(b["expires"], b["points"]) for b in feb["aging"]] == [("2024-02", 80),
                                                                    ("2024-03", 400)]
    assert feb["settlements"] == {"count": 0, "truncated": False, "payments": []}
    assert c.app.audit() == []


def test_a_posted_rate_change_shows_as_revaluation_and_still_ties_out(alliance: Chain) -> None:
    c = alliance  # VK at 100 points per yuan
    assert c.one(c.rec(R.issue, c.vk, "vk", c.alice.public_hex, 1000, "r"), at=at(c, 20)) == "ok"
    assert c.one(c.rec(R.post_rate, c.vk, "vk", 200)) == "ok"  # in effect 7 days later
    c.block(at=at(c, JAN_1 + 5))
    assert c.one(c.rec(R.redeem, c.alice, "vk", 400, "r"), at=at(c, JAN_1 + 6)) == "ok"
    statement = issuer_statement(c.app.view, "village-kitchen", *month_days("2024-01"))
    assert statement is not None
    yuan = statement["yuan"]
    assert statement["points"]["opening"] == 1000 and statement["points"]["closing"] == 600
    assert yuan["opening"] == 1000  # 1000 points at 1 fen
    assert yuan["redeemed"] == 200  # 400 points at half a fen
    assert yuan["closing"] == 300  # 600 points at half a fen
    assert yuan["revaluation"] == -500  # the rate change halved the carrying amount
    assert yuan["opening"] - yuan["redeemed"] + yuan["revaluation"] == yuan["closing"]


def test_vested_points_count_as_earned_and_earn_a_promotion_bonus_once(new_chain: Any) -> None:
    # Points held in a return window were issued by their issuer: once they vest they earn a
    # swap promotion like any issued point (ECONOMICS.md s. 7), and only once: the points the
    # swap brings back are minted, not earned.
    c = open_with_window(new_chain())
    alice = c.alice.public_hex
    assert c.one(c.rec(R.issue, c.vk, "vk", alice, 800, "receipt"), at=at(c, 1)) == "ok"
    c.block(at=at(c, 10, 0))  # day 9 + 1: the 7-day window is over, the 800 vested
    rows = {(r["account"], r["program"]): r for r in c.rows("x_balances")}
    assert (rows[(alice, "vk")]["balance"], rows[(alice, "vk")]["earned"]) == (800, 800)
    assert c.one(c.rec(R.promote, c.bp, "bp", "vk", 2000, at(c, 10, 1), at(c, 20))) == "ok"
    assert c.one(c.rec(R.swap, c.alice, "vk", 800, "bp", 1, 1, 1), at=at(c, 10, 2)) == "ok"
    assert c.balance(c.alice, "bp") == 8000 + 1600  # base + 20% bonus on earned points
    # back and forth: the BP points are minted, so no second bonus on the way back in
    assert c.one(c.rec(R.update_program, c.vk, "vk", "乡村基积分", 10**9, False, 1, 1, 10**12,
                       ["bp"])) == "ok"
    assert c.one(c.rec(R.promote, c.vk, "vk", "bp", 2000, at(c, 10, 3), at(c, 20))) == "ok"
    assert c.one(c.rec(R.swap, c.alice, "bp", 9600, "vk", 1, 1, 1), at=at(c, 10, 4)) == "ok"
    assert c.balance(c.alice, "vk") == 960  # 9,600 BP at 1000/yuan -> 960 VK, no bonus


def test_a_netted_settlement_is_listed_with_what_it_cleared_and_the_list_is_capped(
        alliance: Chain, monkeypatch: Any) -> None:
    # VK owes BP ¥1 (a swap), BP owes Noodle Shop ¥1 (another): netted, VK pays NS directly.
    c = alliance
    assert c.one(c.rec(R.apply_merchant, c.ns, "noodle-shop", "Noodle Shop")) == "ok"
    assert c.vote(R.admit_merchant, "noodle-shop") == "ok"
    assert c.one(c.rec(R.create_program, c.ns, "noodle-shop", "ns", "NS", 100, 0, 10**9,
                       accepts=["bp"])) == "ok"
    alice, bob = c.alice.public_hex, c.bob.public_hex
    assert c.one(c.rec(R.issue, c.vk, "vk", alice, 100, "r")) == "ok"
    assert c.one(c.rec(R.issue, c.bp, "bp", bob, 1000, "r")) == "ok"
    assert c.block(c.rec(R.swap, c.alice, "vk", 100, "bp", 1, 1, 1),
                   c.rec(R.swap, c.bob, "bp", 1000, "ns", 1, 1, 1)) == ["ok", "ok"]
    first = c.rec(R.settle, [c.vk, c.ns], "village-kitchen", "noodle-shop", 60, "net 1")
    second = c.rec(R.settle, [c.vk, c.ns], "village-kitchen", "noodle-shop", 40, "net 2")
    assert c.block(first, second) == ["ok", "ok"]
    period = (c.time_ms // c.DAY, c.time_ms // c.DAY + 1)
    found = issuer_statement(c.app.view, "noodle-shop", *period)
    assert found is not None
    listed = found["settlements"]["payments"]
    assert [(p["record"], p["idx"], p["direction"], p["amount_fen"]) for p in listed] == [
        (first.id, 0, "received", 60), (second.id, 1, "received", 40)]
    # VK never owed NS directly: all of it clears other obligations through netting.
    assert [(p["owed_before_micro"], p["cleared_micro"], p["netted_micro"]) for p in listed] == [
        (0, 0, 600_000), (-600_000, 0, 400_000)]
    assert [(p["payer_net_before_micro"], p["payee_net_before_micro"]) for p in listed] == [
        (-1_000_000, 1_000_000), (-400_000, 400_000)]
    monkeypatch.setattr("exchange.statement.statement_settlements_max", 1)
    capped = issuer_statement(c.app.view, "noodle-shop", *period)
    assert capped is not None and capped["settlements"] == {
        "count": 2, "truncated": True, "payments": listed[:1]}
    assert capped["obligations"] == found["obligations"]  # the totals still count both
