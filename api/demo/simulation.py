"""The demo's day-by-day behaviour: who buys, redeems, swaps and settles, and when."""

from __future__ import annotations

import hashlib
import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from api.client.client import record_ttl_ms_default
from api.demo.district import (
    CHAIN,
    DAY_MS,
    MEMBERS,
    MERCHANTS,
    REFUND_PERCENT,
    RETURN_DAYS,
    START_MS,
    MerchantSpec,
)
from api.node.runtime import Node
from exchange import queries
from exchange import records as rec
from exchange.limits import offer_window_ms_max
from exchange.state.state import State
from ledger.consensus.clock import ManualClock
from ledger.crypto.keys import SigningKey
from ledger.wire.record import Record, sign_body

Tick = Callable[[int, int, str], None]  # (days done, days, what)
#: A record refused: its code, and whether it was refused at submission (it then took no
#: sequence number) rather than left out of its block.
Refusal = tuple[str, bool]
HOUR_MS = 3_600_000
SESSIONS_H = (10, 13, 16, 19)  # when customers shop, Beijing time
SPEC = {m.program: m for m in MERCHANTS}
WITHDRAW_DAY = 14
#: A session's records expire this long after it sends them (what the client does).
SESSION_TTL_MS = record_ttl_ms_default


def offer_id(item: str) -> str:
    """The offer id of a menu item: ``IMAX ticket`` -> ``imax-ticket``."""
    return re.sub(r"[^a-z0-9]+", "-", item.lower()).strip("-")[:40].strip("-")


def derive_key(seed: int, label: str) -> SigningKey:
    """A key fixed by the seed and a label (demo only: real keys are random)."""
    digest = hashlib.sha256(f"jifentong-demo:{seed}:{label}".encode()).digest()
    return SigningKey.from_seed(digest)


@dataclass
class Summary:
    """What the demo built."""

    records: int = 0
    rejected: dict[str, int] = field(default_factory=dict)
    blocks: int = 0
    customers: int = 0
    days: int = 0


class Session(Protocol):
    """Where the district's sessions go: the in-process consortium (:class:`InProcess`) or a
    local cluster of member nodes (``api.demo.through_cluster.ThroughCluster``)."""

    def view(self) -> State:
        """The committed state, to decide what customers do next."""
        ...

    def commit(self, records: Sequence[Record], at_ms: int) -> list[Refusal | None]:
        """Commit ``records`` in blocks stamped ``at_ms``; for each, None (committed) or
        its refusal."""
        ...

    def totals(self) -> tuple[int, int]:
        """(blocks, records) on the chain."""
        ...


class InProcess:
    """The in-process consortium of one data dir, its clock set to each session's time."""

    def __init__(self, node: Node, clock: ManualClock) -> None:
        self.node, self.clock = node, clock

    def view(self) -> State:
        return self.node.view

    def commit(self, records: Sequence[Record], at_ms: int) -> list[Refusal | None]:
        self.clock.set(at_ms)
        errors = self.node.submit_many(records)
        self.node.produce_now()
        out: list[Refusal | None] = []
        for record, error in zip(records, errors, strict=True):
            outcome = self.node.outcome(record.id) if error is None else None
            out.append((error.code, True) if error is not None else
                       (outcome.code, False) if outcome is not None and outcome.code else None)
        return out

    def totals(self) -> tuple[int, int]:
        return self.node.replica.height, self.node.replica.total


class District:
    """Keeps each key's sequence numbers and submits the records of one session at a time."""

    def __init__(self, session: Session, seed: int) -> None:
        self.session, self.seed = session, seed
        self.seqs: dict[str, int] = {}
        self.pending: list[tuple[list[SigningKey], Callable[..., dict[str, Any]],
                                 tuple[Any, ...], dict[str, Any], list[str]]] = []
        self.summary = Summary()
        self.members = [derive_key(seed, f"member:{m.id}") for m in MEMBERS]
        self.merchants = {m.program: derive_key(seed, f"merchant:{m.id}") for m in MERCHANTS}

    @property
    def view(self) -> State:
        return self.session.view()

    def seq(self, key: SigningKey) -> int:
        self.seqs[key.public_hex] = self.seqs.get(key.public_hex, 0) + 1
        return self.seqs[key.public_hex]

    def add(self, keys: list[SigningKey], build: Callable[..., dict[str, Any]],
            *args: Any, **kwargs: Any) -> list[str]:
        """Queue ``build(*args, **kwargs)`` (an ``exchange.records`` builder) signed by
        ``keys``: like a till, the session signs it when it sends it, ``expires`` counted
        from that moment (:data:`SESSION_TTL_MS`). Returns a list that receives the
        record's id once the session sends it."""
        ticket: list[str] = []
        self.pending.append((keys, build, args, kwargs, ticket))
        return ticket

    def vote(self, build: Callable[..., dict[str, Any]], *args: Any) -> None:
        """A governance record signed by three of the four members (the threshold)."""
        voters = self.members[:3]
        self.add(voters, build, CHAIN, [k.public_hex for k in voters], self.seq(voters[0]),
                 *args)

    def flush(self, at_ms: int) -> None:
        """Sign and submit this session's records and commit them in blocks stamped
        ``at_ms``. A record refused at submission gives its sequence number back when it was
        its signer's last."""
        records = []
        for keys, build, args, kwargs, ticket in self.pending:
            records.append(sign_body(build(*args, expires=at_ms + SESSION_TTL_MS, **kwargs),
                                     keys))
            ticket.append(records[-1].id)
        self.pending = []
        for record, refusal in zip(records, self.session.commit(records, at_ms), strict=True):
            if refusal is not None:
                self._count(refusal[0])
                if refusal[1] and self.seqs.get(record.signers[0]) == record.seq:
                    self.seqs[record.signers[0]] -= 1
        self.summary.blocks, self.summary.records = self.session.totals()

    def _count(self, code: str) -> None:
        self.summary.rejected[code] = self.summary.rejected.get(code, 0) + 1


