"""Swap rules at their edges: caps that fit exactly, counters that add up over several swaps,
amounts at their bounds. Each test pins a boundary that a ``>``/``>=`` slip would move
(found by mutation testing, docs/TESTING.md)."""

from __future__ import annotations

from typing import Any

import pytest

from exchange import records as R
from exchange.limits import amount_max, counter_max
from exchange.rules import swap as swap_module

Chain = Any  # the conftest driver


def _bp_terms(c: Chain, **terms: Any) -> None:
    current = {"name": "汉堡宫积分", "cap": 10**10, "transferable": False, "min_in": 1,
               "step_in": 1, "daily_in_cap": 10**12, "accepts": ["vk"], **terms}
    assert c.one(c.rec(R.update_program, c.bp, "bp", **current)) == "ok"


def _swap(c: Chain, vk: int, min_out: int = 0, give: str = "vk", get: str = "bp") -> str:
    return c.one(c.rec(R.swap, c.alice, give, vk, get, min_out, 1, 1))  # type: ignore[no-any-return]


def _rows(c: Chain, table: str) -> list[dict[str, Any]]:
    return list(c.store.get(table, {}).values())


def test_swaps_of_one_day_add_up_to_the_daily_cap_exactly_and_the_next_day_starts_afresh(
        alliance: Chain) -> None:
    c = alliance
    _bp_terms(c, daily_in_cap=2000)
    assert c.one(c.rec(R.issue, c.vk, "vk", c.alice.public_hex, 800)) == "ok"
    assert _swap(c, 100) == "ok"  # 1,000 BP in
    assert _swap(c, 100) == "ok"  # 2,000 BP in: exactly the cap
    assert _swap(c, 1) == "daily_cap_exceeded"
    day = c.store["x_inbound"][("bp",)]["day"]
    assert c.store["x_inbound"][("bp",)] == {"program": "bp", "day": day, "amount": 2000}
    assert c.store["x_flows"][("vk", "bp")] == {"source": "vk", "target": "bp", "swaps": 2,
                                                "given": 200, "received": 2000, "bonus": 0,
                                                "value": 2_000_000}
    assert c.store["x_obligations"][("village-kitchen", "burger-palace")]["accrued"] == 2_000_000
    c.block(step_ms=c.DAY)
    assert _swap(c, 200) == "ok"  # a new day: the whole cap again
    assert c.store["x_inbound"][("bp",)] == {"program": "bp", "day": day + 1, "amount": 2000}
    refs = {(r["kind"], r["program"], r["ref"]) for r in _rows(c, "x_history")
            if r["account"] == c.alice.public_hex and r["kind"].startswith("swap")}
    assert refs == {("swap_out", "vk", "bp"), ("swap_in", "bp", "vk")}


def test_bonus_points_add_up_as_issued_and_promoted(alliance: Chain) -> None:
    c = alliance
    assert c.one(c.rec(R.issue, c.vk, "vk", c.alice.public_hex, 800)) == "ok"
    assert c.one(c.rec(R.promote, c.bp, "bp", "vk", 1000, c.time_ms,
                       c.time_ms + c.DAY)) == "ok"  # +10%
    assert _swap(c, 100) == "ok" and _swap(c, 100) == "ok"
    bp = c.program("bp")
    assert (bp["issued"], bp["promoted"], bp["swapped_in"], bp["supply"]) == (200, 200, 2000,
                                                                            2200)
    assert c.store["x_flows"][("vk", "bp")]["bonus"] == 200
    bonus = [r for r in _rows(c, "x_history") if r["kind"] == "bonus"]
    assert [(r["program"], r["delta"], r["ref"]) for r in bonus] == [("bp", 100, "vk")] * 2


def test_the_supply_cap_fits_exactly_and_not_one_point_more(alliance: Chain) -> None:
    c = alliance
    _bp_terms(c, cap=1000)
    assert c.one(c.rec(R.issue, c.vk, "vk", c.alice.public_hex, 800)) == "ok"
    assert _swap(c, 100) == "ok"  # supply 1,000 = cap
    assert _swap(c, 1) == "cap_exceeded"


@pytest.mark.parametrize(("amount", "min_out", "code"), [
    (1, 0, "ok"),
    (0, 0, "amount_invalid"),
    (amount_max, 0, "insufficient_balance"),
    (amount_max + 1, 0, "amount_invalid"),
    (1, counter_max, "min_out_not_met"),
])
def test_amount_and_min_out_bounds(alliance: Chain, amount: int, min_out: int,
                                   code: str) -> None:
    c = alliance
    assert c.one(c.rec(R.issue, c.vk, "vk", c.alice.public_hex, 800)) == "ok"
    assert _swap(c, amount, min_out) == code


@pytest.mark.parametrize(("give", "get"), [("vk", "nope"), ("nope", "bp")])
def test_either_program_unknown_is_refused(alliance: Chain, give: str, get: str) -> None:
    c = alliance
    assert c.one(c.rec(R.issue, c.vk, "vk", c.alice.public_hex, 800)) == "ok"
    assert _swap(c, 100, give=give, get=get) == "program_unknown"


