"""Invariants: cheap ones after every block (on the overlay only), a full audit on demand.

After every ``execute`` (always on, even under ``python -O``), for what the block touched:
each program's counters balance (supply + pending = issued - voided - redeemed - swapped_out
+ swapped_in - expired) and are non-negative; each holding is positive with lots that sum to
it; the change of the balances of each program equals the change of its supply; the change
of the positions sums to zero (so the positions still do).

:func:`audit` checks the whole committed state (tests, the verification script): the sum of
all balances of each program is its supply, its pending entries sum to its pending points,
and flows, obligations and positions agree.
"""

from __future__ import annotations

from collections import defaultdict
from operator import itemgetter

from exchange.errors import InvariantViolation, invariant
from exchange.state.model import Program
from exchange.state.state import State

_amount = itemgetter(1)


def check_block(s: State, balance_delta: dict[str, int]) -> None:
    """Raise InvariantViolation when the block's overlay breaks a conservation rule.

    ``balance_delta`` is the net change of all balances per program, as computed (with the
    per-holding checks) by :func:`exchange.state.changes.collect_changes`.
    """
    supply_delta: dict[str, int] = {}
    for code, new in s.programs.work.items():
        if new is None:
            raise InvariantViolation(f"program {code} deleted")
        _check_program(new)
        old = s.programs.base.get(code)
        supply_delta[code] = new.supply - (old.supply if old else 0)
    for code in supply_delta.keys() | balance_delta.keys():
        invariant(supply_delta.get(code, 0) == balance_delta.get(code, 0),
                  f"balances of {code} moved unlike its supply")
    net_delta = 0  # positions summed to zero before the block, so their change must too
    for merchant, new_position in s.positions.work.items():
        old_position = s.positions.base.get(merchant)
        net_delta += ((new_position.net if new_position else 0)
                      - (old_position.net if old_position else 0))
    invariant(net_delta == 0, "positions do not net to zero")


def _check_program(p: Program) -> None:
    invariant(p.balanced(), f"program {p.code}: supply does not balance its counters")
    counters = (p.supply, p.issued, p.promoted, p.redeemed, p.swapped_in, p.swapped_out,
                p.expired, p.pending, p.voided)
    invariant(min(counters) >= 0, f"program {p.code}: a counter is negative")
    invariant(p.promoted <= p.issued, f"program {p.code}: promoted beyond issued")


def audit(s: State) -> list[str]:
    """Every invariant over the whole state as the view sees it; returns the problems found."""
    problems: list[str] = []
    programs = dict(s.programs.items())
    sums: dict[str, int] = defaultdict(int)
    for (account, code), (held, lots, earned) in s.holdings.all_items():
        sums[code] += held
        if held <= 0 or not 0 <= earned <= held:
            problems.append(f"holding {account[:12]}/{code} is {held} ({earned} earned)")
        lapsing = sum(map(_amount, lots))
        if code not in programs:
            problems.append(f"holding of unknown program {code}")
        elif lapsing > held or (programs[code].expiry_days and lapsing != held):
            problems.append(f"lots of {account[:12]}/{code} do not match its balance")
    for code, p in programs.items():
        if not p.balanced():
            problems.append(f"{code}: supply does not balance its counters")
        if sums.get(code, 0) != p.supply:
            problems.append(f"{code}: balances sum to {sums.get(code, 0)}, supply {p.supply}")
        rate = s.rates.get((code, p.rate_version))
        if rate is None or rate.rate != p.rate:
            problems.append(f"{code}: rate in effect has no matching rate version")
    _audit_pending(s, programs, problems)
    _audit_flows(s, programs, problems)
    _audit_positions(s, problems)
    return problems


def _audit_pending(s: State, programs: dict[str, Program], problems: list[str]) -> None:
    pending: dict[str, int] = defaultdict(int)
    for issue, held in s.pending.all_items():
        if held.amount <= 0 or held.program not in programs:
            problems.append(f"pending issue {issue[:12]} is malformed")
        if not held.void_record:
            pending[held.program] += held.amount
    for code, p in programs.items():
        if pending.get(code, 0) != p.pending:
            problems.append(f"{code}: pending entries sum to {pending.get(code, 0)}, "
                            f"pending {p.pending}")


def _audit_flows(s: State, programs: dict[str, Program], problems: list[str]) -> None:
    given: dict[str, int] = defaultdict(int)
    received: dict[str, int] = defaultdict(int)
    bonus: dict[str, int] = defaultdict(int)
    for (source, target), flow in s.flows.items():
        given[source] += flow.given
        received[target] += flow.received
        bonus[target] += flow.bonus
    for code, p in programs.items():
        if (given[code], received[code], bonus[code]) != (p.swapped_out, p.swapped_in,
                                                          p.promoted):
            problems.append(f"{code}: flows disagree with swap counters")


def _audit_positions(s: State, problems: list[str]) -> None:
    expect: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for (debtor, creditor), ob in s.obligations.items():
        expect[creditor][0] += ob.accrued
        expect[debtor][1] += ob.accrued
        expect[debtor][2] += ob.settled
        expect[creditor][3] += ob.settled
    positions = dict(s.positions.items())
    if sum(p.net for p in positions.values()) != 0:
        problems.append("positions do not sum to zero")
    for merchant in sorted(expect.keys() | positions.keys()):
        p = positions.get(merchant)
        got = [p.receivable, p.payable, p.paid, p.received] if p else [0, 0, 0, 0]
        if got != expect[merchant]:
            problems.append(f"position of {merchant} disagrees with obligations")
