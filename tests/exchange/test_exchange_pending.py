"""Pending points, rule by rule: an issue in a return window is held (issued, in no balance),
vests at the start of the day after the window, may be voided by its issuer only, only
once, only while pending, and vesting runs in (program, issue) order whatever the index
holds (exchange/rules/pending.py). The month's story is in test_exchange_statement.py.
"""

from __future__ import annotations

from typing import Any

import pytest

from exchange import codes as C
from exchange import queries
from exchange import records as R
from exchange.genesis import Params
from exchange.limits import day_ms
from exchange.rules import pending as pending_module
from exchange.rules.pending import is_record_id, vest_due
from exchange.state.env import Env
from exchange.state.model import PendingIssue, Program
from exchange.state.state import State

Chain = Any  # the conftest driver
ISSUE_DAY, WINDOW = 2, 7


def _held(c: Chain, amount: int = 500) -> str:
    """VK opens "vkr" (rate 100, 30-day expiry, a 7-day return window) and issues ``amount``
    pending points to Alice at 10:00 on day 2; the issue's record id."""
    assert c.one(c.rec(R.create_program, c.vk, "village-kitchen", "vkr", "乡村基退货积分", 100,
                       30, 10**9, return_days=WINDOW)) == "ok"
    issue = c.rec(R.issue, c.vk, "vkr", c.alice.public_hex, amount, "receipt 1")
    assert c.one(issue, at=c.T0 + ISSUE_DAY * c.DAY + 10 * c.HOUR) == "ok"
    return str(issue.id)


def _events(c: Chain, kind: str) -> list[tuple[str, str]]:
    return [(r["subject"], r["detail"]) for r in c.rows("x_events") if r["kind"] == kind]


def test_pending_points_are_issued_in_no_balance_and_vest_the_day_after_the_window(
        alliance: Chain) -> None:
    c = alliance
    issue = _held(c)
    vests = c.T0 + (ISSUE_DAY + WINDOW + 1) * c.DAY
    alice = c.alice.public_hex
    assert queries.balances(c.app.view, alice)["pending"][0]["vests_ms"] == vests
    assert _events(c, "issue_pending") == [("vkr", f"500 to {alice} until {vests} receipt 1")]
    vkr = c.program("vkr")
    assert (vkr["issued"], vkr["pending"], vkr["supply"]) == (500, 500, 0)
    c.block(at=vests - 1)
    assert c.balance(c.alice, "vkr") == 0
    c.block(at=vests)
    assert c.balance(c.alice, "vkr") == 500
    vkr = c.program("vkr")
    assert (vkr["issued"], vkr["pending"], vkr["supply"]) == (500, 0, 500)
    vest = [r for r in c.rows("x_history") if r["kind"] == "vest"]
    assert [(r["delta"], r["balance"], r["ref"]) for r in vest] == [(500, 500, issue)]
    holding = c.app.view.holdings.get((alice, "vkr"))
    assert holding == (500, ((vests + 31 * c.DAY, 500),), 500)  # earned; expiring from vesting
    assert queries.balances(c.app.view, alice)["pending"] == []
    assert c.one(c.rec(R.void_issue, c.vk, issue, "too late")) == C.ISSUE_NOT_PENDING
    assert c.app.audit() == []


def test_a_void_cancels_the_pending_points_once_and_they_never_vest(alliance: Chain) -> None:
    c = alliance
    other = c.rec(R.issue, c.vk, "vkr", c.bob.public_hex, 300, "receipt 2")
    issue = _held(c)
    assert c.one(other) == "ok"
    held = c.app.view.pending.get(other.id)
    assert held is not None and held.height == c.height and c.program("vkr")["pending"] == 800
    assert c.one(c.rec(R.void_issue, c.vk, other.id, "refund 2")) == "ok"
    assert c.one(c.rec(R.void_issue, c.vk, issue, "refund")) == "ok"
    vkr = c.program("vkr")
    assert (vkr["issued"], vkr["pending"], vkr["voided"], vkr["supply"]) == (800, 0, 800, 0)
    assert _events(c, "issue_voided") == [("vkr", f"300 of {other.id} refund 2"),
                                          ("vkr", f"500 of {issue} refund")]
    assert c.one(c.rec(R.void_issue, c.vk, issue, "again")) == C.ISSUE_ALREADY_VOIDED
    c.block(at=c.T0 + (ISSUE_DAY + WINDOW + 1) * c.DAY)
    assert c.balance(c.alice, "vkr") == 0 and c.program("vkr")["supply"] == 0
    assert c.one(c.rec(R.void_issue, c.vk, issue, "after")) == C.ISSUE_NOT_PENDING  # dropped
    assert c.app.audit() == []


