"""Holdings and expiry, rule by rule, on a bare state: points are credited into lots by expiry,
debited soonest-expiring first (swap-minted before earned), carried with their expiry and
earned count by a transfer, and lapse at block time in holding order, stale index entries
changing nothing (exchange/rules/holdings.py, exchange/state/expiry.py).

The chain-level stories are in test_exchange_expiry.py; here each rule is held to a plain
model over random sequences, so that a slip in the lot arithmetic cannot hide behind the
few amounts a story uses.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exchange.errors import InvariantViolation
from exchange.genesis import Params
from exchange.limits import day_ms
from exchange.rules.holdings import balance, credit, credit_lots, debit, lot_expiry_ms, unearned
from exchange.state.env import Env
from exchange.state.expiry import EXPIRE, ExpiryIndex, expire_due, rebuild_vesting
from exchange.state.model import Holding, PendingIssue, Program
from exchange.state.state import State

HOUR = 3_600_000
PARAMS = Params(member_quorum_percent=67, rate_notice_ms=7 * day_ms, day_offset_ms=8 * HOUR)
DAY0 = 20_000  # the day number of T0
T0 = PARAMS.day_start_ms(DAY0)
EXPIRY_DAYS = {"vk": 30, "bp": 0, "sh": 1}  # bp's own points never lapse


def _program(code: str) -> Program:
    return Program(code=code, name=code, issuer=f"{code}-merchant", rate=100, rate_version=1,
                   pending_rate=None, pending_version=None, pending_ms=None,
                   expiry_days=EXPIRY_DAYS[code], cap=10**12, transferable=True, min_in=1,
                   step_in=1, daily_in_cap=10**12, accepts=(), created_height=0,
                   supply=10**6)


def _state() -> State:
    s = State()
    for code in EXPIRY_DAYS:
        s.programs.put(code, _program(code))
    return s


def _history(env: Env) -> list[tuple[object, ...]]:
    """(account, program, kind, delta, balance, ref) of each history row, in order."""
    return [row.row[3:8] + row.row[9:] for row in env.history_rows if row.row is not None]


@dataclass
class _Model:
    """One holding as the rules say it should be: lots by expiry, a total, earned points."""

    lots: dict[int, int] = field(default_factory=dict)
    held: int = 0
    earned: int = 0

    def holding(self) -> Holding | None:
        return (self.held, tuple(sorted(self.lots.items())), self.earned) if self.held else None

    def add(self, lots: list[tuple[int, int]], amount: int, earned: int) -> None:
        for expires_ms, part in lots:
            self.lots[expires_ms] = self.lots.get(expires_ms, 0) + part
        self.held += amount
        self.earned += earned

    def take(self, amount: int) -> tuple[tuple[tuple[int, int], ...], int]:
        taken, left = [], amount
        for expires_ms in sorted(self.lots):
            if not left:
                break
            part = min(left, self.lots[expires_ms])
            taken.append((expires_ms, part))
            left -= part
            self.lots[expires_ms] -= part
            if not self.lots[expires_ms]:
                del self.lots[expires_ms]
        self.held -= amount
        kept = min(self.earned, self.held)  # unearned points go first
        earned_taken, self.earned = self.earned - kept, kept
        return tuple(taken), earned_taken


def test_spending_takes_whole_lots_soonest_first_then_part_of_one_then_lasting_points() -> None:
    t1, t2, t3, t4 = (T0 + d * day_ms for d in (1, 2, 3, 4))
    s, env = _state(), Env(PARAMS, 1, T0)
    s.holdings.put(("alice", "vk"), (23, ((t1, 5), (t2, 5), (t3, 5), (t4, 5)), 4))  # 3 last
    assert debit(s, env, "alice", "vk", 5, "redeem") == (((t1, 5),), 0)
    assert s.holdings.get(("alice", "vk")) == (18, ((t2, 5), (t3, 5), (t4, 5)), 4)
    assert debit(s, env, "alice", "vk", 12, "redeem") == (((t2, 5), (t3, 5), (t4, 2)), 0)
    assert s.holdings.get(("alice", "vk")) == (6, ((t4, 3),), 4)
    assert debit(s, env, "alice", "vk", 5, "redeem") == (((t4, 3),), 3)  # earned go last
    assert s.holdings.get(("alice", "vk")) == (1, (), 1)
    assert debit(s, env, "alice", "vk", 1, "redeem") == ((), 1)
    assert s.holdings.get(("alice", "vk")) is None
    assert [row[3:5] for row in _history(env)] == [(-5, 18), (-12, 6), (-5, 1), (-1, 0)]


@pytest.mark.parametrize("holding", [None, (4, ((T0, 4),), 4)], ids=["nothing", "4 points"])
def test_a_debit_beyond_the_balance_is_a_programmer_error(holding: Holding | None) -> None:
    s, env = _state(), Env(PARAMS, 1, T0)
    s.holdings.put(("alice", "vk"), holding)
    with pytest.raises(InvariantViolation):
        debit(s, env, "alice", "vk", 5, "redeem")
    assert s.holdings.get(("alice", "vk")) == holding and env.history_rows == []


def test_a_transfer_merges_its_lots_into_the_receivers_by_expiry() -> None:
    t1, t2, t3 = (T0 + d * day_ms for d in (1, 2, 3))
    s, env = _state(), Env(PARAMS, 1, T0)
    s.holdings.put(("bob", "vk"), (3, ((t1, 1),), 0))  # and 2 that never lapse
    credit_lots(s, env, "bob", "vk", (((t2, 5), (t3, 4)), 2), 9, "transfer_in", "alice")
    assert s.holdings.get(("bob", "vk")) == (12, ((t1, 1), (t2, 5), (t3, 4)), 2)
    credit_lots(s, env, "bob", "vk", (((t1, 2), (t3, 1)), 0), 3, "transfer_in", "carol")
    assert s.holdings.get(("bob", "vk")) == (15, ((t1, 3), (t2, 5), (t3, 5)), 2)
    assert all(("bob", "vk") in s.expiry.buckets[t] for t in (t1, t2, t3))


def test_nothing_held_is_a_zero_balance_and_a_default_reference_is_empty() -> None:
    s, env = _state(), Env(PARAMS, 1, T0)
    assert (balance(s, "alice", "vk"), unearned(s, "alice", "vk")) == (0, 0)
    credit(s, env, "alice", s.programs.edit("bp"), 7, "issue")
    assert unearned(s, "alice", "bp") == 7  # not said to be earned: it is not
    debit(s, env, "alice", "bp", 7, "redeem")
    credit_lots(s, env, "bob", "bp", ((), 0), 3, "transfer_in")
    assert [row[-1] for row in _history(env)] == ["", "", ""]
    assert s.holdings.get(("alice", "bp")) is None and balance(s, "bob", "bp") == 3


def test_points_earned_today_lapse_at_the_start_of_the_day_after_their_period() -> None:
    env = Env(PARAMS, 1, T0 + 23 * HOUR)
    assert lot_expiry_ms(env, _program("vk")) == PARAMS.day_start_ms(DAY0 + 31)
    assert lot_expiry_ms(env, _program("sh")) == PARAMS.day_start_ms(DAY0 + 2)
    assert lot_expiry_ms(env, _program("bp")) == 0
    assert env.lapse_ms == {30: PARAMS.day_start_ms(DAY0 + 31), 1: PARAMS.day_start_ms(DAY0 + 2)}
    assert lot_expiry_ms(env, _program("vk")) == PARAMS.day_start_ms(DAY0 + 31)


def _expiring(holdings: dict[tuple[str, str], Holding],
              stale: Sequence[tuple[int, tuple[str, str]]] = ()) -> State:
    s = _state()
    for key, holding in holdings.items():
        s.holdings.put(key, holding)
        for expires_ms, _ in holding[1]:
            s.expiry.add(expires_ms, key)
    for expires_ms, key in stale:
        s.expiry.add(expires_ms, key)
    return s


def test_a_block_lapses_the_lots_due_at_its_time_and_keeps_the_rest() -> None:
    t1, t2, t5 = (T0 + d * day_ms for d in (1, 2, 5))
    s = _expiring({("alice", "vk"): (100, ((t1, 10), (t2, 20), (t5, 30)), 90),
                   ("bob", "vk"): (15, ((t1, 5), (t2, 10)), 4),
                   ("carol", "vk"): (8, ((t5, 8),), 8)})
    env = Env(PARAMS, 3, t2)
    expire_due(s, env)
    assert s.holdings.get(("alice", "vk")) == (70, ((t5, 30),), 70)  # earned capped by what's left
    assert s.holdings.get(("bob", "vk")) is None
    assert s.holdings.get(("carol", "vk")) == (8, ((t5, 8),), 8)
    assert _history(env) == [("alice", "vk", EXPIRE, -30, 70, ""),
                             ("bob", "vk", EXPIRE, -15, 0, "")]
    vk = s.programs.get("vk")
    assert vk is not None and (vk.supply, vk.expired) == (10**6 - 45, 45)


def test_stale_index_entries_change_nothing_and_never_stop_the_lapse_of_others() -> None:
    t1, t3 = T0 + day_ms, T0 + 3 * day_ms
    s = _expiring({("bob", "vk"): (6, ((t3, 6),), 0),  # its t1 lot was spent: a stale entry
                   ("carol", "bp"): (9, (), 9),  # no lots left at all
                   ("zed", "vk"): (4, ((t1, 4),), 4)},
                  stale=[(t1, ("alice", "vk")), (t1, ("bob", "vk")), (t1, ("carol", "bp"))])
    env = Env(PARAMS, 3, t1 + HOUR)
    expire_due(s, env)
    assert _history(env) == [("zed", "vk", EXPIRE, -4, 0, "")]
    assert s.holdings.get(("bob", "vk")) == (6, ((t3, 6),), 0)
    assert s.holdings.get(("carol", "bp")) == (9, (), 9)
    assert s.holdings.get(("alice", "vk")) is None and s.holdings.get(("zed", "vk")) is None


def test_lapses_come_out_in_holding_order_whatever_the_bucket_order() -> None:
    t1, t2 = T0 + day_ms, T0 + 2 * day_ms
    s = _expiring({("zed", "vk"): (3, ((t1, 3),), 0), ("amy", "vk"): (2, ((t2, 2),), 0),
                   ("amy", "sh"): (1, ((t1, 1),), 1)})
    env = Env(PARAMS, 3, t2 + 1)
    expire_due(s, env)
    assert [row[:2] for row in _history(env)] == [("amy", "sh"), ("amy", "vk"), ("zed", "vk")]


def test_the_index_gives_due_times_in_order_and_forgets_only_committed_ones() -> None:
    index = ExpiryIndex()
    for expires_ms, key in [(30, ("a", "vk")), (10, ("b", "vk")), (20, ("a", "vk")),
                            (10, ("c", "vk"))]:
        index.add(expires_ms, key)
    assert index.buckets == {10: {("b", "vk"), ("c", "vk")}, 20: {("a", "vk")},
                             30: {("a", "vk")}}
    assert (index.due(9), index.due(10), index.due(25), index.due(99)) == (
        [], [10], [10, 20], [10, 20, 30])
    index.prune(20)
    assert index.buckets == {30: {("a", "vk")}} and index.heap == [30]
    assert index.due(29) == [] and index.due(30) == [30]
    index.prune(29)
    assert index.heap == [30]
    index.rebuild([(("d", "vk"), (5, ((40, 2), (50, 3)), 0)), (("e", "bp"), (4, (), 4))])
    assert index.buckets == {40: {("d", "vk")}, 50: {("d", "vk")}}
    assert sorted(index.heap) == [40, 50] and index.due(45) == [40]


def test_vesting_is_reindexed_by_when_each_pending_issue_vests() -> None:
    index = ExpiryIndex()
    index.add(1, ("old", "gone"))
    rebuild_vesting(index, {"i1": PendingIssue("alice", "vk", 5, 700, 2),
                            "i2": PendingIssue("bob", "sh", 3, 500, 2),
                            "i3": PendingIssue("carol", "vk", 1, 700, 3, void_record="v")})
    assert index.buckets == {500: {("sh", "i2")}, 700: {("vk", "i1"), ("vk", "i3")}}
    assert sorted(index.heap) == [500, 700] and index.due(600) == [500]


_accounts = st.sampled_from(["alice", "bob", "carol"])
_programs = st.sampled_from(sorted(EXPIRY_DAYS))
_credit = st.tuples(st.just("credit"), _accounts, _programs, st.integers(1, 500),
                    st.booleans(), st.integers(0, 45 * 24), st.integers(0, 12))
_spend = st.tuples(st.sampled_from(["debit", "transfer"]), _accounts, _programs,
                   st.integers(0, 100), _accounts, st.just(0), st.integers(0, 12))


@settings(max_examples=100, deadline=None)
@given(ops=st.lists(st.one_of(_credit, _spend), min_size=1, max_size=30))
def test_credits_debits_and_transfers_keep_lots_totals_and_earned_points(
        ops: list[tuple[str, str, str, int, object, int, int]]) -> None:
    s = _state()
    models: dict[tuple[str, str], _Model] = {}
    for op, account, code, number, other, until_hours, day in ops:
        env = Env(PARAMS, 1, T0 + day * day_ms + 5 * HOUR)
        key = (account, code)
        model = models.setdefault(key, _Model())
        if op == "credit":
            days = EXPIRY_DAYS[code]
            expires_ms = PARAMS.day_start_ms(DAY0 + day + days + 1) if days else 0
            until_ms = T0 + until_hours * HOUR if until_hours else 0
            if until_ms and (not expires_ms or until_ms < expires_ms):
                expires_ms = until_ms
            credit(s, env, account, s.programs.edit(code), number, "issue", f"r{day}",
                   earned=bool(other), until_ms=until_ms)
            model.add([(expires_ms, number)] if expires_ms else [], number,
                      number if other else 0)
            assert _history(env) == [(account, code, "issue", number, model.held, f"r{day}")]
        else:
            amount = model.held * number // 100
            if not amount:
                continue
            assert isinstance(other, str)
            if op == "transfer" and other == account:
                continue
            taken = model.take(amount)
            assert debit(s, env, account, code, amount, "redeem", "out") == taken
            if op == "transfer":
                receiver = models.setdefault((other, code), _Model())
                credit_lots(s, env, other, code, taken, amount, "transfer_in", account)
                receiver.add(list(taken[0]), amount, taken[1])
                assert _history(env)[-1] == (other, code, "transfer_in", amount, receiver.held,
                                             account)
            assert _history(env)[0] == (account, code, "redeem", -amount, model.held, "out")
        for (holder, program), expected in models.items():
            assert s.holdings.get((holder, program)) == expected.holding()
            assert balance(s, holder, program) == expected.held
            assert unearned(s, holder, program) == expected.held - expected.earned
    index = s.expiry
    assert sorted(index.heap) == sorted(index.buckets)
    for key, (_, lots, _) in s.holdings.items():
        assert all(key in index.buckets[expires_ms] for expires_ms, _ in lots)
