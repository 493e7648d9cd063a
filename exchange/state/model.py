"""The in-memory objects of the exchange state, one class per kind of derived row.

Mutable objects (programs, counters) are copied on their first edit in a block, so the
committed state is never touched by ``execute``. Holdings are plain tuples for speed::

    Holding = (balance, ((expires_ms, amount), ...), earned)   # lots oldest first

Lots are the points that lapse; the rest of the balance never does (all of it in a program
with an expiry period; in a program without one, only points a swap brought from a program
whose points lapse have lots, keeping that expiry). ``earned`` is how many of the points
their issuer issued (``exchange.issue``) and no swap minted: the only points a promotion
bonus applies to (ECONOMICS.md section 7). Every debit takes the other points first.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

Lot = tuple[int, int]  # (expires_ms, amount)
Holding = tuple[int, tuple[Lot, ...], int]

ACTIVE = "active"
APPLIED = "applied"
SUSPENDED = "suspended"
CURRENT = "current"
RETIRED = "retired"

MEMBER = "member"
MERCHANT = "merchant"
REGULATOR = "regulator"
VALIDATOR = "validator"  # a member's validator key (owner: the member id)


@dataclass(slots=True)
class Member:
    """An alliance member: votes on governance and (optionally) runs a validator."""

    id: str
    name: str
    pubkey: str
    validator_key: str | None
    status: str
    since_height: int
    changed_height: int

    def copy(self) -> Member:
        return replace(self)


@dataclass(slots=True)
class Merchant:
    """A merchant: applies with a profile, is admitted by vote, issues programs."""

    id: str
    name: str
    description: str
    category: str
    area: str
    address: str
    contact: str
    pubkey: str
    status: str
    applied_height: int
    changed_height: int

    def copy(self) -> Merchant:
        return replace(self)


@dataclass(frozen=True, slots=True)
class KeyBinding:
    """Who a key belongs to (member, validator, merchant or regulator) and whether it is
    current. One key, one role: a key is bound at most once, and a bound key holds no points."""

    kind: str
    owner: str
    status: str
    height: int


@dataclass(slots=True)
class Program:
    """A points program: its terms, posted rate (current and pending) and counters."""

    code: str
    name: str
    issuer: str
    rate: int
    rate_version: int
    pending_rate: int | None
    pending_version: int | None
    pending_ms: int | None
    expiry_days: int
    cap: int
    transferable: bool
    min_in: int
    step_in: int
    daily_in_cap: int
    accepts: tuple[str, ...]
    created_height: int
    supply: int = 0
    issued: int = 0
    promoted: int = 0
    redeemed: int = 0
    swapped_in: int = 0
    swapped_out: int = 0
    expired: int = 0
    return_days: int = 0  # days an issue stays pending and voidable (0 = vests at once)
    pending: int = 0  # issued points not yet vested (and not voided): not spendable
    voided: int = 0  # pending points the issuer voided (refunds)

    def copy(self) -> Program:
        return replace(self)

    def balanced(self) -> bool:
        """supply + pending = issued - voided - redeemed - swapped_out + swapped_in - expired
        (bonus is issued; pending points are issued but not yet in anyone's balance)."""
        return self.supply + self.pending == (self.issued - self.voided - self.redeemed
                                              - self.swapped_out + self.swapped_in
                                              - self.expired)


@dataclass(frozen=True, slots=True)
class RateVersion:
    """One posted rate of a program; version 1 is the rate the program was created with."""

    rate: int
    posted_ms: int
    effective_ms: int
    height: int
    record: str


@dataclass(frozen=True, slots=True)
class Promotion:
    """A receiving issuer's bonus on swaps from one source program during [start, end)."""

    start_ms: int
    end_ms: int
    bonus_bp: int
    height: int
    record: str


@dataclass(frozen=True, slots=True)
class Offer:
    """An issuer's signed redemption offer: ``item`` for ``price`` points, in [from, until).

    A program keeps its open offers (live or still to come); a withdrawn offer is dropped at
    once, an ended one when the program's offers are next written.
    """

    id: str
    item: str
    price: int
    area: str
    valid_from_ms: int
    valid_until_ms: int
    height: int
    record: str

    def live(self, now_ms: int) -> bool:
        """True when the offer can be taken up at ``now_ms``."""
        return self.valid_from_ms <= now_ms < self.valid_until_ms


@dataclass(slots=True)
class Flow:
    """Swaps from one program into another: counts, points and value (µ¥) minted."""

    swaps: int = 0
    given: int = 0
    received: int = 0
    bonus: int = 0
    value: int = 0

    def copy(self) -> Flow:
        return Flow(self.swaps, self.given, self.received, self.bonus, self.value)


@dataclass(slots=True)
class Obligation:
    """What one issuer has come to owe another through swaps, and what it paid it (µ¥)."""

    accrued: int = 0
    settled: int = 0

    def copy(self) -> Obligation:
        return Obligation(self.accrued, self.settled)


@dataclass(slots=True)
class Position:
    """An issuer's settlement position (µ¥); ``net`` > 0 means the alliance owes it."""

    receivable: int = 0
    payable: int = 0
    paid: int = 0
    received: int = 0

    @property
    def net(self) -> int:
        return self.receivable - self.payable + self.paid - self.received

    def copy(self) -> Position:
        return Position(self.receivable, self.payable, self.paid, self.received)


@dataclass(frozen=True, slots=True)
class PendingIssue:
    """The points of one issue during its program's return window, keyed by the issue's id.

    ``void_record`` is the id of the void that cancelled them ("" while pending); a voided
    entry is kept until the window ends so that a second void is named as such.
    """

    account: str
    program: str
    amount: int
    vests_ms: int
    height: int
    void_record: str = ""


@dataclass(slots=True)
class Book:
    """One program's movements on one day at one rate version (points; see exchange.state.books).

    ``vested`` counts points that became spendable (issued at once, vested, swapped in,
    bonus); ``pending`` is the program's pending points after the last block counted here.
    """

    issued: int = 0
    bonus: int = 0
    voided: int = 0
    redeemed: int = 0
    swapped_in: int = 0
    swapped_out: int = 0
    expired: int = 0
    vested: int = 0
    pending: int = 0

    def copy(self) -> Book:
        return replace(self)


@dataclass(slots=True)
class Due:
    """What one issuer came to owe another (accrued) and paid it (settled) on one day (µ¥)."""

    accrued: int = 0
    settled: int = 0

    def copy(self) -> Due:
        return Due(self.accrued, self.settled)


@dataclass(slots=True)
class Aging:
    """One program's points that lapse in one month (or ``never``) added and removed on one
    day (see exchange.state.books): their running sum is the aging at any height."""

    added: int = 0
    removed: int = 0

    def copy(self) -> Aging:
        return Aging(self.added, self.removed)


@dataclass(frozen=True, slots=True)
class Settlement:
    """One ``exchange.settle`` payment, and the obligations standing just before it (µ¥).

    ``owed_before`` is what the payer owed the payee between the two of them (its obligation
    to the payee less the payee's to it; may be negative); ``payer_net_before`` and
    ``payee_net_before`` are their settlement positions (``Position.net``).
    """

    record: str
    day: int
    payer: str
    payee: str
    amount_fen: int
    reference: str
    owed_before: int
    payer_net_before: int
    payee_net_before: int