def _cap(m: MerchantSpec) -> int:
    """Issuance cap: 500,000 yuan of redemption value."""
    return 50_000_000 * m.rate // 100


class Simulation:
    """A month in the district."""

    def __init__(self, district: District, rng: random.Random, customers: int, days: int,
                 tick: Tick | None) -> None:
        self.d, self.rng, self.days, self.tick = district, rng, days, tick
        self.customers = [derive_key(district.seed, f"customer:{i}") for i in range(customers)]
        self.favourites = [self._pick_favourites(0) for _ in self.customers]
        self.orders = 0
        self.returns = random.Random(district.seed + 1)  # own stream: purchases stay as they were
        self.refunds: dict[int, list[tuple[str, list[str]]]] = {}  # day -> [(program, issue)]

    def _pick_favourites(self, day: int) -> list[str]:
        open_now = [m.program for m in MERCHANTS if m.joins_day <= day]
        return self.rng.sample(open_now, k=self.rng.choice((2, 2, 3, 4)))

    def run(self) -> None:
        self.admit([m for m in MERCHANTS if m.joins_day == 0], START_MS + 8 * HOUR_MS)
        for day in range(self.days):
            self.one_day(day)
            if self.tick:
                self.tick(day + 1, self.days, f"day {day + 1}: {self.d.summary.records} records")

    def admit(self, merchants: list[MerchantSpec], at_ms: int) -> None:
        d = self.d
        for m in merchants:
            key = d.merchants[m.program]
            d.add([key], rec.apply_merchant, CHAIN, key.public_hex, d.seq(key), m.id, m.name,
                  m.description, m.category, m.area, m.address, m.contact)
        d.flush(at_ms)
        for m in merchants:
            d.vote(rec.admit_merchant, m.id)
        d.flush(at_ms + 60_000)
        for m in merchants:
            key = d.merchants[m.program]
            d.add([key], rec.create_program, CHAIN, key.public_hex, d.seq(key), m.id, m.program,
                  m.program_name, m.rate, m.expiry_days, _cap(m),
                  m.transferable, daily_in_cap=_cap(m) // 10,
                  return_days=RETURN_DAYS.get(m.program, 0))
        d.flush(at_ms + 120_000)
        # swap rules can only name programs that exist: set them once everyone is open
        open_now = {p["code"] for p in queries.programs(d.view)}
        for m in MERCHANTS:
            if m.program in open_now and set(m.accepts) & {x.program for x in merchants}:
                key = d.merchants[m.program]
                d.add([key], rec.update_program, CHAIN, key.public_hex, d.seq(key), m.program,
                      m.program_name, _cap(m), m.transferable, 1, 1,
                      _cap(m) // 10,
                      [c for c in m.accepts if c in open_now])
        d.flush(at_ms + 180_000)
        self.publish_offers(merchants, at_ms + 240_000)

    def publish_offers(self, merchants: list[MerchantSpec], at_ms: int) -> None:
        """Each new merchant offers its menu, priced at its posted rate, for the rest of the
        year that starts with the demo (the longest window an offer may have)."""
        d = self.d
        until = START_MS + offer_window_ms_max
        for m in merchants:
            key = d.merchants[m.program]
            for item, yuan in m.menu:
                d.add([key], rec.offer, CHAIN, key.public_hex, d.seq(key), m.program,
                      offer_id(item), item, yuan * m.rate, m.area, at_ms, until)
        d.flush(at_ms)

    def one_day(self, day: int) -> None:
        d, base = self.d, START_MS + day * DAY_MS
        if day == 3:  # Burger Palace: 20% bonus on swaps in from Village Kitchen, days 10-16
            key = d.merchants["bp"]
            d.add([key], rec.promote, CHAIN, key.public_hex, d.seq(key), "bp", "vk", 2000,
                  START_MS + 10 * DAY_MS, START_MS + 17 * DAY_MS)
        if day == 8:  # Bamboo Café posts a new rate; it takes effect after 7 days' notice
            key = d.merchants["bc"]
            d.add([key], rec.post_rate, CHAIN, key.public_hex, d.seq(key), "bc", 200)
        if day == WITHDRAW_DAY:  # Burger Palace's milkshake machine breaks: offer withdrawn
            key = d.merchants["bp"]
            d.add([key], rec.withdraw_offer, CHAIN, key.public_hex, d.seq(key), "bp",
                  offer_id("milkshake"))
        self.refund(day)
        if day == 15:
            joining = [m for m in MERCHANTS if m.joins_day == 15]
            self.admit(joining, base + 8 * HOUR_MS)
            for i in self.rng.sample(range(len(self.customers)), len(self.customers) // 4):
                self.favourites[i].append("st")
        for hour in SESSIONS_H:
            for i, customer in enumerate(self.customers):
                self.act(day, i, customer)
            d.flush(base + hour * HOUR_MS + self.rng.randrange(0, 600_000))
        if day % 7 == 6:
            self.settle(day, base + 21 * HOUR_MS)

    def act(self, day: int, i: int, customer: SigningKey) -> None:
        roll = self.rng.random()
        if roll < 0.07:
            self.purchase(day, i, customer)
        elif roll < 0.085:
            self.redeem(day, customer)
        elif roll < 0.097:
            self.swap(i, customer)
        elif roll < 0.1:
            self.give(customer)

    def purchase(self, day: int, i: int, customer: SigningKey) -> None:
        d = self.d
        code = self.rng.choice(self.favourites[i])
        m = SPEC[code]
        spend = self.rng.randint(15, 150)
        points = spend * m.rate * m.earn_percent // 100
        key = d.merchants[code]
        self.orders += 1
        ticket = d.add([key], rec.issue, CHAIN, key.public_hex, d.seq(key), code,
                       customer.public_hex, points,
                       f"{code.upper()}-{day + 1:02d}-{self.orders:05d} ¥{spend}")
        window = RETURN_DAYS.get(code, 0)
        if window and self.returns.randrange(100) < REFUND_PERCENT:
            back = day + self.returns.randint(1, window - 1)
            self.refunds.setdefault(back, []).append((code, ticket))

    def refund(self, day: int) -> None:
        """The purchases returned today: their issuers void the still-pending points."""
        d = self.d
        for code, ticket in self.refunds.pop(day, []):
            key = d.merchants[code]
            d.add([key], rec.void_issue, CHAIN, key.public_hex, d.seq(key), ticket[0], "refund")

    def holdings(self, customer: SigningKey) -> dict[str, int]:
        found = queries.balances(self.d.view, customer.public_hex)["holdings"]
        return {h["program"]: h["balance"] for h in found if h["balance"] > 0}

    def redeem(self, day: int, customer: SigningKey) -> None:
        held = self.holdings(customer)
        choices = [(code, item, price * SPEC[code].rate) for code, balance in held.items()
                   for item, price in SPEC[code].menu if price * SPEC[code].rate <= balance]
        if not choices:
            return
        code, item, amount = self.rng.choice(choices)
        self.orders += 1
        d = self.d
        d.add([customer], rec.redeem, CHAIN, customer.public_hex, d.seq(customer), code, amount,
              f"{code.upper()}-{day + 1:02d}-{self.orders:05d} {item}")

    def swap(self, i: int, customer: SigningKey) -> None:
        held = self.holdings(customer)
        if not held:
            return
        give = self.rng.choice(sorted(held))
        targets = [m.program for m in MERCHANTS if give in m.accepts]
        wanted = [t for t in targets if t in self.favourites[i]] or targets
        if not wanted:
            return
        get = self.rng.choice(wanted)
        amount = max(held[give] // 2, min(held[give], 100))
        quote = queries.quote(self.d.view, give, amount, get, customer.public_hex)
        if quote["code"] != "ok" or quote["out"] <= 0:
            return
        d = self.d
        d.add([customer], rec.swap, CHAIN, customer.public_hex, d.seq(customer), give, amount, get,
              quote["out"], quote["give_version"], quote["get_version"])

    def give(self, customer: SigningKey) -> None:
        held = {c: b for c, b in self.holdings(customer).items() if SPEC[c].transferable}
        if not held:
            return
        code = self.rng.choice(sorted(held))
        friend = self.rng.choice(self.customers)
        if friend is customer:
            return
        d = self.d
        d.add([customer], rec.transfer, CHAIN, customer.public_hex, d.seq(customer), code,
              friend.public_hex, max(1, held[code] // 3), "for you")

    def settle(self, day: int, at_ms: int) -> None:
        d = self.d
        keys = {m.id: d.merchants[m.program] for m in MERCHANTS}
        for payment in queries.statement(d.view)["payments"]:
            payer, payee = keys[payment["payer"]], keys[payment["payee"]]
            d.add([payer, payee], rec.settle, CHAIN, payer.public_hex, payee.public_hex,
                  d.seq(payer), payment["payer"], payment["payee"], payment["amount_fen"],
                  f"week {day // 7 + 1} bank transfer")
        d.flush(at_ms)
