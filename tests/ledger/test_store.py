"""Tests of ledger.store: schema, genesis, whole-block transactions, stored records."""

from __future__ import annotations

import sqlite3
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.application import Change, ValidatorInfo
from ledger.chain import merkle
from ledger.chain.block import records_root
from ledger.chain.genesis import Genesis
from ledger.consensus.clock import ManualClock
from ledger.consensus.consortium import Consortium
from ledger.consensus.replica import Replica
from ledger.counter import TABLE, CounterApp
from ledger.crypto.keys import SigningKey
from ledger.errors import StoreError
from ledger.store import Store, stored_record
from ledger.wire.record import Record, make_body, sign_body

#: ``expires`` of the records built here: half an hour after the tests' genesis time.
EXPIRES = 1_700_000_000_000 + 1_800_000

LEDGER_TABLES = {"meta", "blocks", "records", "seqs", "validator_sets", "evidence"}


def _single(tmp_path: Path, validator_keys: list[SigningKey], **app: object) -> Replica:
    genesis = Genesis("test-chain", 1_700_000_000_000,
                      (ValidatorInfo("v0", validator_keys[0].public_hex),), app=dict(app))
    return Replica("node-0", tmp_path / "node.sqlite", genesis, CounterApp(), validator_keys[0])


@pytest.fixture
def committed(make_consortium: Callable[..., Consortium],
              add: Callable[..., Record]) -> Consortium:
    """A one-validator consortium with blocks of 1, 3 and 2 records."""
    consortium = make_consortium(n=1)
    for count in (1, 3, 2):
        for _ in range(count):
            consortium.submit(add(2, name="a"))
        consortium.produce_block()
    return consortium


def _store(consortium: Consortium) -> Store:
    replica = consortium.replicas[0]
    assert replica is not None
    return replica.store


def test_schema_holds_ledger_and_application_tables(committed: Consortium) -> None:
    store = _store(committed)
    names = {name for (name,) in store.conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert names == LEDGER_TABLES | {TABLE}
    assert store.meta("schema_version") == "1"
    mode = store.conn.execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_blocks_records_seqs_and_rows_are_stored(committed: Consortium,
                                                 user: SigningKey) -> None:
    store = _store(committed)
    assert store.height() == 3
    assert [store.header(h).records for h in (1, 2, 3)] == [1, 3, 2]  # type: ignore[union-attr]
    assert store.header(4) is None
    assert store.seqs() == {user.public_hex: 6}
    assert list(store.app_rows(TABLE)) == [{"name": "a", "value": 12}]
    assert store.evidence() == []
    count = store.conn.execute("SELECT COUNT(*) FROM records").fetchone()[0]
    assert count == 6
    first = next(store.block_records(2))
    assert store.record_location(first.id) == (2, 0)
    assert store.record_location("00" * 32) is None


def test_stored_record_round_trip(committed: Consortium) -> None:
    store = _store(committed)
    for body, sigs, record_id in store.conn.execute("SELECT body, sigs, id FROM records"):
        record = stored_record(body, sigs)
        assert record.id == record_id
        assert record.body_bytes.decode() == body  # the canonical body is stored as is
        record.verify_signatures()


def test_genesis_is_written_once(tmp_path: Path, validator_keys: list[SigningKey]) -> None:
    replica = _single(tmp_path, validator_keys)
    try:
        genesis = replica.store.genesis()
        assert genesis == replica.genesis
        with pytest.raises(StoreError, match="already holds a genesis"):
            replica.store.write_genesis(replica.genesis, [], b"\x00" * 32)
    finally:
        replica.close()


def test_store_of_another_chain_is_refused(tmp_path: Path,
                                           validator_keys: list[SigningKey]) -> None:
    _single(tmp_path, validator_keys).close()
    with pytest.raises(StoreError, match="another genesis"):
        _single(tmp_path, validator_keys, counters={"a": 1})


def test_unreadable_store_file_is_a_store_error(tmp_path: Path) -> None:
    path = tmp_path / "garbage.sqlite"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError):
        Store(path, CounterApp().tables())


