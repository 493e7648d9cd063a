"""The reads of the exchange's stored rows (``exchange.queries_history``,
``exchange.queries_holders``) return the rows the blocks wrote, in their documented order,
page without gaps or overlaps, and refuse a read larger than ``rows_per_read_max``."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from exchange import queries_history as H
from exchange import queries_holders as Q
from exchange import records as R
from exchange.errors import InvariantViolation
from exchange.limits import rows_per_read_max
from ledger.store import Store

Chain = Any  # the conftest driver


def stored(c: Chain, tmp_path: Path) -> sqlite3.Connection:
    """The driver's rows in a real store (its schema and indexes), read-only."""
    store = Store(tmp_path / "node.sqlite", c.app.tables())
    for table, rows in c.store.items():
        for row in rows.values():
            store.conn.execute(f"INSERT INTO [{table}] ({', '.join(row)}) "
                               f"VALUES ({', '.join('?' for _ in row)})", tuple(row.values()))
    store.conn.commit()
    return store.reader()


@pytest.fixture
def busy(alliance: Chain) -> Chain:
    """Alice earns VK three times, redeems some and swaps some into BP; Bob earns a little."""
    c, alice, bob = alliance, alliance.alice.public_hex, alliance.bob.public_hex
    for n in range(3):
        assert c.one(c.rec(R.issue, c.vk, "vk", alice, 1000 + n, f"meal {n}")) == "ok"
    assert c.one(c.rec(R.issue, c.vk, "vk", bob, 40, "coffee")) == "ok"
    assert c.one(c.rec(R.redeem, c.alice, "vk", 300, "order 1")) == "ok"
    assert c.one(c.rec(R.swap, c.alice, "vk", 500, "bp", 1, 1, 1)) == "ok"
    return c


def test_an_accounts_history_pages_newest_first_without_gaps(busy: Chain,
                                                             tmp_path: Path) -> None:
    conn, alice = stored(busy, tmp_path), busy.alice.public_hex
    expected = sorted(((r["height"], r["idx"], r["n"], r["kind"], r["delta"])
                       for r in busy.rows("x_history") if r["account"] == alice), reverse=True)
    first = H.account_history(conn, alice, (2**53, 0, 0), 2)
    last = first[-1]
    rest = H.account_history(conn, alice, (last.height, last.idx, last.n), rows_per_read_max)
    assert [(m.height, m.idx, m.n, m.kind, m.delta) for m in first + rest] == expected
    assert len(expected) == 6 and H.has_history(conn, alice)
    assert not H.has_history(conn, "0" * 64)


def test_a_swap_reads_back_with_its_movements(busy: Chain, tmp_path: Path) -> None:
    conn = stored(busy, tmp_path)
    (row,) = busy.rows("x_swaps")
    swap = H.record_swap(conn, row["height"], row["idx"])
    assert swap is not None and (swap.give, swap.get, swap.taken, swap.out) == (
        "vk", "bp", row["taken"], row["out"])
    moves = H.record_movements(conn, row["height"], row["idx"], 10)
    assert [m.kind for m in moves] == ["swap_out", "swap_in"]
    assert [(m.program, m.kind) for m in H.block_movements(conn, row["height"])] == [
        ("vk", "swap_out"), ("bp", "swap_in")]
    assert H.record_swap(conn, row["height"], row["idx"] + 1) is None
    h = row["height"]
    assert sorted(H.height_totals(conn, h - 1, h), key=lambda t: t.program) == [
        H.HeightTotal(h, "bp", "swap_in", row["out"]),
        H.HeightTotal(h, "vk", "swap_out", -row["taken"])]
    assert len(H.height_totals(conn, 0, h)) == 7  # four issues, a redemption, the swap's two


def test_governance_events_come_newest_first_and_by_subject_oldest_first(
        busy: Chain, tmp_path: Path) -> None:
    conn = stored(busy, tmp_path)
    newest = H.governance_events(conn, (2**53, 0, 0), 10)
    assert [e.kind for e in newest] == ["merchant_admitted", "merchant_admitted",
                                        "merchant_applied", "merchant_applied"] + [
        "member_admitted"] * len(busy.members)  # no program or rate events
    after = H.governance_events(conn, (newest[1].height, newest[1].idx, newest[1].n), 10)
    assert after == newest[2:]
    assert [e.kind for e in H.subject_events(conn, "village-kitchen", 10)][:2] == [
        "merchant_applied", "merchant_admitted"]
    assert H.settlement_events(conn, (2**53, 0, 0), 10) == []


def test_holders_come_largest_first_and_page_by_balance_then_account(
        busy: Chain, tmp_path: Path) -> None:
    conn, alice, bob = stored(busy, tmp_path), busy.alice.public_hex, busy.bob.public_hex
    vk_alice, vk_bob = busy.balance(alice, "vk"), busy.balance(bob, "vk")
    assert vk_alice > vk_bob > 0
    top = Q.top_holders(conn, "vk", 1)
    assert top == [Q.Holder(alice, vk_alice)]
    assert Q.top_holders(conn, "vk", 5, (top[0].balance, top[0].account)) == [
        Q.Holder(bob, vk_bob)]
    assert Q.holding(conn, "vk") == Q.Holding(2, vk_alice + vk_bob)
    assert Q.holders_per_program(conn) == {"vk": 2, "bp": 1}
    assert Q.holders_total(conn) == 2
    assert (vk_alice, vk_bob) == (2203, 40)
    assert Q.balance_decades(conn, "vk") == [Q.Decade(2, 1), Q.Decade(4, 1)]
    low = min(alice, bob)
    assert Q.accounts_between(conn, low[:8], low[:8] + "g", 5) == [low]


@pytest.mark.parametrize("limit", [0, rows_per_read_max + 1])
def test_a_read_larger_than_the_bound_is_refused(busy: Chain, tmp_path: Path,
                                                 limit: int) -> None:
    conn = stored(busy, tmp_path)
    with pytest.raises(InvariantViolation):
        H.account_history(conn, busy.alice.public_hex, (2**53, 0, 0), limit)
    with pytest.raises(InvariantViolation):
        Q.top_holders(conn, "vk", limit)
