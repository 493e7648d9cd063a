"""Pricing with integers: out = floor(x * rate_B / rate_A); only the A points needed are taken."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exchange import queries
from exchange import records as R
from exchange.rules.pricing import is_valid_rate, swap_amounts, unit_value, value

Chain = Any  # the conftest driver

DIVISORS = [r for r in range(1, 1_000_001) if 1_000_000 % r == 0]
rates = st.sampled_from(DIVISORS)


@pytest.mark.parametrize(("rate", "ok"), [(1, True), (100, True), (1000, True), (300, False),
                                          (0, False), (2_000_000, False), (1_000_000, True)])
def test_posted_rates_divide_one_million(rate: int, ok: bool) -> None:
    assert is_valid_rate(rate) is ok


def test_the_story_numbers() -> None:
    assert unit_value(100) == 10_000 and unit_value(1000) == 1_000  # µ¥ per point
    assert swap_amounts(800, 100, 1000, 1, 0) == (8000, 800, 0)
    assert value(800, 100) == value(8000, 1000) == 8_000_000
    assert swap_amounts(8000, 1000, 100, 1, 0) == (800, 8000, 0)
    assert swap_amounts(8005, 1000, 100, 1, 0) == (800, 8000, 0)  # 5 BP points stay


@settings(max_examples=100, deadline=None)
@given(amount=st.integers(1, 10**12), rate_give=rates, rate_get=rates,
       step=st.integers(1, 1000), bonus_bp=st.integers(0, 10_000))
def test_no_swap_mints_more_value_than_it_burns(amount: int, rate_give: int, rate_get: int,
                                                step: int, bonus_bp: int) -> None:
    base, taken, bonus = swap_amounts(amount, rate_give, rate_get, step, bonus_bp)
    assert 0 <= taken <= amount
    assert base % step == 0
    assert base * unit_value(rate_get) <= taken * unit_value(rate_give)
    assert base <= amount * rate_get // rate_give
    assert bonus == base * bonus_bp // 10_000
    if base:  # one point fewer would not have bought ``base``
        fewer, _, _ = swap_amounts(taken - 1, rate_give, rate_get, step, 0)
        assert fewer < base


def test_rounding_leaves_the_unneeded_points_with_the_holder(alliance: Chain) -> None:
    c = alliance
    assert c.one(c.rec(R.issue, c.bp, "bp", c.alice.public_hex, 10)) == "ok"
    assert c.one(c.rec(R.update_program, c.vk, "vk", "乡村基积分", 10**9, False, 1, 1, 10**12,
                       ["bp"])) == "ok"
    quote = queries.quote(c.app.view, "bp", 10, "vk")
    assert (quote["base"], quote["taken"]) == (1, 10)
    assert c.one(c.rec(R.swap, c.alice, "bp", 9, "vk", 0, 1, 1)) == "below_minimum"
    assert c.one(c.rec(R.issue, c.bp, "bp", c.alice.public_hex, 5)) == "ok"
    assert c.one(c.rec(R.swap, c.alice, "bp", 15, "vk", 1, 1, 1)) == "ok"
    assert (c.balance(c.alice, "bp"), c.balance(c.alice, "vk")) == (5, 1)
    swap = c.rows("x_swaps")[-1]
    assert (swap["taken"], swap["value_burned"], swap["value_minted"]) == (10, 10_000, 10_000)


def test_step_rounds_the_points_received_down(alliance: Chain) -> None:
    c = alliance
    assert c.one(c.rec(R.update_program, c.bp, "bp", "汉堡宫积分", 10**10, False, 100, 500,
                       10**12, ["vk"])) == "ok"
    assert c.one(c.rec(R.issue, c.vk, "vk", c.alice.public_hex, 123)) == "ok"
    quote = queries.quote(c.app.view, "vk", 123, "bp", holder=c.alice.public_hex)
    assert (quote["base"], quote["taken"]) == (1000, 100)
    assert c.one(c.rec(R.swap, c.alice, "vk", 123, "bp", 1000, 1, 1)) == "ok"
    assert (c.balance(c.alice, "vk"), c.balance(c.alice, "bp")) == (23, 1000)


@pytest.mark.parametrize(("amount", "rate_give", "rate_get", "step", "bonus_bp", "expected"), [
    (5, 3, 2, 1, 0, (3, 5, 0)),  # taken = ceil(3 * 3 / 2) = ceil(4.5) = 5, a whole point
    (7, 1, 1, 2, 0, (6, 6, 0)),  # a step of 2 rounds 7 down to 6
    (10, 1, 1, 3, 0, (9, 9, 0)),
    (1000, 10, 1000, 1, 250, (100_000, 1000, 2_500)),
    (999, 1000, 10, 1, 9_999, (9, 900, 8)),  # bonus floor(9 * 9999 / 10000) = 8
])
def test_swap_amounts_are_whole_points_rounded_as_documented(
        amount: int, rate_give: int, rate_get: int, step: int, bonus_bp: int,
        expected: tuple[int, int, int]) -> None:
    got = swap_amounts(amount, rate_give, rate_get, step, bonus_bp)
    assert got == expected and all(type(x) is int for x in got)


@pytest.mark.parametrize("rate", [1, 10, 100, 1000, 1_000_000])
def test_point_values_are_integers_in_micro_yuan(rate: int) -> None:
    assert type(unit_value(rate)) is int and unit_value(rate) * rate == 1_000_000
    assert type(value(3, rate)) is int and value(3, rate) == 3 * unit_value(rate)


@pytest.mark.parametrize(("amount", "rate_give", "rate_get", "step", "bonus_bp", "unearned",
                          "expected"), [
    (1000, 10, 1000, 1, 250, 400, (100_000, 1000, 1_500)),  # 600 earned buy 60,000: 2.5%
    (1000, 10, 1000, 1, 250, 999, (100_000, 1000, 2)),  # 1 earned buys 100: floor(2.5)
    (1000, 10, 1000, 1, 250, 1000, (100_000, 1000, 0)),  # all minted by a swap: no bonus
    (1000, 10, 1000, 1, 250, 5000, (100_000, 1000, 0)),  # more unearned than taken
    (5, 3, 2, 1, 5_000, 2, (3, 5, 1)),  # 3 earned of 5 taken buy floor(3 * 2 / 3) = 2
    (2, 1, 1000, 3, 10_000, 1, (1998, 2, 1000)),  # 1 earned point buys 1000 of the 1998
])
def test_the_bonus_applies_only_to_what_the_earned_points_taken_buy(
        amount: int, rate_give: int, rate_get: int, step: int, bonus_bp: int, unearned: int,
        expected: tuple[int, int, int]) -> None:
    assert swap_amounts(amount, rate_give, rate_get, step, bonus_bp, unearned) == expected


@settings(max_examples=200, deadline=None)
@given(amount=st.integers(1, 10**9), rate_give=rates, rate_get=rates,
       step=st.integers(1, 1000), bonus_bp=st.integers(0, 10_000),
       unearned=st.integers(0, 2 * 10**9))
def test_unearned_points_change_only_the_bonus_and_never_raise_it(
        amount: int, rate_give: int, rate_get: int, step: int, bonus_bp: int,
        unearned: int) -> None:
    base, taken, bonus = swap_amounts(amount, rate_give, rate_get, step, bonus_bp, unearned)
    assert (base, taken) == swap_amounts(amount, rate_give, rate_get, step, bonus_bp)[:2]
    earned_taken = max(0, taken - unearned)  # the holder's unearned points go first
    assert bonus == min(base, earned_taken * rate_get // rate_give) * bonus_bp // 10_000
    assert bonus <= swap_amounts(amount, rate_give, rate_get, step, bonus_bp)[2]
