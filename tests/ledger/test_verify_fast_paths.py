"""The verifier's fast paths give exactly what the ledger's general code gives.

``changes_digest``'s C path must give the checked path's digest and refuse what it refuses.
Tampered stores are caught either way, so this is the test that would notice a fast path
more lenient than the protocol. (The record parser's fast route is held to its strict route
in test_record_routes.py.)
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.application import Change, _changes_digest_checked, changes_digest
from ledger.errors import LedgerError

SAFE = 2**53 - 1


_text = st.text(st.characters(blacklist_categories=()), max_size=6)  # lone surrogates too
_values = st.one_of(st.none(), st.integers(-SAFE - 2, SAFE + 2), _text, st.booleans(),
                    st.floats(allow_nan=False))
_changes = st.lists(st.builds(
    Change, st.sampled_from(["x_a", "x_b", "y"]),
    st.tuples(st.integers(0, 3), st.text(max_size=2)),
    st.one_of(st.none(), st.lists(_values, max_size=4).map(tuple),
              st.dictionaries(st.sampled_from(["k", "v", "w"]), _values))),  # a dict: refused
    max_size=12)


@settings(max_examples=300, deadline=None)
@given(changes=_changes)
def test_the_changes_digest_fast_path_is_the_checked_one(changes: list[Change]) -> None:
    """Same bytes, or the same refusal; duplicate (table, key) pairs keep their order."""
    ordered = sorted(changes, key=lambda c: (c.table, c.key))
    try:
        expected: Any = _changes_digest_checked(ordered)
    except LedgerError as exc:
        expected = (type(exc), exc.code)
    try:
        found: Any = changes_digest(changes)
    except LedgerError as exc:
        found = (type(exc), exc.code)
    assert found == expected