def test_only_the_issuer_voids_and_only_an_issue_id(alliance: Chain) -> None:
    c = alliance
    issue = _held(c)
    assert c.one(c.rec(R.void_issue, c.bp, issue, "not mine")) == C.VOID_NOT_OWN
    assert c.one(c.rec(R.void_issue, c.vk, "0" * 64, "unknown")) == C.ISSUE_NOT_PENDING
    for bad in (issue.upper(), issue[:-1], issue + "0", 7):
        assert c.one(c.raw(R.VOID_ISSUE, c.vk, {"issue": bad, "reason": "x"})) == \
            C.PAYLOAD_MALFORMED
    assert c.program("vkr")["pending"] == 500


@pytest.mark.parametrize(("limit", "code"), [(499, C.COUNTER_LIMIT_REACHED), (500, "ok")])
def test_voided_points_fit_their_counter_exactly(alliance: Chain, monkeypatch: pytest.MonkeyPatch,
                                                 limit: int, code: str) -> None:
    c = alliance
    issue = _held(c)
    monkeypatch.setattr(pending_module, "counter_max", limit)
    assert c.one(c.rec(R.void_issue, c.vk, issue, "refund")) == code


@pytest.mark.parametrize(("value", "ok"), [("ab" * 32, True), ("AB" * 32, False),
                                           ("ab" * 32 + "\n", False), ("g" * 64, False),
                                           ("a" * 63, False), (None, False)])
def test_a_record_id_is_64_lowercase_hex_digits(value: object, ok: bool) -> None:
    assert is_record_id(value) is ok


def _program(code: str) -> Program:
    return Program(code=code, name=code, issuer=f"{code}-merchant", rate=100, rate_version=1,
                   pending_rate=None, pending_version=None, pending_ms=None, expiry_days=0,
                   cap=10**9, transferable=False, min_in=1, step_in=1, daily_in_cap=10**9,
                   accepts=(), created_height=0, return_days=WINDOW, pending=100)


def test_vesting_runs_in_program_and_issue_order_and_skips_stale_hints() -> None:
    params = Params(member_quorum_percent=67, rate_notice_ms=day_ms, day_offset_ms=0)
    s, now = State(), 100 * day_ms
    for code in ("bp", "vk"):
        s.programs.put(code, _program(code))
    entries = {"b": PendingIssue("alice", "vk", 3, now, 1),
               "a": PendingIssue("bob", "vk", 4, now - day_ms, 1),
               "z": PendingIssue("carol", "bp", 5, now - 1, 1),
               "late": PendingIssue("dave", "vk", 6, now + 1, 1),  # indexed early by mistake
               "m-void": PendingIssue("erin", "bp", 7, now, 1, void_record="r"),
               **{f"n{i}": PendingIssue(f"n{i}", "bp", 1, now - i, 1) for i in range(8)}}
    for issue, held in entries.items():
        s.pending.put(issue, held)
        s.vesting.add(now - day_ms if issue == "late" else held.vests_ms, (held.program, issue))
    s.vesting.add(now, ("bp", "a-gone"))  # already vested: no entry, and sorted first
    env = Env(params, 5, now)
    vest_due(s, env)
    rows = [row.row for row in env.history_rows if row.row is not None]
    assert [(row[3], row[5], row[6], row[9]) for row in rows] == [
        *[(f"n{i}", "vest", 1, f"n{i}") for i in range(8)],  # 11 rows: never sorted by chance
        ("carol", "vest", 5, "z"), ("bob", "vest", 4, "a"), ("alice", "vest", 3, "b")]
    assert {issue for issue in entries if s.pending.get(issue)} == {"late"}
    vk, bp = s.programs.get("vk"), s.programs.get("bp")
    assert vk is not None and bp is not None
    assert (vk.pending, vk.supply, bp.pending, bp.supply) == (93, 7, 87, 13)
