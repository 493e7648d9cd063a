"""Fixtures of the exchange tests: seeded keys, a four-member alliance, a block driver.

``Chain`` drives an :class:`ExchangeApp` the way the ledger does (execute a block at a given
time, then commit), signs records with per-signer sequence numbers, and keeps every change in
a dict-of-tables store, so tests can restore a fresh app from it. Every key comes from a
fixed seed and every time is explicit, so a failure replays exactly.

Tests do not import this module (pytest runs in importlib mode): the ``chain`` fixture is
the driver, and the keys are its attributes (``chain.vk``, ``chain.alice``...).
"""

from __future__ import annotations

import hashlib
import inspect
from collections.abc import Callable, Sequence
from typing import Any

import pytest

from exchange import records as R
from exchange.app import ExchangeApp
from exchange.genesis import app_genesis
from exchange.limits import day_ms
from exchange.state.tables import as_row
from ledger.application import BlockContext, Change, Execution, Row
from ledger.crypto.keys import SigningKey
from ledger.wire.record import Record, make_body, sign_body

CHAIN = "test-alliance"
T0 = 19_700 * day_ms  # a day boundary (UTC): "day 0" of the tests
HOUR = 3_600_000


def key(name: str) -> SigningKey:
    """The key whose seed is SHA-256 of ``name``."""
    return SigningKey.from_seed(hashlib.sha256(name.encode()).digest())


MEMBERS = [key(f"member-{i}") for i in range(4)]
VALIDATORS = [key(f"validator-{i}") for i in range(4)]
REGULATOR = key("regulator")
VK = key("village-kitchen")
BP = key("burger-palace")
NS = key("noodle-shop")
ALICE = key("alice")
BOB = key("bob")

Store = dict[str, dict[tuple[Any, ...], Row]]


def genesis_doc(**params: int) -> dict[str, Any]:
    members = [{"id": f"m{i}", "name": f"Member {i}", "key": k.public_hex,
                "validator_key": VALIDATORS[i].public_hex} for i, k in enumerate(MEMBERS)]
    return app_genesis(members, {"name": "District Regulator", "key": REGULATOR.public_hex},
                       {"rate_notice_ms": 7 * day_ms, **params})


