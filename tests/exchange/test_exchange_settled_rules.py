"""Rules issue 20 settled in ECONOMICS.md, held to the code: a netted settle's booking (§9),
the ends of a promotion window (§7: ``[start_ms, end_ms)``) and the moment a lot lapses (§5:
the first block at or after the start of day d + n + 1).

Records are built here with the builders and an explicit ``expires`` (independent of the
shared fixtures), on a one-member alliance of three merchants.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from exchange import records as R
from exchange.app import ExchangeApp
from exchange.genesis import app_genesis
from exchange.limits import day_ms
from ledger.application import BlockContext
from ledger.crypto.keys import SigningKey
from ledger.wire.record import Record, sign_body

CHAIN, T0 = "netting", 19_700 * day_ms
EXPIRES = T0 + day_ms
YUAN_8 = 8_000_000  # µ¥


def _key(name: str) -> SigningKey:
    return SigningKey.from_seed(hashlib.sha256(name.encode()).digest())


class Alliance:
    """One member, merchants vk, bp, ns (programs of the same codes), one customer."""

    def __init__(self) -> None:
        self.member, self.alice = _key("member"), _key("alice")
        self.keys = {m: _key(m) for m in ("vk", "bp", "ns")}
        self.app = ExchangeApp()
        self.app.init_chain(CHAIN, T0, app_genesis(
            [{"id": "m0", "name": "Member", "key": self.member.public_hex,
              "validator_key": _key("validator").public_hex}],
            {"name": "Regulator", "key": _key("regulator").public_hex}, {}))
        self.height = 0
        self.seqs: dict[str, int] = {}
        for m in self.keys:
            assert self.block(self.signed(R.apply_merchant, [self.keys[m]], m, m)) == ["ok"]
            assert self.block(self.signed(R.admit_merchant, [self.member], m)) == ["ok"]
        accepts = {"vk": [], "bp": ["vk"], "ns": ["bp"]}
        for m, rate, expiry_days in (("vk", 100, 30), ("bp", 1000, 0), ("ns", 100, 0)):
            assert self.block(self.signed(R.create_program, [self.keys[m]], m, m, m, rate,
                                          expiry_days, 10**9, accepts=accepts[m])) == ["ok"]

    def signed(self, build: Callable[..., dict[str, Any]], keys: list[SigningKey],
               *args: Any, **kwargs: Any) -> Record:
        first = keys[0].public_hex
        self.seqs[first] = seq = self.seqs.get(first, 0) + 1
        head = [k.public_hex for k in keys]
        signers: tuple[Any, ...] = (head,) if build is R.admit_merchant else tuple(head)
        return sign_body(build(CHAIN, *signers, seq, *args, expires=EXPIRES, **kwargs), keys)

    def block(self, *records: Record, at: int | None = None) -> list[str]:
        self.height += 1
        self.time_ms = T0 + self.height * 1000 if at is None else at
        execution = self.app.execute(BlockContext(CHAIN, self.height, self.time_ms),
                                     list(records))
        self.app.commit()
        return execution.codes

    def obligations(self) -> dict[tuple[str, str], tuple[int, int]]:
        return {k: (o.accrued, o.settled) for k, o in self.app.view.obligations.items()}


def test_a_netted_payment_is_booked_on_its_own_pair_and_clears_the_nets() -> None:
    a = Alliance()
    vk, ns, alice = a.keys["vk"], a.keys["ns"], a.alice.public_hex
    assert a.block(a.signed(R.issue, [vk], "vk", alice, 800)) == ["ok"]
    assert a.block(a.signed(R.swap, [a.alice], "vk", 800, "bp", 8000, 1, 1)) == ["ok"]
    assert a.block(a.signed(R.swap, [a.alice], "bp", 8000, "ns", 800, 1, 1)) == ["ok"]
    assert a.obligations() == {("vk", "bp"): (YUAN_8, 0), ("bp", "ns"): (YUAN_8, 0)}
    nets = {m: p.net for m, p in a.app.view.positions.items()}
    assert nets == {"vk": -YUAN_8, "bp": 0, "ns": YUAN_8}

    assert a.block(a.signed(R.settle, [vk, ns], "vk", "ns", 800, "wire-1")) == ["ok"]

    assert a.obligations() == {("vk", "bp"): (YUAN_8, 0), ("bp", "ns"): (YUAN_8, 0),
                               ("vk", "ns"): (0, YUAN_8)}
    assert {m: (p.paid, p.received, p.net) for m, p in a.app.view.positions.items()} == {
        "vk": (YUAN_8, 0, 0), "bp": (0, 0, 0), "ns": (0, YUAN_8, 0)}


def test_a_promotion_pays_from_its_start_and_not_at_its_end() -> None:
    a = Alliance()
    vk, bp, alice = a.keys["vk"], a.keys["bp"], a.alice.public_hex
    start, end = T0 + day_ms // 2, T0 + day_ms // 2 + 60_000
    assert a.block(a.signed(R.issue, [vk], "vk", alice, 400)) == ["ok"]
    assert a.block(a.signed(R.promote, [bp], "bp", "vk", 2500, start, end)) == ["ok"]
    bonuses = []
    for at in (start - 1, start, end - 1, end):
        assert a.block(a.signed(R.swap, [a.alice], "vk", 100, "bp", 1000, 1, 1), at=at) == ["ok"]
        bonuses.append(a.app.view.flows.get(("vk", "bp")).bonus)  # type: ignore[union-attr]
    assert bonuses == [0, 250, 500, 500]  # +25% of 1000 at start and at end - 1 only


def test_a_lot_lapses_in_the_first_block_at_the_start_of_day_d_plus_n_plus_1() -> None:
    a = Alliance()
    vk, alice = a.keys["vk"], a.alice.public_hex
    assert a.block(a.signed(R.issue, [vk], "vk", alice, 500)) == ["ok"]  # day 19,700, n = 30
    lapse_ms = (19_700 + 30 + 1) * day_ms  # day_offset_ms is 0 here
    assert a.app.view.holdings.get((alice, "vk"))[1] == ((lapse_ms, 500),)  # type: ignore[index]
    a.block(at=lapse_ms - 1)
    assert a.app.view.holdings.get((alice, "vk")) is not None
    a.block(at=lapse_ms)
    assert a.app.view.holdings.get((alice, "vk")) is None
    assert a.app.view.programs.get("vk").expired == 500  # type: ignore[union-attr]