def test_reader_cannot_write(committed: Consortium) -> None:
    reader = _store(committed).reader()
    try:
        with pytest.raises(sqlite3.OperationalError):
            reader.execute("DELETE FROM blocks")
    finally:
        reader.close()


def test_a_block_write_that_fails_midway_leaves_nothing(
        tmp_path: Path, committed: Consortium, validator_keys: list[SigningKey]) -> None:
    """write_block is one transaction: an error after the first INSERTs rolls all back."""
    source = _store(committed)
    block, cert, checkpoint = source.certified_block(1)
    target = _single(tmp_path, validator_keys)
    try:
        store = target.store
        before = [list(store.conn.execute(f"SELECT * FROM {t}")) for t in sorted(LEDGER_TABLES)]
        bad = [Change(TABLE, ("a",), ("a", 2)), Change("no_such_table", (), ())]
        with pytest.raises(KeyError):
            store.write_block(block, cert, checkpoint, bad, {"k": 1}, None)
        narrow = [Change(TABLE, ("a",), ("a", 2)), Change(TABLE, ("b",), ("b",))]
        with pytest.raises(StoreError, match="does not have its 2 columns"):
            store.write_block(block, cert, checkpoint, narrow, {"k": 1}, None)
        after = [list(store.conn.execute(f"SELECT * FROM {t}")) for t in sorted(LEDGER_TABLES)]
        assert after == before
        assert store.height() == 0 and list(store.app_rows(TABLE)) == []

        good = [Change(TABLE, ("a",), ("a", 2))]
        store.write_block(block, cert, checkpoint, good, {"k": 1}, None)
        assert store.height() == 1
        with pytest.raises(sqlite3.IntegrityError):  # the same height twice
            store.write_block(block, cert, checkpoint, good, {"k": 2}, None)
        assert store.height() == 1 and store.seqs() == {"k": 1}
        assert store.certified_block(1) == source.certified_block(1)
    finally:
        target.close()


def test_certified_block_of_a_missing_height_is_a_store_error(committed: Consortium) -> None:
    with pytest.raises(StoreError, match="no block"):
        _store(committed).certified_block(99)


# --- property: the header's Merkle root is the root of the records stored with it ----------

USERS = [SigningKey.from_seed(bytes([0x60 + n]) * 32) for n in range(3)]


@settings(max_examples=12, deadline=None)
@given(blocks=st.lists(st.lists(st.sampled_from(range(3)), min_size=1, max_size=25),
                       min_size=1, max_size=4))
def test_header_root_is_records_root_of_stored_records_property(
        blocks: list[list[int]], validator_keys: list[SigningKey]) -> None:
    key = validator_keys[0]
    genesis = Genesis("test-chain", 1_700_000_000_000, (ValidatorInfo("v0", key.public_hex),))
    with tempfile.TemporaryDirectory() as tmp:
        consortium = Consortium(Path(tmp), genesis, [key], CounterApp, ManualClock(0, 1))
        try:
            seqs = [0, 0, 0]
            for users in blocks:
                for u in users:
                    seqs[u] += 1
                    body = make_body("test-chain", "counter.add", [USERS[u].public_hex],
                                     seqs[u], {"name": f"u{u}", "by": seqs[u]}, expires=EXPIRES)
                    consortium.submit(sign_body(body, [USERS[u]]))
                consortium.produce_block()
            store = _store(consortium)
            assert store.height() == len(blocks)
            for height, users in enumerate(blocks, start=1):
                block, _, _ = store.certified_block(height)
                ids = [bytes.fromhex(i) for (i,) in store.conn.execute(
                    "SELECT id FROM records WHERE height = ? ORDER BY idx", (height,))]
                assert block.header.records == len(block.records) == len(ids) == len(users)
                assert block.header.root == records_root(block.records).hex()
                root = merkle.root_from_leaf_hashes([merkle.leaf_hash(i) for i in ids])
                assert block.header.root == root.hex()
        finally:
            consortium.close()
