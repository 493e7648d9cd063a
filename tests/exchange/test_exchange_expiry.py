"""Expiry: points lapse at block time when their period ends, oldest first, signed by nobody."""

from __future__ import annotations

from typing import Any

import pytest

from exchange import queries
from exchange import records as R

Chain = Any  # the conftest driver


def _issue(c: Chain, amount: int, day: int, hour: int = 12) -> None:
    record = c.rec(R.issue, c.vk, "vk", c.alice.public_hex, amount, f"day {day}")
    assert c.one(record, at=c.T0 + day * c.DAY + hour * c.HOUR) == "ok"


def test_points_of_day_0_are_spendable_on_day_29_and_gone_on_day_31(alliance: Chain) -> None:
    c = alliance
    _issue(c, 100, day=0, hour=1)
    redeem = c.rec(R.redeem, c.alice, "vk", 40, "day 29 lunch")
    assert c.one(redeem, at=c.T0 + 29 * c.DAY + 12 * c.HOUR) == "ok"
    assert c.balance(c.alice, "vk") == 60
    c.block(at=c.T0 + 31 * c.DAY)
    assert c.balance(c.alice, "vk") == 0
    vk = c.program("vk")
    assert (vk["issued"], vk["redeemed"], vk["expired"], vk["supply"]) == (100, 40, 60, 0)
    lapse = [r for r in c.rows("x_history") if r["kind"] == "expire"]
    assert [(r["delta"], r["balance"], r["record"], r["idx"]) for r in lapse] == [
        (-60, 0, "", -1)]
    assert c.app.audit() == []


def test_points_lapse_at_the_start_of_the_day_after_the_period(alliance: Chain) -> None:
    """Earned on day 0 under 30 days: usable through day 30, gone from day 31 00:00."""
    c = alliance
    _issue(c, 100, day=0, hour=23)
    c.block(at=c.T0 + 31 * c.DAY - 1)
    assert c.balance(c.alice, "vk") == 100
    c.block(at=c.T0 + 31 * c.DAY)
    assert c.balance(c.alice, "vk") == 0


def test_spending_takes_the_oldest_points_first(alliance: Chain) -> None:
    c = alliance
    _issue(c, 100, day=0)
    _issue(c, 100, day=10)
    assert c.one(c.rec(R.redeem, c.alice, "vk", 150, "feast"), at=c.T0 + 20 * c.DAY) == "ok"
    lots = queries.balances(c.app.view, c.alice.public_hex)["holdings"][0]["lots"]
    assert lots == [{"expires_ms": c.T0 + 41 * c.DAY, "amount": 50}]
    c.block(at=c.T0 + 31 * c.DAY)  # the day-0 lot is already spent: nothing lapses
    assert c.balance(c.alice, "vk") == 50
    c.block(at=c.T0 + 41 * c.DAY)
    assert c.balance(c.alice, "vk") == 0
    assert c.program("vk")["expired"] == 50


def test_lapse_takes_only_the_lots_that_are_due(alliance: Chain) -> None:
    c = alliance
    _issue(c, 100, day=0)
    _issue(c, 30, day=0, hour=20)  # same day: same lot
    _issue(c, 70, day=5)
    assert len(c.rows("x_lots")) == 2
    c.block(at=c.T0 + 33 * c.DAY)
    assert c.balance(c.alice, "vk") == 70
    assert c.program("vk")["expired"] == 130


def test_transferred_points_keep_their_expiry(new_chain: Any) -> None:
    c = new_chain()
    assert c.block(c.rec(R.apply_merchant, c.ns, "noodle-shop", "Noodle Shop")) == ["ok"]
    assert c.vote(R.admit_merchant, "noodle-shop") == "ok"
    assert c.one(c.rec(R.create_program, c.ns, "noodle-shop", "ns", "面馆积分", 10, 30, 10**6,
                       transferable=True)) == "ok"
    assert c.one(c.rec(R.issue, c.ns, "ns", c.alice.public_hex, 50),
                 at=c.T0 + 2 * c.HOUR) == "ok"
    gift = c.rec(R.transfer, c.alice, "ns", c.bob.public_hex, 20, "for you")
    assert c.one(gift, at=c.T0 + 20 * c.DAY) == "ok"
    c.block(at=c.T0 + 31 * c.DAY)
    assert (c.balance(c.alice, "ns"), c.balance(c.bob, "ns")) == (0, 0)
    assert c.program("ns")["expired"] == 50


def test_expiry_never_scans_holders_without_lots_due(alliance: Chain,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """A block with nothing due visits no holding (the index is ordered by expiry time)."""
    c = alliance
    _issue(c, 100, day=0)
    seen: list[Any] = []
    holdings = c.app.state.holdings
    original = type(holdings).get
    monkeypatch.setattr(type(holdings), "get", lambda self, key: (seen.append(key),
                                                                  original(self, key))[1])
    c.block(at=c.T0 + 5 * c.DAY)
    assert seen == []


def test_expired_points_need_no_signature_and_replay_the_same(alliance: Chain) -> None:
    c = alliance
    _issue(c, 100, day=0)
    c.block(at=c.T0 + 31 * c.DAY)
    assert c.last.codes == []
    assert any(ch.table == "x_lots" and ch.row is None for ch in c.last.changes)
