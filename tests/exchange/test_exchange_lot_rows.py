"""The lot rows a block writes: exactly the lots that differ, in expiry order.

``_lot_changes`` skips a common prefix or suffix of the two lot lists before its merge walk;
this holds it to the plain definition (every expiry whose amount differs, ascending) on
random lot lists, including the shapes earning and spending produce.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exchange.errors import InvariantViolation
from exchange.state.changes import _lot_changes
from ledger.application import Change

_lots = st.dictionaries(st.integers(0, 40), st.integers(1, 9), max_size=12).map(
    lambda d: tuple(sorted(d.items())))


def _rows(before: tuple[tuple[int, int], ...], after: tuple[tuple[int, int], ...]
          ) -> list[Change]:
    out: list[Change] = []
    _lot_changes("acct", "vk", before, after, sum(a for _, a in after), out)
    return out


def _expected(before: tuple[tuple[int, int], ...], after: tuple[tuple[int, int], ...]
              ) -> list[Change]:
    old, new = dict(before), dict(after)
    return [Change("x_lots", ("acct", "vk", t), None if t not in new else (
        "acct", "vk", t, new[t]))
        for t in sorted(old.keys() | new.keys()) if old.get(t) != new.get(t)]


@settings(max_examples=400, deadline=None)
@given(before=_lots, after=_lots)
def test_any_two_lot_lists(before: tuple[tuple[int, int], ...],
                           after: tuple[tuple[int, int], ...]) -> None:
    assert _rows(before, after) == _expected(before, after)


@settings(max_examples=200, deadline=None)
@given(before=_lots.filter(bool), spent=st.integers(1, 30), earned=st.integers(1, 9),
       newest=st.booleans())
def test_earning_and_spending_shapes(before: tuple[tuple[int, int], ...], spent: int,
                                     earned: int, newest: bool) -> None:
    last_ms, last = before[-1]
    grown = (*before[:-1], (last_ms, last + earned)) if newest else (*before, (99, earned))
    assert _rows(before, grown) == _expected(before, grown)
    left, taken = [], spent
    for expires_ms, amount in before:
        cut = min(amount, taken)
        taken -= cut
        if amount > cut:
            left.append((expires_ms, amount - cut))
    assert _rows(before, tuple(left)) == _expected(before, tuple(left))


def test_lots_that_exceed_the_balance_stop_the_block() -> None:
    with pytest.raises(InvariantViolation, match="exceed its balance"):
        _lot_changes("acct", "vk", (), ((5, 2), (6, 2)), 3, [])


def test_lots_below_the_balance_are_points_that_never_lapse() -> None:
    """A program without expiry may hold lots that a swap brought with their expiry."""
    out: list[Change] = []
    _lot_changes("acct", "nx", (), ((5, 2),), 3, out)
    assert out == [Change("x_lots", ("acct", "nx", 5), ("acct", "nx", 5, 2))]