def test_counters_and_owing_fit_their_limit_exactly(alliance: Chain,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """With the limit lowered to ¥1 (10**6): a swap minting exactly ¥1 (1,000 BP) fits both
    BP's counters and VK's debt; one more point does not."""
    c = alliance
    assert c.one(c.rec(R.issue, c.vk, "vk", c.alice.public_hex, 800)) == "ok"
    monkeypatch.setattr(swap_module, "counter_max", 10**6)
    assert _swap(c, 100) == "ok"
    assert _swap(c, 1) == "counter_limit_reached"


def test_a_swap_within_one_issuer_owes_nothing_so_only_its_counters_limit_it(
        alliance: Chain, monkeypatch: pytest.MonkeyPatch) -> None:
    c = alliance
    assert c.one(c.rec(R.create_program, c.bp, "burger-palace", "bp-gold", "Gold", 10, 0,
                       10**6, accepts=["bp"])) == "ok"
    assert c.one(c.rec(R.issue, c.bp, "bp", c.alice.public_hex, 2000)) == "ok"
    monkeypatch.setattr(swap_module, "counter_max", 10)  # 10 gold points; ¥10 owed by nobody
    assert _swap(c, 1000, give="bp", get="bp-gold") == "ok"  # 10 gold: exactly the limit
    assert _swap(c, 100, give="bp", get="bp-gold") == "counter_limit_reached"


def test_what_an_issuer_owes_and_is_owed_are_limited_each_on_its_own(
        alliance: Chain, monkeypatch: pytest.MonkeyPatch) -> None:
    """Three issuers, so that one side of a debt reaches the limit (lowered to ¥2.5) before
    the other: Noodle Shop is owed by two issuers, Village Kitchen owes two."""
    c = alliance
    assert c.one(c.rec(R.apply_merchant, c.ns, "noodle-shop", "Noodle Shop")) == "ok"
    assert c.vote(R.admit_merchant, "noodle-shop") == "ok"
    assert c.one(c.rec(R.create_program, c.ns, "noodle-shop", "ns", "面馆积分", 10, 0, 10**6,
                       accepts=["vk", "bp"])) == "ok"
    assert c.block(c.rec(R.issue, c.vk, "vk", c.alice.public_hex, 800),
                   c.rec(R.issue, c.bp, "bp", c.bob.public_hex, 8000)) == ["ok", "ok"]
    monkeypatch.setattr(swap_module, "counter_max", 2_500_000)
    assert _swap(c, 100, get="ns") == "ok"  # ¥1: VK owes 1, NS is owed 1
    assert c.one(c.rec(R.swap, c.bob, "bp", 1000, "ns", 0, 1, 1)) == "ok"  # NS is owed 2
    assert _swap(c, 100, get="ns") == "counter_limit_reached"  # NS would be owed 3
    assert _swap(c, 100) == "ok"  # the same ¥1 owed to BP instead: VK owes 2, BP is owed 1
    assert _swap(c, 100) == "counter_limit_reached"  # VK would owe 3, BP be owed only 2
    assert c.app.audit() == []


def test_pending_points_count_against_the_cap_of_the_program_swapped_into(
        alliance: Chain) -> None:
    """BP's "bpr" (cap 3,500, a 7-day return window) has 1,500 points pending for Bob: they
    are issued, so only 2,000 more fit, 1,000 per ¥1 swap."""
    c = alliance
    assert c.one(c.rec(R.create_program, c.bp, "burger-palace", "bpr", "退货积分", 1000, 0, 3500,
                       accepts=["vk"], return_days=7)) == "ok"
    assert c.block(c.rec(R.issue, c.bp, "bpr", c.bob.public_hex, 1500),
                   c.rec(R.issue, c.vk, "vk", c.alice.public_hex, 800)) == ["ok", "ok"]
    assert _swap(c, 100, get="bpr") == "ok"
    assert _swap(c, 100, get="bpr") == "ok"  # supply 2,000 + pending 1,500: the cap exactly
    assert _swap(c, 100, get="bpr") == "cap_exceeded"


def test_the_points_a_program_issued_and_took_in_are_held_to_the_counter_limit(
        alliance: Chain, monkeypatch: pytest.MonkeyPatch) -> None:
    """BP issued 10,000,000 points; with the limit at 10,002,000 two swaps of 1,000 fit, a
    third does not, though its ¥3 of flow and debt are far below the limit."""
    c = alliance
    assert c.block(c.rec(R.issue, c.bp, "bp", c.bob.public_hex, 10**7),
                   c.rec(R.issue, c.vk, "vk", c.alice.public_hex, 800)) == ["ok", "ok"]
    monkeypatch.setattr(swap_module, "counter_max", 10**7 + 2000)
    assert _swap(c, 100) == "ok"
    assert _swap(c, 100) == "ok"  # issued + swapped in: the limit exactly
    assert _swap(c, 100) == "counter_limit_reached"


def test_the_value_flowing_between_two_programs_of_one_issuer_is_held_to_the_limit(
        alliance: Chain, monkeypatch: pytest.MonkeyPatch) -> None:
    """Within one issuer nothing is owed, so the flow (µ¥, BP to its Gold) is the limit that
    binds: ¥2 fits exactly, the third ¥1 does not; 30 Gold points would fit easily."""
    c = alliance
    assert c.one(c.rec(R.create_program, c.bp, "burger-palace", "bp-gold", "Gold", 10, 0,
                       10**6, accepts=["bp"])) == "ok"
    assert c.one(c.rec(R.issue, c.bp, "bp", c.alice.public_hex, 3000)) == "ok"
    monkeypatch.setattr(swap_module, "counter_max", 2_000_000)
    assert _swap(c, 1000, give="bp", get="bp-gold") == "ok"
    assert _swap(c, 1000, give="bp", get="bp-gold") == "ok"
    assert _swap(c, 1000, give="bp", get="bp-gold") == "counter_limit_reached"
    # points of a program that never lapses, swapped into another: they never lapse either
    assert c.app.view.holdings.get((c.alice.public_hex, "bp-gold")) == (20, (), 0)
