"""Tests of the simulated consortium: commits, faults, byzantine votes, rejections, restarts."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from ledger.application import BlockContext, Execution, ValidatorInfo
from ledger.chain.block import Header
from ledger.chain.certificate import verify_certificate
from ledger.chain.genesis import Genesis, LedgerParams, validator_set_hash
from ledger.consensus.clock import ManualClock
from ledger.consensus.consortium import Consortium, conflicting
from ledger.counter import CounterApp
from ledger.crypto.keys import SigningKey, verify
from ledger.errors import (
    ApplicationRejected,
    Backpressure,
    BadSignature,
    ConsensusError,
    DuplicateRecord,
    EncodingError,
    LedgerError,
    MalformedRecord,
    StaleSequence,
    WrongChain,
)
from ledger.wire.record import Record, make_body, parse_record, sign_body

#: ``expires`` of the records built here: half an hour after the tests' genesis time.
EXPIRES = 1_700_000_000_000 + 1_800_000

Headers = Callable[[Path], list[tuple[int, str, str]]]
Snapshot = Callable[[Consortium], Any]
Add = Callable[..., Record]
Make = Callable[..., Consortium]
GENESIS_MS = 1_700_000_000_000


def _files(consortium: Consortium) -> list[Path]:
    return [consortium.data_dir / f"node-{i}.sqlite" for i in range(len(consortium.replicas))]


def _assert_all_agree(consortium: Consortium, headers: Headers, height: int) -> None:
    """Every store holds the same ``height`` blocks, byte for byte."""
    stored = [headers(f) for f in _files(consortium)]
    assert [len(s) for s in stored] == [height] * len(stored)
    assert all(s == stored[0] for s in stored)
    assert consortium.heights() == [height] * len(stored)


def _commit(consortium: Consortium, *records: Record) -> int:
    for record in records:
        consortium.submit(record)
    return consortium.run_until_idle()


def _add_raw(key: SigningKey, seq: int, name: str, by: int, chain: str = "test-chain") -> Record:
    return sign_body(make_body(chain, "counter.add", [key.public_hex], seq,
                               {"name": name, "by": by}, expires=EXPIRES), [key])


# --- committing ------------------------------------------------------------------------------


def test_four_validators_commit_10000_records_and_agree(make_consortium: Make,
                                                        headers: Headers) -> None:
    consortium = make_consortium()
    users = [SigningKey.from_seed(bytes([0x40 + u]) * 32) for u in range(10)]
    records = []
    expected: dict[str, int] = {}
    for seq in range(1, 1001):
        for u, key in enumerate(users):
            by = seq % 7 + 1
            records.append(_add_raw(key, seq, f"c{u % 4}", by))
            expected[f"c{u % 4}"] = expected.get(f"c{u % 4}", 0) + by
    blocks = _commit(consortium, *records)
    assert blocks == 5  # 2,000 records per block (the genesis default)
    _assert_all_agree(consortium, headers, 5)
    for replica in consortium.live:
        assert replica.app.committed == expected  # type: ignore[attr-defined]
        assert replica.total == 10_000
        assert replica.store.conn.execute("SELECT COUNT(*) FROM records").fetchone()[0] == 10_000
        assert replica.seqs == {k.public_hex: 1000 for k in users}
    assert sum(json.loads(h)["records"] for _, _, h in headers(_files(consortium)[0])) == 10_000


def test_blocks_chain_by_previous_header_hash(make_consortium: Make, add: Add) -> None:
    consortium = make_consortium()
    for _ in range(4):
        _commit(consortium, add())
    store = consortium.live[0].store
    prev = consortium.genesis.hash.hex()
    proposers = []
    for height in range(1, 5):
        header = store.header(height)
        assert header is not None and header.prev == prev and header.height == height
        prev = header.hash.hex()
        proposers.append(header.proposer)
    assert len(set(proposers)) == 4  # the proposer rotates


def test_one_of_four_stopped_blocks_still_commit(make_consortium: Make, add: Add,
                                                 headers: Headers) -> None:
    consortium = make_consortium()
    consortium.stop(2)
    for _ in range(5):  # every validator's turn to propose comes round
        assert _commit(consortium, add()) == 1
    assert consortium.heights() == [5, 5, None, 5]
    consortium.start(2)
    _commit(consortium, add())
    _assert_all_agree(consortium, headers, 6)


def test_two_of_four_stopped_nothing_commits_nothing_changes(
        make_consortium: Make, add: Add, headers: Headers, snapshot: Snapshot) -> None:
    consortium = make_consortium()
    _commit(consortium, add(), add())
    consortium.stop(3)
    _commit(consortium, add())
    consortium.stop(1)
    pending = add()
    consortium.submit(pending)
    before = snapshot(consortium)
    bytes_before = [f.read_bytes() for f in _files(consortium)[1::2]]  # the stopped ones
    for _ in range(2):  # the same round, tried again
        with pytest.raises(ConsensusError) as caught:
            consortium.produce_block()
        assert caught.value.code == "no_quorum"
        assert snapshot(consortium) == before
    assert [f.read_bytes() for f in _files(consortium)[1::2]] == bytes_before
    assert consortium.heights() == [2, None, 2, None]
    assert consortium.outcome(pending.id) is None
    assert len(consortium.mempool) == 1  # the record waits for a quorum

    consortium.start(1)
    consortium.start(3)
    assert consortium.run_until_idle() == 1
    _assert_all_agree(consortium, headers, 3)
    outcome = consortium.outcome(pending.id)
    assert outcome is not None and outcome.height == 3
    for replica in consortium.live:
        assert replica.store.evidence() == []


def test_isolated_replica_lags_then_catches_up(make_consortium: Make, add: Add,
                                               headers: Headers) -> None:
    consortium = make_consortium()
    for other in (0, 1, 2):
        consortium.drop(3, other)
    for _ in range(4):
        _commit(consortium, add())
    assert consortium.heights() == [4, 4, 4, 0]
    consortium.heal()
    _commit(consortium, add())
    _assert_all_agree(consortium, headers, 5)


def test_dropped_proposal_makes_a_replica_lag_one_block(make_consortium: Make, add: Add,
                                                        headers: Headers) -> None:
    consortium = make_consortium()
    consortium.drop(1, 3, both_ways=False)  # block 1 is proposed by validator 1
    consortium.submit(add())
    consortium.produce_block()
    assert consortium.heights() == [1, 1, 1, 0]
    consortium.submit(add())
    consortium.produce_block()  # proposer 2; replica 3 first fetches block 1 from a peer
    _assert_all_agree(consortium, headers, 2)


def test_lagging_replica_catches_up_more_than_one_fetch(make_consortium: Make, add: Add,
                                                        headers: Headers) -> None:
    consortium = make_consortium()
    consortium.stop(0)
    for _ in range(120):
        _commit(consortium, add())
    consortium.start(0)
    consortium.catch_up()
    _assert_all_agree(consortium, headers, 120)


def test_validators_refuse_a_proposal_over_the_block_record_limit(
        tmp_path: Path, validator_keys: list[SigningKey], add: Add) -> None:
    genesis = Genesis("test-chain", GENESIS_MS,
                      tuple(ValidatorInfo(f"v{i}", k.public_hex)
                            for i, k in enumerate(validator_keys)),
                      LedgerParams(block_records_max=2))
    consortium = Consortium(tmp_path / "small", genesis, validator_keys, CounterApp,
                            ManualClock(GENESIS_MS, 1))
    try:
        for _ in range(3):
            consortium.submit(add())
        assert consortium.produce_block().header.records == 2  # type: ignore[union-attr]
        proposer, voter = consortium.live[0], consortium.live[1]
        oversized = proposer.propose([add(), add(), add()], GENESIS_MS + 10_000).block
        assert oversized.header.records == 3  # a faulty proposer ignored the limit
        with pytest.raises(ConsensusError) as caught:
            voter.validate(oversized)
        assert caught.value.code == "block_invalid"
        assert "record count does not follow" in str(caught.value)
    finally:
        consortium.close()


# --- byzantine validators ----------------------------------------------------------------------


def test_byzantine_votes_never_commit_and_are_kept_as_evidence(
        make_consortium: Make, add: Add, headers: Headers) -> None:
    consortium = make_consortium()
    byzantine = consortium.replicas[1]
    assert byzantine is not None and byzantine.key is not None
    byzantine.byzantine = True
    bad_key = byzantine.key.public_hex
    for _ in range(6):  # includes heights where the byzantine replica proposes
        _commit(consortium, add())
    _assert_all_agree(consortium, headers, 6)
    validators = consortium.genesis.validators
    for replica in consortium.live:
        store = replica.store
        evidence = store.evidence()
        assert [e["height"] for e in evidence] == [1, 2, 3, 4, 5, 6]
        for item in evidence:
            block, cert, _ = store.certified_block(item["height"])
            committed = block.header
            assert bad_key not in [v.validator for v in cert.votes]
            verify_certificate(cert, committed.hash, validators)
            signed = Header.from_json(json.loads(item["header"]))
            assert item["validator"] == bad_key
            assert signed.hash.hex() == item["header_hash"]
            assert hashlib.sha256(b"\x11" + item["header"].encode()).hexdigest() == \
                item["header_hash"]
            assert item["header_hash"] != committed.hash.hex()
            assert conflicting(signed, committed)
            assert verify(bytes.fromhex(bad_key), bytes.fromhex(item["sig"]), signed.hash)
            assert not verify(bytes.fromhex(bad_key), bytes.fromhex(item["sig"]), committed.hash)


def test_byzantine_vote_cannot_stand_in_for_a_missing_honest_one(
        make_consortium: Make, add: Add, snapshot: Snapshot) -> None:
    consortium = make_consortium()
    _commit(consortium, add())
    consortium.replicas[1].byzantine = True  # type: ignore[union-attr]
    consortium.stop(2)
    consortium.submit(add())
    before = snapshot(consortium)
    with pytest.raises(ConsensusError) as caught:
        consortium.produce_block()
    assert caught.value.code == "no_quorum"
    assert snapshot(consortium) == before


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
    _commit(consortium, first, add(1), add(1))
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
    _commit(consortium, add())
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
    _commit(consortium, add(1, name="b"))
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


# --- validator set changes ---------------------------------------------------------------------


class _RotatingApp(CounterApp):
    """Counters, plus: a record adding to the counter "rotate" installs ``next_set``."""

    def __init__(self, next_set: tuple[ValidatorInfo, ...]) -> None:
        super().__init__()
        self.next_set = next_set

    def execute(self, ctx: BlockContext, records: Sequence[Record]) -> Execution:
        execution = super().execute(ctx, records)
        if any(r.payload.get("name") == "rotate" for r in records):
            execution.validators = self.next_set
        return execution


def test_validator_set_change_takes_effect_from_the_next_block(
        tmp_path: Path, validator_keys: list[SigningKey], genesis: Genesis, add: Add) -> None:
    three = genesis.validators[:3]
    consortium = Consortium(tmp_path / "rot", genesis, validator_keys,
                            lambda: _RotatingApp(three), ManualClock(GENESIS_MS, 1))
    try:
        _commit(consortium, add(name="rotate"))
        _commit(consortium, add())
        store = consortium.live[0].store
        first, second = store.certified_block(1), store.certified_block(2)
        assert first[0].header.validators == validator_set_hash(genesis.validators).hex()
        assert second[0].header.validators == validator_set_hash(three).hex()
        verify_certificate(second[1], second[0].header.hash, three)
        assert [h for h, _ in store.validator_sets()] == [0, 2]
        consortium.stop(3)  # no longer a validator: its absence costs nothing
        _commit(consortium, add())
        consortium.stop(2)  # one of three down: 2 votes < quorum(3)
        consortium.submit(add())
        with pytest.raises(ConsensusError):
            consortium.produce_block()
    finally:
        consortium.close()


# --- restart -------------------------------------------------------------------------------


def test_restart_restores_state_from_the_store_and_continues(
        make_consortium: Make, add: Add, headers: Headers, user: SigningKey,
        tmp_path: Path) -> None:
    consortium = make_consortium()
    for name in ("a", "b", "a"):
        _commit(consortium, add(3, name=name))
    replica = consortium.live[0]
    state = (replica.height, replica.head_hash, replica.state, dict(replica.seqs),
             dict(replica.app.committed))  # type: ignore[attr-defined]
    for i in range(4):
        consortium.stop(i)
    for i in range(4):
        consortium.start(i)
    for replica in consortium.live:
        assert (replica.height, replica.head_hash, replica.state, dict(replica.seqs),
                dict(replica.app.committed)) == state  # type: ignore[attr-defined]
    consortium.close()

    again = make_consortium()  # a new process, as it were, on the same directory
    assert again.heights() == [3, 3, 3, 3]
    with pytest.raises(StaleSequence):
        again.submit(add(seq=3))
    _commit(again, add(4, name="a"))
    _assert_all_agree(again, headers, 4)
    head = again.live[0]
    assert head.app.committed == {"a": 10, "b": 3}  # type: ignore[attr-defined]
    assert head.seqs == {user.public_hex: 4}
    header = head.store.header(4)
    assert header is not None and header.prev == state[1].hex()
