"""No value from nothing: the attacks of issue 15 (part 4) played against the rules.

Each test plays one loophole as it was found and shows that it now yields no gain: promotion
round trips (a bonus only on earned points), rate-change front-running (during a notice the
receiving program mints at the lower of its two rates) and the expiry dodge (points minted by
a swap lapse no later than the earliest lot given for them).
"""

from __future__ import annotations

from typing import Any

from exchange import queries
from exchange import records as R

Chain = Any  # the conftest driver


def _vk_accepts_bp(c: Chain, transferable: bool = False) -> None:
    assert c.one(c.rec(R.update_program, c.vk, "vk", "乡村基积分", 10**9, transferable, 1, 1,
                       10**12, ["bp"])) == "ok"


def _value(c: Chain, account: Any) -> int:
    return queries.balances(c.app.view, account.public_hex)["value_micro"]


def test_five_promoted_round_trips_earn_one_bonus_only(alliance: Chain) -> None:
    """VK→BP→VK five times with BP paying +20% on VK swaps: ¥8.00 became ¥19.90 when
    every leg into BP got the bonus; now only the 800 points VK issued earn it, once."""
    c = alliance
    _vk_accepts_bp(c)
    start = c.time_ms + c.HOUR
    assert c.one(c.rec(R.promote, c.bp, "bp", "vk", 2000, start, start + 3 * c.DAY)) == "ok"
    assert c.one(c.rec(R.issue, c.vk, "vk", c.alice.public_hex, 800)) == "ok"
    assert _value(c, c.alice) == 8_000_000
    c.block(at=start)
    for _ in range(5):
        vk = c.balance(c.alice, "vk")
        assert c.one(c.rec(R.swap, c.alice, "vk", vk, "bp", 0, 1, 1)) == "ok"
        bp = c.balance(c.alice, "bp")
        assert c.one(c.rec(R.swap, c.alice, "bp", bp, "vk", 0, 1, 1)) == "ok"
    assert _value(c, c.alice) == 9_600_000  # ¥8.00 + the one 20% bonus, not ¥19.90
    assert c.program("bp")["promoted"] == 1600
    bonuses = [s["bonus"] for s in c.rows("x_swaps") if s["get"] == "bp"]
    assert bonuses == [1600, 0, 0, 0, 0]
    positions = {p["merchant"]: p["net"] for p in c.rows("x_positions")}
    # VK is owed exactly the bonus BP granted, which came home as VK points VK must honour
    assert positions == {"village-kitchen": 1_600_000, "burger-palace": -1_600_000}


def test_a_gift_carries_earned_points_but_cannot_launder_minted_ones(alliance: Chain) -> None:
    c = alliance
    _vk_accepts_bp(c, transferable=True)
    start = c.time_ms + c.HOUR
    assert c.one(c.rec(R.promote, c.bp, "bp", "vk", 2000, start, start + 3 * c.DAY)) == "ok"
    assert c.one(c.rec(R.issue, c.vk, "vk", c.alice.public_hex, 800)) == "ok"
    c.block(at=start)
    assert c.one(c.rec(R.swap, c.alice, "vk", 500, "bp", 0, 1, 1)) == "ok"  # +1000 bonus
    assert c.one(c.rec(R.swap, c.alice, "bp", 6000, "vk", 0, 1, 1)) == "ok"  # 600 minted VK
    # Alice holds 900 VK: 600 minted by the swap, 300 earned. A gift of 700 takes the
    # minted ones first: Bob gets 600 minted and 100 earned, Alice keeps 200 earned.
    assert c.one(c.rec(R.transfer, c.alice, "vk", c.bob.public_hex, 700)) == "ok"
    earned = {(r["account"], r["program"]): r["earned"] for r in c.rows("x_balances")}
    assert earned[c.bob.public_hex, "vk"] == 100 and earned[c.alice.public_hex, "vk"] == 200
    assert c.one(c.rec(R.swap, c.bob, "vk", 700, "bp", 0, 1, 1)) == "ok"
    assert c.rows("x_swaps")[-1]["bonus"] == 200  # 20% of the 1000 BP the earned 100 buy
    assert c.one(c.rec(R.swap, c.alice, "vk", 200, "bp", 0, 1, 1)) == "ok"
    assert c.rows("x_swaps")[-1]["bonus"] == 400
    assert c.program("bp")["promoted"] == 1600  # 20% of the 800 VK points issued, no more


def test_rate_change_front_running_gains_nothing(alliance: Chain) -> None:
    """BP goes from 1000 to 500 points per yuan: swapping in at the old rate during the
    notice and out at the new one doubled the value; now it mints at 500 and gains nothing."""
    c = alliance
    _vk_accepts_bp(c)
    assert c.one(c.rec(R.issue, c.vk, "vk", c.alice.public_hex, 800)) == "ok"
    assert c.one(c.rec(R.post_rate, c.bp, "bp", 500)) == "ok"
    posted = c.time_ms
    quote = queries.quote(c.app.view, "vk", 800, "bp")
    assert (quote["get_version"], quote["get_rate"], quote["out"]) == (1, 500, 4000)
    assert c.one(c.rec(R.swap, c.alice, "vk", 800, "bp", 0, 1, 1)) == "ok"
    assert c.balance(c.alice, "bp") == 4000
    swap = c.rows("x_swaps")[-1]
    assert (swap["get_rate"], swap["value_burned"], swap["value_minted"]) == (
        500, 8_000_000, 8_000_000)  # BP is owed what the points will be worth
    c.block(at=posted + 7 * c.DAY)  # the new rate is in effect
    assert c.one(c.rec(R.swap, c.alice, "bp", 4000, "vk", 0, 2, 1)) == "ok"
    assert c.balance(c.alice, "vk") == 800 and _value(c, c.alice) == 8_000_000


