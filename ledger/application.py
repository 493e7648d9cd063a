"""The seam between the ledger and the application, shaped like CometBFT's ABCI.

The ledger orders, certifies and stores records; the application decides whether a record is
valid and what it changes. The application is deterministic: no clock (the block time comes in
:class:`BlockContext`), no randomness, no dependence on dict order, no I/O.

Numbered requirements (tests name them; docs/REQUIREMENTS.md lists them):

- APP-1 ``check`` has no side effects; it judges a record against the committed state.
- APP-2 ``execute`` applies a block's records in order to a working state; a rejected record
  changes no state. (The proposer still re-executes the accepted records alone before it
  proposes, so effects numbered by position in the block match what validators compute.)
- APP-3 ``execute`` returns every derived row it changed as :class:`Change` values; the ledger
  writes them in the block's SQLite transaction and folds them into the state commitment.
- APP-4 ``commit`` makes the working state the committed state; ``discard`` drops it.
- APP-5 the same genesis and the same blocks give the same changes on every replica.
- APP-6 ``restore`` rebuilds the committed state from the rows the ledger stored.
- APP-7 ``rows`` gives every row of a ``restore`` table in the committed state: the rows the
  changes of every block so far have built up (the verifier compares a node's tables with
  them).

Besides these, the verifier uses two capabilities every application declares (no attribute
is looked up by name): ``invariants_in_execute`` (does ``execute`` itself check each block's
invariants?) and ``audit()`` (every invariant over the committed state).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from itertools import chain, groupby
from operator import is_not, itemgetter
from typing import Any, NamedTuple, Protocol

import orjson

from ledger.errors import EncodingError
from ledger.limits import json_int_max
from ledger.wire.canonical import canonical_flat_rows
from ledger.wire.hashing import Domain, digest
from ledger.wire.record import Record

Row = dict[str, Any]  # column -> int | str | None: a stored row as read back (restore)
Values = tuple[Any, ...]  # a row as written: its values in the table's column order


@dataclass(frozen=True, slots=True)
class BlockContext:
    """What the application may know about the block being executed."""

    chain: str
    height: int
    time_ms: int


@dataclass(frozen=True, slots=True)
class TableSpec:
    """A table of derived rows the application writes; the ledger creates it in every store.

    ``restore`` tables are handed back to :meth:`Application.restore` on reopening; the others
    (history, indexes) are written for readers and the verifier only.
    """

    name: str
    columns: Mapping[str, type]
    pk: tuple[str, ...]
    indexes: tuple[tuple[str, ...], ...] = ()
    restore: bool = True


class Change(NamedTuple):
    """One derived row set (``row``: its values in the order of the table's columns) or
    deleted (``row is None``) in ``table``; ``key`` is the row's primary-key values.

    Tuples throughout, not dataclasses or dicts: a block makes a few per record, and tuples
    are built, sorted (by table, then key), encoded and written to SQLite in C.
    """

    table: str
    key: tuple[Any, ...]
    row: Values | None


#: ``new_change((table, key, row))``: a Change built in C, for hot paths (the named tuple's
#: own ``__new__`` is a Python function).
new_change = partial(tuple.__new__, Change)


@dataclass(frozen=True, slots=True)
class ValidatorInfo:
    """A validator: a name for people and the Ed25519 public key (hex) that signs headers."""

    name: str
    key: str


@dataclass(slots=True)
class Execution:
    """The result of executing a block: per-record codes, changed rows, validator updates."""

    codes: list[str]
    changes: list[Change]
    validators: tuple[ValidatorInfo, ...] | None = None  # the set in force from the next block

    @property
    def accepted(self) -> list[int]:
        return [i for i, code in enumerate(self.codes) if code == OK]


OK = "ok"


class Application(Protocol):
    """What the ledger asks of an application."""

    def tables(self) -> Sequence[TableSpec]:
        """The derived tables this application writes."""
        ...

    def init_chain(self, chain: str, time_ms: int, app_genesis: Mapping[str, Any]) -> Execution:
        """Build the genesis state from the genesis document's application section."""
        ...

    def restore(self, rows: Mapping[str, Iterable[Row]]) -> None:
        """Rebuild the committed state from the stored rows of every ``restore`` table."""
        ...

    def rows(self, table: str) -> Iterable[Values]:
        """Every row of the ``restore`` table ``table`` in the committed state, each once, in
        any order (APP-7)."""
        ...

    def check(self, record: Record) -> str:
        """``OK`` or a rejection code, judged against the committed state (APP-1)."""
        ...

    def execute(self, ctx: BlockContext, records: Sequence[Record]) -> Execution:
        """Apply ``records`` in order to a fresh working state (APP-2, APP-3)."""
        ...

    def commit(self) -> None:
        """Make the working state of the last ``execute`` the committed state (APP-4)."""
        ...

    def discard(self) -> None:
        """Drop the working state of the last ``execute`` (APP-4)."""
        ...

    #: True when ``execute`` checks each block's invariants and raises on a violation: the
    #: verifier then counts every replayed block as checked.
    invariants_in_execute: bool

    def audit(self) -> list[str]:
        """Every invariant over the committed state, one line per violation; ``[]`` when all
        hold. The verifier runs it at each node's head and, within a time budget, between."""
        ...


def ordered_changes(changes: Iterable[Change]) -> list[Change]:
    """``changes`` in the digest's order: by table name, then by key values compared in turn
    (integers numerically, strings by code point); stable, so of two changes of one row
    (an application bug) the later stays later, as the store writes them."""
    # Two stable sorts, by table, then each table's run by key: the same order as one sort
    # by (table, key), at half the cost (each compares values of one type, which Python's
    # sort specialises); rows are never compared.
    out: list[Change] = []
    for _, run in groupby(sorted(changes, key=_table_of), _table_of):
        out += sorted(run, key=_key_of)
    return out


def changes_digest(changes: Sequence[Change], *, ordered: bool = False) -> bytes:
    """SHA-256 (domain CHANGES) over the canonical list of changes, sorted by table and key.

    Order: see :func:`ordered_changes` (``ordered``: ``changes`` are in it already). Each
    change is ``[table, key, row]``, rows are arrays of integers, strings and null (or null
    for a deleted row). The usual path is C throughout: one ``type`` pass over every key and
    row value, then orjson (whose 53-bit integer limit is the canonical one); anything else
    (a float, a bool, a big integer, a lone surrogate) takes the checked path, which raises
    the precise error.
    """
    in_order = changes if ordered else ordered_changes(changes)
    keys = list(map(_key_of, in_order))
    rows = list(filter(_is_row, map(_row_of, in_order)))
    values = chain(chain.from_iterable(keys), chain.from_iterable(rows))
    if (_ONLY_TUPLE.issuperset(map(type, keys)) and _ONLY_TUPLE.issuperset(map(type, rows))
            and _FLAT_TYPES.issuperset(map(type, values))):
        try:
            # default=tuple: orjson writes a Change (a tuple subclass) as its plain tuple
            return digest(Domain.CHANGES, orjson.dumps(in_order, default=tuple,
                                                       option=_FLAT_OPTIONS))
        except orjson.JSONEncodeError:  # an integer beyond 53 bits, a lone surrogate
            pass
    return _changes_digest_checked(in_order)


_FLAT_TYPES = frozenset((int, str, type(None)))
_ONLY_TUPLE = frozenset((tuple,))
_FLAT_OPTIONS = orjson.OPT_STRICT_INTEGER
_table_of = itemgetter(0)
_key_of = itemgetter(1)
_row_of = itemgetter(2)
_is_row = partial(is_not, None)


def _changes_digest_checked(ordered: Sequence[Change]) -> bytes:
    items = []
    for c in ordered:
        if type(c.key) is not tuple:
            raise EncodingError(f"a key of {c.table} is not a tuple", code="not_canonical")
        _check_flat(c.key)
        if c.row is not None:
            if type(c.row) is not tuple:
                raise EncodingError(f"a row of {c.table} is not a tuple of values",
                                    code="not_canonical")
            _check_flat(c.row)
        items.append([c.table, list(c.key), None if c.row is None else list(c.row)])
    return digest(Domain.CHANGES, canonical_flat_rows(items))


def _check_flat(values: Iterable[Any]) -> None:
    for value in values:
        kind = type(value)
        if kind is int:
            if not -json_int_max <= value <= json_int_max:
                raise EncodingError(f"row value {value} is outside +-(2**53-1)",
                                    code="integer_out_of_range")
        elif kind is not str and value is not None:
            raise EncodingError(f"row value of type {kind.__name__} is not allowed",
                                code="not_canonical")


def next_state(previous: bytes, changes: Sequence[Change], *, ordered: bool = False) -> bytes:
    """The state commitment after a block: H(0x12 || previous || changes_digest)."""
    return digest(Domain.STATE, previous + changes_digest(changes, ordered=ordered))
