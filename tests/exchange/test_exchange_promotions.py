"""Inbound promotions ("free exchange" campaigns): a bonus at the receiving issuer's cost."""

from __future__ import annotations

from typing import Any

from exchange import queries
from exchange import records as R

Chain = Any  # the conftest driver


def _campaign(c: Chain, bonus_bp: int = 2500) -> tuple[int, int]:
    start, end = c.time_ms + c.HOUR, c.time_ms + 3 * c.DAY
    assert c.one(c.rec(R.promote, c.bp, "bp", "vk", bonus_bp, start, end)) == "ok"
    assert c.one(c.rec(R.issue, c.vk, "vk", c.alice.public_hex, 1600)) == "ok"
    return start, end


def test_bonus_is_minted_at_the_receiving_issuers_cost(alliance: Chain) -> None:
    c = alliance
    start, _ = _campaign(c)
    assert c.one(c.rec(R.swap, c.alice, "vk", 800, "bp", 10_000, 1, 1), at=start) == "ok"
    assert c.balance(c.alice, "bp") == 10_000  # 8000 + 25%
    bp = c.program("bp")
    assert (bp["swapped_in"], bp["issued"], bp["promoted"], bp["supply"]) == (
        8000, 2000, 2000, 10_000)
    owed = queries.obligations(c.app.view)["matrix"]
    assert [o["accrued_micro"] for o in owed] == [8_000_000]  # the bonus is owed by nobody
    swap = c.rows("x_swaps")[-1]
    assert (swap["value_burned"], swap["value_minted"], swap["bonus_value"]) == (
        8_000_000, 8_000_000, 2_000_000)
    assert [r["kind"] for r in c.rows("x_history")][-3:] == ["swap_out", "swap_in", "bonus"]


def test_no_bonus_outside_the_window(alliance: Chain) -> None:
    c = alliance
    start, end = _campaign(c)
    assert c.one(c.rec(R.swap, c.alice, "vk", 100, "bp", 0, 1, 1), at=start - 1) == "ok"
    assert c.one(c.rec(R.swap, c.alice, "vk", 100, "bp", 0, 1, 1), at=end) == "ok"
    assert c.balance(c.alice, "bp") == 2000
    assert c.program("bp")["promoted"] == 0


def test_quote_shows_the_promotion_in_force(alliance: Chain) -> None:
    c = alliance
    start, _ = _campaign(c, 1000)
    c.block(at=start)
    quote = queries.quote(c.app.view, "vk", 800, "bp")
    assert (quote["base"], quote["bonus"], quote["out"], quote["bonus_bp"]) == (
        8000, 800, 8800, 1000)


def test_only_the_receiving_issuer_may_promote(alliance: Chain) -> None:
    c = alliance
    t = c.time_ms
    assert c.one(c.rec(R.promote, c.vk, "bp", "vk", 500, t, t + c.DAY)) == "not_authorized"


def test_ended_promotions_are_dropped_when_a_new_one_is_posted(alliance: Chain) -> None:
    c = alliance
    t = c.time_ms
    assert c.one(c.rec(R.promote, c.bp, "bp", "vk", 500, t, t + c.DAY)) == "ok"
    later = c.rec(R.promote, c.bp, "bp", "vk", 700, t + 2 * c.DAY, t + 3 * c.DAY)
    assert c.one(later, at=t + 2 * c.DAY) == "ok"
    assert [r["bonus_bp"] for r in c.rows("x_promotions")] == [700]
    assert [r["kind"] for r in c.rows("x_events")].count("promotion") == 2
