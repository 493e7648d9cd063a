"""Every stored counter stays within ``counter_max`` (2**53-1), whatever signers send.

Hypothesis drives issues, swaps (of all the points held) and redemptions at the largest
amounts the limits allow, against a lowered bound so that short runs reach it, on three
programs at 1 point per yuan (so value counters, in µ¥, grow 10**6 times faster than point
counters), two of one issuer and one of another. After every block: each record is accepted
or refused with a named code, every integer of every row the block writes is within the
bound, and the block's changes encode (its state commitment can be computed).
"""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from exchange import records as R
from exchange.codes import CODES, COUNTER_LIMIT_REACHED, OK
from exchange.limits import counter_max
from exchange.rules import points, swap
from ledger.application import next_state
from ledger.crypto.keys import SigningKey

MALLORY = SigningKey.from_seed(hashlib.sha256(b"counters-mallory").digest())
WALLETS = [SigningKey.from_seed(hashlib.sha256(b"counters-wallet-%d" % n).digest())
           for n in range(2)]
CAP = 10**9  # the most points a program at 1 point per yuan may have in circulation
PROGRAMS = ("ma", "mb", "vk")
BOUND = 2 * 10**15

programs = st.sampled_from(PROGRAMS)
wallets = st.sampled_from((0, 0, 0, 1))
amounts = st.one_of(st.just(CAP), st.just(CAP), st.integers(1, CAP))
# A swap operation is 1 to 6 legs back and forth on one pair, each of all the points held.
swaps = st.tuples(st.just("swap"), st.sampled_from(
    [(a, b) for a in PROGRAMS for b in PROGRAMS if a != b]), wallets, st.integers(1, 6))
operations = st.lists(st.one_of(
    st.tuples(st.just("issue"), programs, wallets, amounts), swaps, swaps,
    st.tuples(st.just("redeem"), programs, wallets, amounts),
), min_size=1, max_size=30)


def _open(c: Any) -> None:
    """Mallory runs "ma" and "mb", Village Kitchen "vk": 1 point per yuan, the largest cap,
    each accepting the other two."""
    assert c.block(c.rec(R.apply_merchant, c.vk, "village-kitchen", "Village Kitchen"),
                   c.rec(R.apply_merchant, MALLORY, "mallory", "Mallory's")) == [OK, OK]
    assert c.vote(R.admit_merchant, "village-kitchen") == OK
    assert c.vote(R.admit_merchant, "mallory") == OK
    assert c.block(c.rec(R.create_program, MALLORY, "mallory", "ma", "A", 1, 0, CAP),
                   c.rec(R.create_program, MALLORY, "mallory", "mb", "B", 1, 0, CAP),
                   c.rec(R.create_program, c.vk, "village-kitchen", "vk", "VK", 1, 0, CAP)
                   ) == [OK] * 3
    issuer = {"ma": MALLORY, "mb": MALLORY, "vk": c.vk}
    assert c.block(*(c.rec(R.update_program, issuer[code], code, code.upper(), CAP, False, 1,
                           1, 10**12, [p for p in PROGRAMS if p != code])
                     for code in PROGRAMS)) == [OK] * 3


def _check_block(c: Any, bound: int = counter_max) -> None:
    execution = c.last
    assert all(code == OK or code in CODES for code in execution.codes)
    for change in execution.changes:
        for value in change.row or ():
            assert type(value) is not int or -bound <= value <= bound, change
    next_state(b"\x00" * 32, execution.changes)  # raises when a value cannot be encoded


@settings(max_examples=60, deadline=None, suppress_health_check=[
    HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(ops=operations)
def test_no_stored_counter_passes_its_bound(new_chain: Any, monkeypatch: pytest.MonkeyPatch,
                                            ops: list[tuple[Any, ...]]) -> None:
    # The bound lowered to ¥2,000,000,000 (2 * 10**15 µ¥: two swaps of a full program), so
    # that short random runs reach it; every module that checks it reads it by name.
    for module in (points, swap):
        monkeypatch.setattr(module, "counter_max", BOUND)
    c = new_chain()
    _open(c)
    issuer = {"ma": MALLORY, "mb": MALLORY, "vk": c.vk}
    for kind, what, wallet, amount in ops:
        holder = WALLETS[wallet]
        if kind == "swap":
            for leg in range(amount):
                give, get = what if leg % 2 == 0 else what[::-1]
                c.one(c.rec(R.swap, holder, give, c.balance(holder, give) or 1, get, 0, 1, 1))
                _check_block(c, BOUND)
            continue
        if kind == "issue":
            record = c.rec(R.issue, issuer[what], what, holder.public_hex, amount)
        else:
            record = c.rec(R.redeem, holder, what, amount, "order")
        c.one(record)
        _check_block(c, BOUND)
    for row in c.rows("x_flows") + c.rows("x_positions") + c.rows("x_programs"):
        assert all(abs(v) <= BOUND for v in row.values() if type(v) is int)


def test_round_trips_at_the_largest_amounts_meet_the_bound_by_name(new_chain: Any) -> None:
    c = new_chain()
    _open(c)
    wallet = WALLETS[0]
    assert c.one(c.rec(R.issue, MALLORY, "ma", wallet.public_hex, CAP)) == OK
    codes = []
    for n in range(19):
        give, get = ("ma", "mb") if n % 2 == 0 else ("mb", "ma")
        codes.append(c.one(c.rec(R.swap, wallet, give, CAP, get, CAP, 1, 1)))
        _check_block(c)
    assert codes == [OK] * 18 + [COUNTER_LIMIT_REACHED]
    assert c.balance(wallet, "ma") == CAP and c.balance(wallet, "mb") == 0
