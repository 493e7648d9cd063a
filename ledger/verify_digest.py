"""The replay's state commitment, computed as :func:`ledger.application.next_state` does,
with the per-value work done in C.

The verifier folds every block's changes into the commitment (a few changes per record),
so the ledger's general version, which checks each key and row value in a Python loop,
was a fifth of the main process's time. Here the checks are one pass of ``type`` over all
values against the allowed types, and orjson's 53-bit integer limit; whenever something is
out of the model (a float, a bool, a big integer) the ledger's own function is called, so
it raises exactly the error the ledger raises. A property test holds both to the same bytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import chain
from operator import attrgetter

import orjson

from .application import Change, next_state
from .hashing import Domain, digest

_FLAT_TYPES = frozenset((int, str, type(None)))
_OPTIONS = orjson.OPT_SORT_KEYS | orjson.OPT_STRICT_INTEGER
_by_table_and_key = attrgetter("table", "key")
_key_of = attrgetter("key")


def state_after(previous: bytes, changes: Sequence[Change]) -> bytes:
    """``next_state(previous, changes)``: H(0x12 || previous || changes digest)."""
    ordered = sorted(changes, key=_by_table_and_key)
    rows = [c.row for c in ordered if c.row is not None]
    values = chain(chain.from_iterable(map(_key_of, ordered)),
                   chain.from_iterable(map(dict.values, rows)))
    if not _FLAT_TYPES.issuperset(map(type, values)):
        return next_state(previous, changes)
    try:
        data = orjson.dumps([(c.table, c.key, c.row) for c in ordered], option=_OPTIONS)
    except orjson.JSONEncodeError:
        return next_state(previous, changes)
    return digest(Domain.STATE, previous + digest(Domain.CHANGES, data))
