"""Every rejection code: the record is refused, by ``check`` and in a block, and changes nothing.

Each case starts from the ``alliance`` fixture (VK at 100 points/yuan with 30-day expiry,
BP at 1000 accepting VK), sets up what it needs in earlier blocks, and returns the offending
record. Limits are lowered with ``monkeypatch`` where reaching them for real would be slow.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from exchange import codes as C
from exchange import records as R
from exchange.rules import applications, governance, offers, points, programs
from ledger.wire.record import Record

Chain = Any  # the conftest driver (tests do not import conftest)
Case = Callable[[Chain, pytest.MonkeyPatch], Record]

ALICE_VK = 800


def _earn(c: Chain, amount: int = ALICE_VK) -> None:
    assert c.one(c.rec(R.issue, c.vk, "vk", c.alice.public_hex, amount, "meal")) == "ok"


def _swap(c: Chain, amount: int = ALICE_VK, min_out: int = 0, versions: tuple[int, int] = (1, 1),
          give: str = "vk", get: str = "bp") -> Record:
    return c.rec(R.swap, c.alice, give, amount, get, min_out, *versions)


def _update_bp(c: Chain, **terms: Any) -> None:
    current = {"name": "汉堡宫积分", "cap": 10**10, "transferable": False, "min_in": 1,
               "step_in": 1, "daily_in_cap": 10**12, "accepts": ["vk"], **terms}
    assert c.one(c.rec(R.update_program, c.bp, "bp", **current)) == "ok"


def _suspend_down_to_one(c: Chain) -> Record:
    m = c.members
    assert c.one(c.rec(R.suspend_member, [m[0], m[1], m[2]], "m3")) == "ok"
    assert c.one(c.rec(R.suspend_member, [m[0], m[1], m[2]], "m2")) == "ok"
    assert c.one(c.rec(R.suspend_member, [m[0], m[1]], "m1")) == "ok"
    return c.rec(R.suspend_member, [m[0]], "m0")


def _rotated(c: Chain) -> Record:
    new = c.ns  # any fresh key
    assert c.one(c.rec(R.rotate_key, c.vk, "merchant", "village-kitchen", new.public_hex)) == "ok"
    return c.rec(R.issue, c.vk, "vk", c.alice.public_hex, 10)


def _stale(c: Chain) -> Record:
    _earn(c)
    assert c.one(c.rec(R.post_rate, c.bp, "bp", 2000)) == "ok"
    c.block(at=c.time_ms + 8 * c.DAY)  # the notice period (7 days) has passed
    return _swap(c, versions=(1, 1))


def _offer(c: Chain, offer: str = "burger", days: int = 30) -> Record:
    return c.rec(R.offer, c.bp, "bp", offer, "classic burger", 8000, "Old Town", c.T0,
                 c.T0 + days * c.DAY)


def _owing(c: Chain) -> None:
    _earn(c)
    assert c.one(_swap(c)) == "ok"


def _pending_issue(c: Chain) -> str:
    """VK opens a program with a 7-day return window and issues 500 pending points to Alice."""
    assert c.one(c.rec(R.create_program, c.vk, "village-kitchen", "vkr", "乡村基退货积分", 100,
                       30, 10**9, return_days=7)) == "ok"
    issue = c.rec(R.issue, c.vk, "vkr", c.alice.public_hex, 500, "receipt 1")
    assert c.one(issue) == "ok"
    return issue.id


def _voided(c: Chain) -> str:
    issue = _pending_issue(c)
    assert c.one(c.rec(R.void_issue, c.vk, issue, "refund")) == "ok"
    return issue


CASES: dict[str, Case] = {
    C.TYPE_UNKNOWN: lambda c, _: c.raw("exchange.mint", c.vk, {"program": "vk"}),
    C.KEY_RETIRED: lambda c, _: _rotated(c),
    C.PAYLOAD_MALFORMED: lambda c, _: c.raw(R.ISSUE, c.vk, {
        "program": "vk", "to": c.alice.public_hex, "amount": 5, "ref": "", "bonus": 1}),
    C.AMOUNT_INVALID: lambda c, _: c.rec(R.issue, c.vk, "vk", c.alice.public_hex, 0),
    C.MEMBER_UNKNOWN: lambda c, _: c.rec(R.suspend_member, c.members[:3], "nobody"),
    C.MERCHANT_UNKNOWN: lambda c, _: c.rec(R.admit_merchant, c.members[:3], "nobody"),
    C.PROGRAM_UNKNOWN: lambda c, _: c.rec(R.issue, c.vk, "nope", c.alice.public_hex, 5),
    C.ISSUE_NOT_PENDING: lambda c, _: (_earn(c), c.rec(
        R.void_issue, c.vk, c.rows("x_history")[-1]["record"], "refund"))[1],
    C.VOID_NOT_OWN: lambda c, _: c.rec(R.void_issue, c.bp, _pending_issue(c), "refund"),
    C.ISSUE_ALREADY_VOIDED: lambda c, _: c.rec(R.void_issue, c.vk, _voided(c), "again"),
    C.SAME_ACCOUNT: lambda c, _: (_earn(c), c.rec(R.transfer, c.alice, "vk",
                                                  c.alice.public_hex, 5))[1],
    C.SAME_PROGRAM: lambda c, _: (_earn(c), _swap(c, get="vk"))[1],
    C.SAME_MERCHANT: lambda c, _: c.raw(R.SETTLE, [c.vk, c.bp], {
        "payer": "village-kitchen", "payee": "village-kitchen", "amount_fen": 1,
        "reference": ""}),
    C.NOT_AUTHORIZED: lambda c, _: c.rec(R.issue, c.bp, "vk", c.alice.public_hex, 5),
    C.SIGNERS_NOT_MEMBERS: lambda c, _: c.rec(R.suspend_merchant, [*c.members[:2], c.alice],
                                              "burger-palace"),
    C.THRESHOLD_NOT_MET: lambda c, _: c.rec(R.suspend_merchant, c.members[:2], "burger-palace"),
    C.MEMBER_EXISTS: lambda c, _: c.rec(R.admit_member, c.members[:3], "m0", "Again",
                                        c.bob.public_hex),
    C.MERCHANT_EXISTS: lambda c, _: c.rec(R.apply_merchant, c.ns, "village-kitchen", "VK 2"),
    C.PROGRAM_EXISTS: lambda c, _: c.rec(R.create_program, c.vk, "village-kitchen", "vk",
                                         "Again", 100, 0, 1000),
    C.KEY_IN_USE: lambda c, _: c.rec(R.apply_merchant, c.vk, "vk-two", "VK Two"),
    C.STATUS_INVALID: lambda c, _: c.rec(R.admit_merchant, c.members[:3], "village-kitchen"),
    C.ISSUER_SUSPENDED: lambda c, _: (
        _earn(c), c.vote(R.suspend_merchant, "burger-palace", "audit"), _swap(c))[2],
    C.RECIPIENT_NOT_CUSTOMER: lambda c, _: c.rec(R.issue, c.vk, "vk", c.bp.public_hex, 5),
    C.NOT_TRANSFERABLE: lambda c, _: (_earn(c), c.rec(R.transfer, c.alice, "vk",
                                                      c.bob.public_hex, 5))[1],
    C.TOO_MANY_MEMBERS: lambda c, mp: (
        mp.setattr(governance, "members_max", 4),
        c.rec(R.admit_member, c.members[:3], "m4", "Member 4", c.bob.public_hex))[1],
    C.TOO_MANY_MERCHANTS: lambda c, mp: (
        mp.setattr(applications, "merchants_max", 2),
        c.one(c.rec(R.apply_merchant, c.ns, "noodle-shop", "Noodle Shop")),
        c.rec(R.admit_merchant, c.members[:3], "noodle-shop"))[2],
    C.TOO_MANY_APPLICATIONS: lambda c, mp: (
        mp.setattr(applications, "applications_max", 0),
        c.rec(R.apply_merchant, c.ns, "noodle-shop", "Noodle Shop"))[1],
    C.TOO_MANY_PROGRAMS: lambda c, mp: (
        mp.setattr(programs, "programs_per_merchant_max", 1),
        c.rec(R.create_program, c.vk, "village-kitchen", "vk2", "Second", 100, 0, 1000))[1],
    C.ALLIANCE_TOO_SMALL: lambda c, _: _suspend_down_to_one(c),
    C.RATE_NOT_DIVISOR: lambda c, _: c.rec(R.post_rate, c.vk, "vk", 300),
    C.CAP_TOO_LARGE: lambda c, _: c.rec(R.create_program, c.vk, "village-kitchen", "gold",
                                        "Gold", 1, 0, 10**10),
    C.RATE_CHANGE_PENDING: lambda c, _: (
        c.one(c.rec(R.post_rate, c.vk, "vk", 200)), c.rec(R.post_rate, c.vk, "vk", 250))[1],
    C.RATE_UNCHANGED: lambda c, _: c.rec(R.post_rate, c.vk, "vk", 100),
    C.PROMOTION_INVALID: lambda c, _: c.rec(R.promote, c.bp, "bp", "vk", 0, c.time_ms,
                                            c.time_ms + c.DAY),
    C.PROMOTION_OVERLAPS: lambda c, _: (
        c.one(c.rec(R.promote, c.bp, "bp", "vk", 500, c.time_ms, c.time_ms + c.DAY)),
        c.rec(R.promote, c.bp, "bp", "vk", 500, c.time_ms + c.HOUR, c.time_ms + 2 * c.DAY))[1],
    C.TOO_MANY_PROMOTIONS: lambda c, mp: (
        mp.setattr(programs, "promotions_per_pair_max", 1),
        c.one(c.rec(R.promote, c.bp, "bp", "vk", 500, c.time_ms, c.time_ms + c.DAY)),
        c.rec(R.promote, c.bp, "bp", "vk", 500, c.time_ms + c.DAY,
              c.time_ms + 2 * c.DAY))[2],
    C.OFFER_EXISTS: lambda c, _: (c.one(_offer(c)), _offer(c))[1],
    C.OFFER_UNKNOWN: lambda c, _: c.rec(R.withdraw_offer, c.bp, "bp", "burger"),
    C.OFFER_INVALID: lambda c, _: _offer(c, days=0),
    C.TOO_MANY_OFFERS: lambda c, mp: (
        mp.setattr(offers, "offers_per_program_max", 1), c.one(_offer(c)),
        _offer(c, "shake"))[2],
    C.PROGRAM_NOT_ACCEPTED: lambda c, _: (_earn(c), c.one(_swap(c, 100)),
                                          _swap(c, 1000, give="bp", get="vk"))[2],
    C.RATE_VERSION_STALE: lambda c, _: _stale(c),
    C.RATE_VERSION_NOT_IN_EFFECT: lambda c, _: (_earn(c), _swap(c, versions=(1, 2)))[1],
    C.INSUFFICIENT_BALANCE: lambda c, _: (_earn(c), c.rec(R.redeem, c.alice, "vk", 801, "o"))[1],
    C.BELOW_MINIMUM: lambda c, _: (_earn(c), _update_bp(c, min_in=10_000), _swap(c))[2],
    C.MIN_OUT_NOT_MET: lambda c, _: (_earn(c), _swap(c, min_out=8001))[1],
    C.DAILY_CAP_EXCEEDED: lambda c, _: (_earn(c), _update_bp(c, daily_in_cap=5000), _swap(c))[2],
    C.CAP_EXCEEDED: lambda c, _: c.rec(R.issue, c.vk, "vk", c.alice.public_hex, 10**9 + 1),
    C.SETTLE_EXCEEDS_POSITION: lambda c, _: (_owing(c), c.rec(
        R.settle, [c.vk, c.bp], "village-kitchen", "burger-palace", 801))[1],
    C.COUNTER_LIMIT_REACHED: lambda c, mp: (
        mp.setattr(points, "counter_max", 100),
        c.rec(R.issue, c.vk, "vk", c.alice.public_hex, 101))[1],
}


def test_every_rejection_code_has_a_case() -> None:
    assert list(CASES) == list(C.CODES)


@pytest.mark.parametrize("code", list(CASES))
def test_rejected_record_is_refused_and_changes_nothing(
        code: str, alliance: Chain, monkeypatch: pytest.MonkeyPatch) -> None:
    record = CASES[code](alliance, monkeypatch)
    alliance.block()  # let any begin-block work of the setup happen first
    before = alliance.snapshot()
    assert alliance.app.check(record) == code
    assert alliance.snapshot() == before  # check has no side effects
    assert alliance.block(record) == [code]
    assert alliance.snapshot() == before
    assert not any(ch.table in ("x_history", "x_swaps", "x_events")
                   for ch in alliance.last.changes)
    assert alliance.app.audit() == []


def test_app2_a_rejected_record_in_the_middle_changes_nothing(new_chain: Any,
                                                        open_programs: Any) -> None:
    """APP-2: executing [a, bad, c] equals executing [a, c] (in the restorable state)."""
    results = []
    for with_bad in (True, False):
        c = open_programs(new_chain())
        a = c.rec(R.issue, c.vk, "vk", c.alice.public_hex, 800, "meal")
        bad = c.rec(R.redeem, c.alice, "vk", 900, "too much")
        z = c.rec(R.swap, c.alice, "vk", 800, "bp", 8000, 1, 1)
        codes = c.block(a, bad, z) if with_bad else c.block(a, z)
        results.append((codes, c.snapshot()))
    assert results[0][0] == ["ok", C.INSUFFICIENT_BALANCE, "ok"]
    assert results[1][0] == ["ok", "ok"]
    assert results[0][1] == results[1][1]


def test_check_order_is_documented_order(alliance: Chain) -> None:
    """A record that breaks two rules gets the code listed first."""
    c = alliance
    both = c.rec(R.issue, c.bp, "vk", c.alice.public_hex, 0)  # wrong key and zero amount
    assert c.app.check(both) == C.AMOUNT_INVALID
    assert C.ORDER[C.AMOUNT_INVALID] < C.ORDER[C.NOT_AUTHORIZED]
