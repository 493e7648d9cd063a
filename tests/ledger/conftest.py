"""Fixtures of the ledger tests: seeded keys, a genesis, counter records, consortia, snapshots.

Every key comes from a fixed seed, every clock is a ManualClock, so a failure replays exactly.
Fixtures that build things return plain callables, so tests need not import this module.
"""

from __future__ import annotations

import dataclasses
import hashlib
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from ledger.application import BlockContext, ValidatorInfo, next_state
from ledger.chain.block import Block, Header, records_root
from ledger.chain.genesis import Genesis, validator_set_hash
from ledger.consensus.clock import ManualClock
from ledger.consensus.consortium import Consortium
from ledger.consensus.replica import Replica
from ledger.counter import CounterApp
from ledger.crypto.keys import SigningKey
from ledger.wire.record import Record, make_body, sign_body

from .vectors import VECTORS_DIR, missing

#: ``expires`` of the records built here: half an hour after the tests' genesis time.
EXPIRES = 1_700_000_000_000 + 1_800_000

CHAIN = "test-chain"
GENESIS_MS = 1_700_000_000_000


def seed_key(n: int) -> SigningKey:
    """The key whose RFC 8032 seed is 32 bytes of ``n``."""
    return SigningKey.from_seed(bytes([n]) * 32)


def make_genesis(keys: list[SigningKey], app: dict[str, Any] | None = None) -> Genesis:
    validators = tuple(ValidatorInfo(f"v{i}", k.public_hex) for i, k in enumerate(keys))
    return Genesis(CHAIN, GENESIS_MS, validators, app=app or {})


@pytest.fixture(scope="session")
def vectors_dir() -> Path:
    """The ../shared/vectors folder beside the checkout (absent: skipped, under CI failed)."""
    if not VECTORS_DIR.is_dir():
        missing("conformance vectors", VECTORS_DIR)
    return VECTORS_DIR


@pytest.fixture(scope="session")
def validator_keys() -> list[SigningKey]:
    """Four validator keys, seeds 0x01..0x04 repeated."""
    return [seed_key(n) for n in (1, 2, 3, 4)]


@pytest.fixture(scope="session")
def user() -> SigningKey:
    """A customer key (seed b"u" * 32)."""
    return SigningKey.from_seed(b"u" * 32)


@pytest.fixture
def genesis(validator_keys: list[SigningKey]) -> Genesis:
    return make_genesis(validator_keys)


@pytest.fixture
def add(user: SigningKey) -> Callable[..., Record]:
    """``add(by=1, name="a", key=user, seq=None, chain=CHAIN, expires=EXPIRES)``: a signed
    ``counter.add``.

    ``seq`` defaults to one more than the last this fixture gave the same key; ``expires``
    to half an hour after the genesis time (the manual clocks move 1 ms a block).
    """
    last: dict[str, int] = {}

    def make(by: int = 1, name: str = "a", key: SigningKey = user, seq: int | None = None,
             chain: str = CHAIN, expires: int = EXPIRES) -> Record:
        if seq is None:
            seq = last.get(key.public_hex, 0) + 1
        last[key.public_hex] = max(seq, last.get(key.public_hex, 0))
        body = make_body(chain, "counter.add", [key.public_hex], seq, {"name": name, "by": by},
                         expires=expires)
        return sign_body(body, [key])

    return make


@pytest.fixture
def make_consortium(tmp_path: Path,
                    validator_keys: list[SigningKey]) -> Iterator[Callable[..., Consortium]]:
    """``make_consortium(n=4, data_dir=tmp_path/"chain", mempool_max=..., genesis=...)``.

    Validators use the first ``n`` seeded keys; the clock is manual (1 ms per read). Every
    consortium made is closed at teardown.
    """
    made: list[Consortium] = []

    def make(n: int = 4, data_dir: Path | None = None, genesis: Genesis | None = None,
             **kwargs: Any) -> Consortium:
        keys = validator_keys[:n]
        consortium = Consortium(data_dir or tmp_path / "chain", genesis or make_genesis(keys),
                                keys, CounterApp, ManualClock(GENESIS_MS, step_ms=1), **kwargs)
        made.append(consortium)
        return consortium

    yield make
    for consortium in made:
        consortium.close()


def table_digests(path: Path) -> dict[str, str]:
    """SHA-256 over every row of every table of one SQLite file, read through a new connection."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        tables = [t for (t,) in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        out = {}
        for table in tables:
            h = hashlib.sha256()
            for row in conn.execute(f"SELECT * FROM [{table}] ORDER BY 1, 2"):
                h.update(repr(row).encode())
            out[table] = h.hexdigest()
        return out
    finally:
        conn.close()


def stored_headers(path: Path) -> list[tuple[int, str, str]]:
    """(height, hash, header) of every block in one SQLite file, by height."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return list(conn.execute("SELECT height, hash, header FROM blocks ORDER BY height"))
    finally:
        conn.close()


@pytest.fixture
def digests() -> Callable[[Path], dict[str, str]]:
    """``digests(path)``: table name -> SHA-256 of all its rows."""
    return table_digests


@pytest.fixture
def headers() -> Callable[[Path], list[tuple[int, str, str]]]:
    """``headers(path)``: the blocks table's (height, hash, header) rows."""
    return stored_headers


@pytest.fixture
def snapshot() -> Callable[[Consortium], Any]:
    """``snapshot(c)``: everything that must not change when a round fails or a record is
    refused: each replica's height, head, state, seqs and counters, every table of every
    store file, and the mempool's length."""

    def take(consortium: Consortium) -> Any:
        replicas = [None if r is None else
                    (r.height, r.head_hash, r.state, dict(r.seqs), dict(r.app.committed))
                    for r in consortium.replicas]
        files = sorted(consortium.data_dir.glob("node-*.sqlite"))
        return replicas, [table_digests(f) for f in files], len(consortium.mempool)

    return take


def forge_block(proposer: Replica, chosen: Sequence[Record], **header: Any) -> Block:
    """The block a byzantine ``proposer`` would send next: ``chosen`` as given (no sequence,
    chain or signature filter), root, count, total and state computed honestly from them by
    the proposer's application, then any header field overridden by ``header``."""
    proposer.discard()
    height, time_ms = proposer.height + 1, header.pop("time_ms", proposer.time_ms + 1)
    execution = proposer.app.execute(BlockContext(proposer.chain, height, time_ms), chosen)
    proposer.app.discard()
    honest = Header(chain=proposer.chain, height=height, prev=proposer.head_hash.hex(),
                    time_ms=time_ms, records=len(chosen), total=proposer.total + len(chosen),
                    root=records_root(chosen).hex(),
                    state=next_state(proposer.state, execution.changes).hex(),
                    validators=validator_set_hash(proposer.validators).hex(),
                    proposer=proposer.key.public_hex if proposer.key else "")
    return Block(dataclasses.replace(honest, **header), tuple(chosen))


@pytest.fixture
def forge() -> Callable[..., Block]:
    """``forge(proposer, chosen, **header_fields)``: see :func:`forge_block`."""
    return forge_block

