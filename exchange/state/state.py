"""The exchange state: copy-on-write tables over the committed state.

Each :class:`Table` holds the committed rows (``base``) and the block's working overlay
(``work``: key -> new value, ``None`` for deleted). ``execute`` writes only to ``work``;
``commit`` folds it into ``base``; ``discard`` drops it. ``check`` reads through a read-only
view that shares ``base`` and has an empty overlay, so it never sees a half-executed block.

Handlers judge a record with reads only, and write only once every check has passed, so a
rejected record leaves the overlay untouched (TigerBeetle's "validate, then apply").
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any, Generic, Protocol, Self, TypeVar, cast

from exchange.errors import ReadOnlyState
from exchange.state.expiry import ExpiryIndex
from exchange.state.model import (
    Aging,
    Book,
    Due,
    Flow,
    Holding,
    KeyBinding,
    Member,
    Merchant,
    Obligation,
    Offer,
    PendingIssue,
    Position,
    Program,
    Promotion,
    RateVersion,
    Settlement,
)


class SortableKey(Protocol):
    """A table key: ordered, so that changes come out in key order."""

    def __lt__(self, other: Any, /) -> bool: ...


class Copyable(Protocol):
    """A row that :meth:`Table.edit` can copy before the block mutates it."""

    def copy(self) -> Self: ...


K = TypeVar("K", bound=SortableKey)
V = TypeVar("V")
C = TypeVar("C", bound=Copyable)

_MISSING: Any = object()


class Table(Generic[K, V]):
    """A dict of committed values with a per-block overlay of new values (None = deleted)."""

    __slots__ = ("base", "name", "readonly", "work")

    def __init__(self, name: str, base: dict[K, V] | None = None, readonly: bool = False) -> None:
        self.name = name
        self.base: dict[K, V] = {} if base is None else base
        self.work: dict[K, V | None] = {}
        self.readonly = readonly

    def get(self, key: K) -> V | None:
        """The value as the block sees it: the overlay's if written, else the committed one."""
        value = self.work.get(key, _MISSING)
        if value is _MISSING:
            return self.base.get(key)
        return value

    def put(self, key: K, value: V | None) -> None:
        """Write ``value`` (or delete with None) in the overlay."""
        if self.readonly:
            raise ReadOnlyState(f"write to {self.name} through the committed view")
        self.work[key] = value

    def edit(self: Table[K, C], key: K) -> C:
        """The overlay's own copy of an existing value, to mutate in place (copy on write)."""
        if self.readonly:
            raise ReadOnlyState(f"edit of {self.name} through the committed view")
        value: C | None = self.work.get(key, _MISSING)
        if value is _MISSING:
            value = self.base[key].copy()
            self.work[key] = value
        if value is None:
            raise KeyError(f"{self.name}: {key!r} was deleted in this block")
        return value

    def edit_or_add(self: Table[K, C], key: K, factory: Callable[[], C]) -> C:
        """Like :meth:`edit`, creating the value with ``factory`` when there is none."""
        if self.readonly:
            raise ReadOnlyState(f"edit of {self.name} through the committed view")
        work = self.work
        value: C | None = work.get(key, _MISSING)
        if value is _MISSING:
            found = self.base.get(key)
            value = found.copy() if found is not None else factory()
            work[key] = value
        elif value is None:
            value = work[key] = factory()
        return value

    def count(self) -> int:
        """How many keys hold a value as the block sees it."""
        base, n = self.base, len(self.base)
        for key, value in self.work.items():
            if value is None and key in base:
                n -= 1
            elif value is not None and key not in base:
                n += 1
        return n

    def items(self) -> list[tuple[K, V]]:
        """Every (key, value) as the block sees it, in key order (for small tables only)."""
        keys = sorted(self.base.keys() | self.work.keys())
        pairs = [(key, self.get(key)) for key in keys]
        return [(key, value) for key, value in pairs if value is not None]

    def all_items(self) -> Iterable[tuple[K, V]]:
        """Every (key, value) as the block sees it, in no particular order (whole-table
        checks such as the audit; cheaper than :meth:`items` on large tables)."""
        if not self.work:
            return self.base.items()
        merged = {**self.base, **self.work}
        return [(key, value) for key, value in merged.items() if value is not None]

    def view(self) -> Table[K, V]:
        """A read-only table over the same committed values, with an empty overlay."""
        return Table(self.name, self.base, readonly=True)

    def commit(self) -> None:
        """Fold the overlay into the committed values."""
        base, work = self.base, self.work
        if work:
            base.update(cast(dict[K, V], work))  # the None values go just below
            if None in work.values():
                for key in [key for key, value in work.items() if value is None]:
                    del base[key]
            work.clear()

    def discard(self) -> None:
        """Drop the overlay."""
        self.work.clear()

    def changed(self) -> Iterator[tuple[K, V | None, V | None]]:
        """(key, committed, new) for every overlay entry that differs, in key order."""
        base_get, work = self.base.get, self.work
        for key in sorted(work):  # keys alone: the sort compares them with a specialised compare
            new, old = work[key], base_get(key)
            if new != old:
                yield key, old, new


