"""Every balance movement leaves one history row: who, which program, what kind, by how much,
the balance after it, and its reference. Lots are spent oldest first and lapse on time."""

from __future__ import annotations

from typing import Any

from exchange import records as R

Chain = Any  # the conftest driver


def _history(c: Chain, account: str) -> list[tuple[Any, ...]]:
    rows = sorted(c.store.get("x_history", {}).values(),
                  key=lambda r: (r["height"], r["idx"], r["n"]))
    return [(r["program"], r["kind"], r["delta"], r["balance"], r["ref"]) for r in rows
            if r["account"] == account]


def _lots(c: Chain, account: str) -> list[tuple[int, int]]:
    return sorted((r["expires_ms"], r["amount"]) for r in c.store.get("x_lots", {}).values()
                  if r["account"] == account)


def test_issue_redeem_and_lapse_each_leave_their_row(alliance: Chain) -> None:
    c, alice = alliance, alliance.alice.public_hex
    assert c.block(c.rec(R.issue, c.vk, "vk", alice, 800, "meal 1"),
                   c.rec(R.issue, c.vk, "vk", alice, 100, "meal 2")) == ["ok", "ok"]
    first = _lots(c, alice)
    assert len(first) == 1 and first[0][1] == 900  # one day, one lot (merged)
    c.block(step_ms=2 * c.DAY)
    assert c.one(c.rec(R.issue, c.vk, "vk", alice, 200, "meal 3")) == "ok"
    assert c.one(c.rec(R.redeem, c.alice, "vk", 500, "order 9")) == "ok"
    assert [amount for _, amount in _lots(c, alice)] == [400, 200]  # the oldest lot first
    assert c.one(c.rec(R.redeem, c.alice, "vk", 400, "order 10")) == "ok"
    assert [amount for _, amount in _lots(c, alice)] == [200]  # the oldest lot, spent exactly
    c.block(step_ms=c.DAY)
    assert c.one(c.rec(R.issue, c.vk, "vk", alice, 50, "meal 4")) == "ok"  # a newer lot
    (lapse_ms, _), (later_ms, _) = _lots(c, alice)
    c.block(at=lapse_ms)  # the lot of meal 3 lapses; meal 4's lot stays
    assert _lots(c, alice) == [(later_ms, 50)]
    c.block(at=later_ms)
    assert _lots(c, alice) == []
    assert _history(c, alice) == [
        ("vk", "issue", 800, 800, "meal 1"), ("vk", "issue", 100, 900, "meal 2"),
        ("vk", "issue", 200, 1100, "meal 3"), ("vk", "redeem", -500, 600, "order 9"),
        ("vk", "redeem", -400, 200, "order 10"), ("vk", "issue", 50, 250, "meal 4"),
        ("vk", "expire", -200, 50, ""), ("vk", "expire", -50, 0, "")]
    assert c.program("vk")["expired"] == 250 and c.app.audit() == []
