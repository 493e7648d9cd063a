"""Posted rates: a change takes effect after the notice period; swaps name the versions quoted."""

from __future__ import annotations

from typing import Any

from exchange import queries
from exchange import records as R

Chain = Any  # the conftest driver


def _post_bp_2000(c: Chain) -> int:
    """BP halves its points' value (2000 per yuan); returns when the change takes effect."""
    assert c.one(c.rec(R.issue, c.vk, "vk", c.alice.public_hex, 1600)) == "ok"
    assert c.one(c.rec(R.post_rate, c.bp, "bp", 2000)) == "ok"
    return c.time_ms + 7 * c.DAY


def test_swap_quoted_within_the_notice_period_executes_at_the_quoted_rate(
        alliance: Chain) -> None:
    c = alliance
    effective = _post_bp_2000(c)
    board = {b["program"]: b for b in queries.rate_board(c.app.view)}
    assert board["bp"]["rate"] == 1000 and board["bp"]["version"] == 1
    assert board["bp"]["pending"] == {"version": 2, "rate": 2000, "effective_ms": effective}
    swap = c.rec(R.swap, c.alice, "vk", 800, "bp", 8000, 1, 1)
    assert c.one(swap, at=effective - 1) == "ok"
    assert c.balance(c.alice, "bp") == 8000  # the old rate, as quoted


def test_swap_quoting_the_old_rate_after_the_new_one_took_effect_is_stale(
        alliance: Chain) -> None:
    c = alliance
    effective = _post_bp_2000(c)
    stale = c.rec(R.swap, c.alice, "vk", 800, "bp", 8000, 1, 1)
    assert c.one(stale, at=effective) == "rate_version_stale"
    assert c.balance(c.alice, "vk") == 1600
    fresh = c.rec(R.swap, c.alice, "vk", 800, "bp", 16000, 1, 2)
    assert c.one(fresh) == "ok"
    assert c.balance(c.alice, "bp") == 16000


def test_quoting_a_pending_version_before_it_takes_effect_is_refused(alliance: Chain) -> None:
    c = alliance
    _post_bp_2000(c)
    early = c.rec(R.swap, c.alice, "vk", 800, "bp", 0, 1, 2)
    assert c.one(early) == "rate_version_not_in_effect"


def test_rate_change_is_announced_and_recorded(alliance: Chain) -> None:
    c = alliance
    effective = _post_bp_2000(c)
    c.block(at=effective)
    kinds = [r["kind"] for r in c.rows("x_events") if r["subject"] == "bp"]
    assert kinds[-2:] == ["rate_posted", "rate_in_effect"]
    history = {b["program"]: b for b in queries.rate_board(c.app.view)}["bp"]["history"]
    assert [(h["version"], h["rate"]) for h in history] == [(1, 1000), (2, 2000)]
    bp = c.program("bp")
    assert (bp["rate"], bp["rate_version"], bp["pending_version"]) == (2000, 2, None)


def test_a_new_rate_changes_the_value_of_points_in_circulation(alliance: Chain) -> None:
    c = alliance
    assert c.one(c.rec(R.issue, c.vk, "vk", c.alice.public_hex, 500)) == "ok"
    assert queries.program(c.app.view, "vk")["liability_micro"] == 5_000_000
    assert c.one(c.rec(R.post_rate, c.vk, "vk", 200)) == "ok"
    c.block(at=c.time_ms + 7 * c.DAY)
    assert queries.program(c.app.view, "vk")["liability_micro"] == 2_500_000