class State:
    """All tables of the exchange. ``view()`` gives the read-only committed state."""

    NAMES = ("params", "regulator", "members", "merchants", "keys", "programs", "rates",
             "promotions", "holdings", "inbound", "flows", "obligations", "positions",
             "offers", "applications", "pending", "books", "dues", "aging", "settlements")

    def __init__(self, source: State | None = None) -> None:
        def table(name: str) -> Any:
            return getattr(source, name).view() if source is not None else Table(name)

        self.params: Table[str, int] = table("params")
        self.regulator: Table[str, tuple[str, str]] = table("regulator")
        self.members: Table[str, Member] = table("members")
        self.merchants: Table[str, Merchant] = table("merchants")
        self.keys: Table[str, KeyBinding] = table("keys")
        self.programs: Table[str, Program] = table("programs")
        self.rates: Table[tuple[str, int], RateVersion] = table("rates")
        self.promotions: Table[tuple[str, str], tuple[Promotion, ...]] = table("promotions")
        self.holdings: Table[tuple[str, str], Holding] = table("holdings")
        self.inbound: Table[str, tuple[int, int]] = table("inbound")  # (day, amount)
        self.flows: Table[tuple[str, str], Flow] = table("flows")
        self.obligations: Table[tuple[str, str], Obligation] = table("obligations")
        self.positions: Table[str, Position] = table("positions")
        self.offers: Table[str, tuple[Offer, ...]] = table("offers")  # by program, id order
        self.applications: Table[str, int] = table("applications")  # merchant -> lapses_ms
        # Refunds and the issuer's books (exchange.rules.pending, exchange.state.books).
        self.pending: Table[str, PendingIssue] = table("pending")  # by issue record id
        self.books: Table[tuple[str, int, int], Book] = table("books")  # program, day, version
        self.dues: Table[tuple[str, str, int], Due] = table("dues")  # debtor, creditor, day
        self.aging: Table[tuple[str, int, str], Aging] = table("aging")  # program, day, lapses
        self.settlements: Table[tuple[int, int], Settlement] = table("settlements")  # height, idx
        # Lazy indexes (hints checked against the tables; shared with the view, unused there).
        self.expiry: ExpiryIndex = source.expiry if source is not None else ExpiryIndex()
        self.pending_rates: set[str] = source.pending_rates if source is not None else set()
        self.vesting: ExpiryIndex = source.vesting if source is not None else ExpiryIndex()

    def tables(self) -> list[Table[Any, Any]]:
        """Every table, in a fixed order."""
        return [getattr(self, name) for name in self.NAMES]

    def view(self) -> State:
        """The read-only committed state (shares the committed dicts, never the overlay)."""
        return State(self)

    def commit(self) -> None:
        for table in self.tables():
            table.commit()

    def discard(self) -> None:
        for table in self.tables():
            table.discard()

    def param(self, name: str) -> int:
        """A genesis parameter or block counter from the params table."""
        value = self.params.get(name)
        if value is None:
            raise KeyError(f"parameter {name!r} is not set (was init_chain run?)")
        return value
