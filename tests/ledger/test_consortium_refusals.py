"""The simulated consortium refuses records: a refused record, or non-canonical JSON, leaves
every store unchanged; a full mempool applies backpressure, a duplicate pending record is
refused, and a record rejected at block time gets an outcome with its code."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from ledger.crypto.keys import SigningKey
from ledger.errors import (
    ApplicationRejected,
    Backpressure,
    BadSignature,
    DuplicateRecord,
    EncodingError,
    LedgerError,
    MalformedRecord,
    StaleSequence,
    WrongChain,
)
from ledger.wire.record import Record, make_body, parse_record, sign_body

from .conftest import EXPIRES
from .consortium_kit import Add, Make, Snapshot, commit

# --- records that are refused ------------------------------------------------------------------


OTHER = SigningKey.from_seed(b"\x77" * 32)
Refusal = Callable[[Add, Record], Record]


def _bad_signature(add: Add, first: Record) -> Record:
    record = add()
    return Record(record.body, [OTHER.sign(record.id_bytes)], record.body_bytes)


def _unknown_type(add: Add, first: Record) -> Record:
    user = SigningKey.from_seed(b"u" * 32)  # the add fixture's key
    return sign_body(make_body("test-chain", "counter.reset", [user.public_hex], 9, {},
                               expires=EXPIRES), [user])


REFUSALS: list[tuple[str, Refusal, type[LedgerError], str]] = [
    ("bad signature", _bad_signature, BadSignature, "bad_signature"),
    ("replayed sequence", lambda add, first: add(5, seq=2), StaleSequence, "sequence_replayed"),
    ("committed record again", lambda add, first: first, DuplicateRecord, "duplicate_record"),
    ("other chain", lambda add, first: add(chain="other-chain"), WrongChain, "wrong_chain"),
    ("counter below zero", lambda add, first: add(-100), ApplicationRejected,
     "counter_negative"),
    ("unknown type", _unknown_type, ApplicationRejected, "unknown_record_type"),
]


@pytest.mark.parametrize(("make", "error", "code"),
                         [pytest.param(m, e, c, id=i) for i, m, e, c in REFUSALS])
def test_refused_record_leaves_the_store_unchanged(
        make_consortium: Make, add: Add, snapshot: Snapshot, make: Refusal,
        error: type[LedgerError], code: str) -> None:
    consortium = make_consortium()
    first = add(1)
    commit(consortium, first, add(1), add(1))
    before = snapshot(consortium)
    record = make(add, first)
    with pytest.raises(error) as caught:
        consortium.submit(record)
    assert caught.value.code == code
    assert snapshot(consortium) == before
    assert consortium.produce_block() is None


@pytest.mark.parametrize(("raw", "code"), [
    ("1.5", "float_not_allowed"),
    ("1e3", "float_not_allowed"),
    ('1,"by":2', "duplicate_key"),
    ("9007199254740993", "integer_out_of_range"),
    ("-0", "negative_zero"),
])
def test_non_canonical_json_is_refused_before_the_store(
        make_consortium: Make, add: Add, snapshot: Snapshot, raw: str, code: str) -> None:
    consortium = make_consortium()
    commit(consortium, add())
    before = snapshot(consortium)
    good = add(7).wire_bytes()
    assert b'"by":7' in good
    tampered = good.replace(b'"by":7', b'"by":' + raw.encode())
    with pytest.raises((EncodingError, MalformedRecord)) as caught:
        consortium.submit(parse_record(tampered))
    assert caught.value.code == code
    assert snapshot(consortium) == before


# --- the mempool ---------------------------------------------------------------------------


def test_full_mempool_applies_backpressure(make_consortium: Make, add: Add) -> None:
    consortium = make_consortium(mempool_max=3)
    for _ in range(3):
        consortium.submit(add())
    with pytest.raises(Backpressure) as caught:
        consortium.submit(add())
    assert caught.value.code == "mempool_full" and caught.value.retry_after_s >= 1
    assert len(consortium.mempool) == 3
    consortium.run_until_idle()
    consortium.submit(add(seq=5))  # room again once a block took the queue
    assert len(consortium.mempool) == 1


def test_duplicate_pending_record_is_refused(make_consortium: Make, add: Add) -> None:
    consortium = make_consortium()
    record = add()
    consortium.submit(record)
    with pytest.raises(DuplicateRecord) as caught:
        consortium.submit(record)
    assert caught.value.code == "duplicate_record" and caught.value.height is None
    with pytest.raises(StaleSequence):  # same signer and seq, another payload
        consortium.submit(add(9, seq=record.seq))
    assert len(consortium.mempool) == 1
    consortium.run_until_idle()
    with pytest.raises(DuplicateRecord) as again:
        consortium.submit(record)
    assert again.value.height == 1


def test_record_rejected_at_block_time_gets_an_outcome_with_its_code(
        make_consortium: Make, add: Add, user: SigningKey) -> None:
    consortium = make_consortium()
    commit(consortium, add(1, name="b"))
    spend, overspend = add(-1, name="b"), add(-1, name="b")  # each passes check alone
    consortium.submit(spend)
    consortium.submit(overspend)
    block = consortium.produce_block()
    assert block is not None and [r.id for r in block.records] == [spend.id]
    assert consortium.outcome(spend.id) is not None
    assert consortium.outcome(spend.id).height == 2  # type: ignore[union-attr]
    rejected = consortium.outcome(overspend.id)
    assert rejected is not None and rejected.code == "counter_negative"
    assert rejected.height is None
    assert len(consortium.mempool) == 0
    for replica in consortium.live:
        assert replica.seqs[user.public_hex] == spend.seq  # a rejected record spends no seq