def test_the_notice_still_protects_holders(alliance: Chain) -> None:
    """A holder is priced as it saw: during a devaluation notice (1000 → 2000) BP points
    still swap out at 1000; and points held when a revaluation is posted gain from it."""
    c = alliance
    _vk_accepts_bp(c)
    assert c.one(c.rec(R.issue, c.bp, "bp", c.alice.public_hex, 8000)) == "ok"
    assert c.one(c.rec(R.issue, c.bp, "bp", c.bob.public_hex, 8000)) == "ok"
    assert c.one(c.rec(R.post_rate, c.bp, "bp", 2000)) == "ok"
    assert c.one(c.rec(R.swap, c.alice, "bp", 8000, "vk", 0, 1, 1)) == "ok"
    assert c.balance(c.alice, "vk") == 800  # ¥8.00, the value Alice saw
    c.block(at=c.time_ms + 7 * c.DAY)
    assert c.one(c.rec(R.post_rate, c.bp, "bp", 1000)) == "ok"  # back up, v3 pending
    assert c.one(c.rec(R.swap, c.bob, "bp", 4000, "vk", 0, 2, 1)) == "ok"
    assert c.balance(c.bob, "vk") == 200  # still v2 (2000/yuan) until the notice ends
    c.block(at=c.time_ms + 7 * c.DAY)
    assert c.one(c.rec(R.swap, c.bob, "bp", 4000, "vk", 0, 3, 1)) == "ok"
    assert c.balance(c.bob, "vk") == 600  # held through the revaluation: worth ¥4.00 now


def test_the_expiry_dodge_moves_no_lapse(alliance: Chain) -> None:
    """520 VK points lapse at the start of day 31; VK→BP→VK on day 29 used to give them a
    fresh 30 days (day 60). Now the minted points keep the earliest expiry of those given,
    even in BP, whose own points never lapse."""
    c = alliance
    _vk_accepts_bp(c)
    assert c.one(c.rec(R.issue, c.vk, "vk", c.alice.public_hex, 520), at=c.T0 + c.HOUR) == "ok"
    lapse = c.T0 + 31 * c.DAY
    c.block(at=c.T0 + 29 * c.DAY)
    assert c.one(c.rec(R.swap, c.alice, "vk", 520, "bp", 0, 1, 1)) == "ok"
    lots = queries.balances(c.app.view, c.alice.public_hex)["holdings"][0]["lots"]
    assert lots == [{"expires_ms": lapse, "amount": 5200}]  # in BP, lapsing with the VK lot
    assert c.one(c.rec(R.swap, c.alice, "bp", 5200, "vk", 0, 1, 1)) == "ok"
    assert [(r["expires_ms"], r["amount"]) for r in c.rows("x_lots")] == [(lapse, 520)]
    c.block(at=lapse)
    assert c.balance(c.alice, "vk") == 0 and c.program("vk")["expired"] == 520


def test_a_swap_of_several_lots_mints_at_the_earliest(alliance: Chain) -> None:
    c = alliance
    _vk_accepts_bp(c)
    assert c.one(c.rec(R.issue, c.bp, "bp", c.alice.public_hex, 3000)) == "ok"  # never lapses
    assert c.one(c.rec(R.issue, c.vk, "vk", c.alice.public_hex, 100), at=c.T0 + c.DAY) == "ok"
    assert c.one(c.rec(R.swap, c.alice, "vk", 100, "bp", 0, 1, 1)) == "ok"
    lapse = c.T0 + 32 * c.DAY
    # 1000 BP lapse on day 32; a swap of 1500 BP takes those first, then 500 that never do
    c.block(at=c.T0 + 10 * c.DAY)
    assert c.one(c.rec(R.swap, c.alice, "bp", 1500, "vk", 0, 1, 1)) == "ok"
    rows = [(r["program"], r["expires_ms"], r["amount"]) for r in c.rows("x_lots")]
    assert rows == [("vk", lapse, 150)]  # not day 41, VK's own period from day 10
    assert c.balance(c.alice, "bp") == 2500 and c.app.audit() == []


def test_a_promotion_bonus_lapses_with_the_points_it_was_earned_on(alliance: Chain) -> None:
    """BP's points never lapse, but the 20% bonus on a swap of VK points lapsing on day 31
    is minted like the swap's own points: it lapses with them, not later and not never."""
    c = alliance
    start = c.time_ms + c.HOUR
    assert c.one(c.rec(R.promote, c.bp, "bp", "vk", 2000, start, start + 3 * c.DAY)) == "ok"
    assert c.one(c.rec(R.issue, c.vk, "vk", c.alice.public_hex, 100), at=start) == "ok"
    assert c.one(c.rec(R.swap, c.alice, "vk", 100, "bp", 0, 1, 1)) == "ok"
    lots = queries.balances(c.app.view, c.alice.public_hex)["holdings"][0]["lots"]
    assert lots == [{"expires_ms": c.T0 + 31 * c.DAY, "amount": 1200}]  # 1,000 and 200 bonus
