"""Tests of ledger.chain.block and ledger.wire.hashing: header hash, Merkle root over record ids."""

from __future__ import annotations

import dataclasses
import hashlib
import json

import pytest

from ledger.chain import merkle
from ledger.chain.block import Block, Header, records_root
from ledger.crypto.keys import SigningKey
from ledger.errors import StoreError
from ledger.wire.canonical import canonical_bytes
from ledger.wire.hashing import Domain, digest
from ledger.wire.record import Record, make_body, sign_body

#: ``expires`` of the records built here: half an hour after the tests' genesis time.
EXPIRES = 1_700_000_000_000 + 1_800_000

KEY = SigningKey.from_seed(b"\x09" * 32)


def _records(count: int) -> tuple[Record, ...]:
    return tuple(sign_body(make_body("test-chain", "counter.add", [KEY.public_hex], seq,
                                     {"name": "a", "by": seq}, expires=EXPIRES), [KEY])
                 for seq in range(1, count + 1))


def _header(records: tuple[Record, ...], **changes: object) -> Header:
    header = Header(chain="test-chain", height=1, prev="ab" * 32, time_ms=1_700_000_000_001,
                    records=len(records), total=len(records),
                    root=records_root(records).hex(), state="cd" * 32, validators="ef" * 32,
                    proposer=KEY.public_hex)
    return dataclasses.replace(header, **changes)  # type: ignore[arg-type]


def test_domain_prefixes_are_distinct_single_bytes() -> None:
    values = [d.value for d in Domain]
    assert len(set(values)) == len(values)
    assert Domain.MERKLE_LEAF == 0x00 and Domain.MERKLE_NODE == 0x01
    assert {d.name: d.value for d in Domain} == {
        "MERKLE_LEAF": 0x00, "MERKLE_NODE": 0x01, "RECORD": 0x10, "HEADER": 0x11,
        "STATE": 0x12, "VALIDATOR_SET": 0x13, "CHECKPOINT": 0x14, "GENESIS": 0x15,
        "CHANGES": 0x16, "REFUSAL": 0x17,
    }
    for domain in Domain:
        assert digest(domain, b"x") == hashlib.sha256(bytes([domain]) + b"x").digest()


def test_header_hash_is_sha256_of_0x11_and_canonical_header() -> None:
    header = _header(_records(3))
    assert header.encoded == canonical_bytes(header.to_json())
    assert header.hash == hashlib.sha256(b"\x11" + header.encoded).digest()
    assert list(json.loads(header.encoded)) == [
        "chain", "height", "prev", "proposer", "records", "root", "state", "time", "total",
        "validators"]


def test_header_json_round_trip() -> None:
    header = _header(_records(2))
    again = Header.from_json(json.loads(header.encoded))
    assert again == header and again.hash == header.hash
    assert header.to_json()["time"] == header.time_ms


@pytest.mark.parametrize("missing", ["chain", "height", "prev", "time", "records", "total",
                                     "root", "state", "validators", "proposer"])
def test_header_missing_a_field_is_malformed(missing: str) -> None:
    obj = _header(_records(1)).to_json()
    del obj[missing]
    with pytest.raises(StoreError):
        Header.from_json(obj)


@pytest.mark.parametrize("field", ["height", "prev", "time_ms", "records", "total", "root",
                                   "state", "validators", "proposer", "chain"])
def test_every_header_field_changes_the_hash(field: str) -> None:
    header = _header(_records(1))
    value = getattr(header, field)
    other = value + 1 if isinstance(value, int) else value[:-1] + ("0" if value[-1] != "0"
                                                                     else "1")
    assert dataclasses.replace(header, **{field: other}).hash != header.hash


def test_records_root_is_rfc9162_root_over_record_ids() -> None:
    records = _records(5)
    leaves = [hashlib.sha256(b"\x00" + r.id_bytes).digest() for r in records]
    assert records_root(records) == merkle.root_from_leaf_hashes(leaves)
    assert records_root(records[:1]) == leaves[0]
    assert records_root(records[:2]) == hashlib.sha256(b"\x01" + leaves[0] + leaves[1]).digest()
    assert records_root(()) == hashlib.sha256(b"").digest() == merkle.EMPTY_ROOT


def test_block_contents_match_header() -> None:
    records = _records(4)
    Block(_header(records), records).check_contents()
    Block(_header(()), ()).check_contents()


def test_block_with_a_record_dropped_fails_its_header() -> None:
    records = _records(4)
    with pytest.raises(StoreError, match="records"):
        Block(_header(records), records[:3]).check_contents()


def test_block_with_records_reordered_fails_its_merkle_root() -> None:
    records = _records(4)
    reordered = (records[1], records[0], *records[2:])
    with pytest.raises(StoreError, match="Merkle root"):
        Block(_header(records), reordered).check_contents()


def test_block_with_a_record_replaced_fails_its_merkle_root() -> None:
    records = _records(4)
    other = _records(5)[4]
    with pytest.raises(StoreError, match="Merkle root"):
        Block(_header(records), (*records[:3], other)).check_contents()