class Chain:
    """A test driver: signs records, executes and commits blocks, keeps a row store."""

    members, regulator, validators = MEMBERS, REGULATOR, VALIDATORS
    vk, bp, ns, alice, bob = VK, BP, NS, ALICE, BOB
    T0, HOUR, DAY = T0, HOUR, day_ms

    def __init__(self, **params: int) -> None:
        self.app = ExchangeApp()
        self.seqs: dict[str, int] = {}
        self.height = 0
        self.time_ms = T0
        self.store: Store = {}
        self.last: Execution | None = None
        self.genesis = genesis_doc(**params)
        self.blocks: list[tuple[BlockContext, list[Record]]] = []  # every block executed
        self.absorb(self.app.init_chain(CHAIN, T0, self.genesis).changes)

    def rec(self, build: Callable[..., dict[str, Any]], keys: SigningKey | Sequence[SigningKey],
            *args: Any, **kwargs: Any) -> Record:
        """Build with ``build`` (a function of exchange.records) and sign with ``keys``;
        ``expires`` defaults to an hour after the last block (the exchange does not read it:
        the ledger checks it)."""
        keys = [keys] if isinstance(keys, SigningKey) else list(keys)
        first = list(inspect.signature(build).parameters)[1]
        if first == "signers":
            head: tuple[Any, ...] = ([k.public_hex for k in keys],)
        elif first == "payer_key":
            head = (keys[0].public_hex, keys[1].public_hex)
        else:
            head = (keys[0].public_hex,)
        signer = keys[0].public_hex
        self.seqs[signer] = seq = self.seqs.get(signer, 0) + 1
        kwargs.setdefault("expires", self.time_ms + HOUR)
        return sign_body(build(CHAIN, *head, seq, *args, **kwargs), keys)

    def raw(self, type_: str, keys: SigningKey | Sequence[SigningKey],
            payload: dict[str, Any]) -> Record:
        """A record of any type and payload (for malformed and unknown records)."""
        keys = [keys] if isinstance(keys, SigningKey) else list(keys)
        signer = keys[0].public_hex
        self.seqs[signer] = seq = self.seqs.get(signer, 0) + 1
        return sign_body(make_body(CHAIN, type_, [k.public_hex for k in keys], seq, payload,
                                   expires=self.time_ms + HOUR), keys)

    def block(self, *records: Record, at: int | None = None, step_ms: int = 1000) -> list[str]:
        """Execute one block (at ``at`` or ``step_ms`` after the last) and commit it."""
        self.height += 1
        self.time_ms = at if at is not None else self.time_ms + step_ms
        ctx = BlockContext(CHAIN, self.height, self.time_ms)
        self.blocks.append((ctx, list(records)))
        self.last = self.app.execute(ctx, list(records))
        self.app.commit()
        self.absorb(self.last.changes)
        return self.last.codes

    def one(self, record: Record, **kwargs: Any) -> str:
        """Execute a block of one record; its code."""
        return self.block(record, **kwargs)[0]

    def absorb(self, changes: Sequence[Change]) -> None:
        """Keep the rows as the store would, each as {column: value} (as restore reads it)."""
        for change in changes:
            table = self.store.setdefault(change.table, {})
            if change.row is None:
                table.pop(change.key, None)
            else:
                table[change.key] = as_row(change.table, change.row)

    def rows(self, table: str) -> list[Row]:
        return [row for _, row in sorted(self.store.get(table, {}).items())]

    def snapshot(self) -> dict[str, list[Row]]:
        """Every restorable row except the block counters: 'the state' for comparisons."""
        restorable = {spec.name for spec in self.app.tables() if spec.restore}
        snap = {name: self.rows(name) for name in sorted(restorable)}
        snap["x_params"] = [r for r in snap["x_params"] if not r["name"].startswith("last_")]
        return snap

    def balance(self, account: SigningKey | str, program: str) -> int:
        pub = account if isinstance(account, str) else account.public_hex
        row = self.store.get("x_balances", {}).get((pub, program))
        return row["balance"] if row else 0

    def program(self, code: str) -> Row:
        return self.store["x_programs"][(code,)]

    def vote(self, build: Callable[..., dict[str, Any]], *args: Any, n: int = 3) -> str:
        """A governance record signed by the first ``n`` members, in a block of its own."""
        return self.one(self.rec(build, MEMBERS[:n], *args))


def open_alliance(chain: Chain) -> Chain:
    """Village Kitchen (rate 100, 30-day expiry) and Burger Palace (rate 1000, accepts VK)."""
    codes = chain.block(
        chain.rec(R.apply_merchant, VK, "village-kitchen", "Village Kitchen",
                  "Home cooking", "restaurant", "Old Town", "1 Market St", "vk@example.cn"),
        chain.rec(R.apply_merchant, BP, "burger-palace", "Burger Palace",
                  "Burgers", "fast food", "Old Town", "3 Market St", "bp@example.cn"))
    assert codes == ["ok", "ok"]
    assert chain.vote(R.admit_merchant, "village-kitchen") == "ok"
    assert chain.vote(R.admit_merchant, "burger-palace") == "ok"
    codes = chain.block(
        chain.rec(R.create_program, VK, "village-kitchen", "vk", "乡村基积分", 100, 30, 10**9),
        chain.rec(R.create_program, BP, "burger-palace", "bp", "汉堡宫积分", 1000, 0, 10**10,
                  accepts=["vk"]))
    assert codes == ["ok", "ok"]
    return chain


@pytest.fixture
def chain() -> Chain:
    """A fresh alliance of four members (threshold 3 of 4), no merchants."""
    return Chain()


@pytest.fixture
def alliance() -> Chain:
    """The alliance with Village Kitchen and Burger Palace admitted and their programs open."""
    return open_alliance(Chain())


@pytest.fixture
def new_chain() -> Callable[..., Chain]:
    """``new_chain(**params)``: a fresh alliance with genesis parameters overridden."""
    return Chain


@pytest.fixture
def open_programs() -> Callable[[Chain], Chain]:
    """``open_programs(chain)``: admit VK and BP and open their programs on ``chain``."""
    return open_alliance
