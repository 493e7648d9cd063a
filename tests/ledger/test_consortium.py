"""Tests of the simulated consortium: commits, faults, the block record limit, restarts.
Byzantine votes and validator set changes: test_consortium_validators.py; records refused
and the mempool: test_consortium_refusals.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ledger.application import ValidatorInfo
from ledger.chain.genesis import Genesis, LedgerParams
from ledger.consensus.clock import ManualClock
from ledger.consensus.consortium import Consortium
from ledger.counter import CounterApp
from ledger.crypto.keys import SigningKey
from ledger.errors import ConsensusError, StaleSequence
from ledger.wire.record import Record, make_body, sign_body

from .conftest import EXPIRES, GENESIS_MS
from .consortium_kit import Add, Headers, Make, Snapshot, assert_all_agree, commit, files


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
    blocks = commit(consortium, *records)
    assert blocks == 5  # 2,000 records per block (the genesis default)
    assert_all_agree(consortium, headers, 5)
    for replica in consortium.live:
        assert replica.app.committed == expected  # type: ignore[attr-defined]
        assert replica.total == 10_000
        assert replica.store.conn.execute("SELECT COUNT(*) FROM records").fetchone()[0] == 10_000
        assert replica.seqs == {k.public_hex: 1000 for k in users}
    assert sum(json.loads(h)["records"] for _, _, h in headers(files(consortium)[0])) == 10_000


def test_blocks_chain_by_previous_header_hash(make_consortium: Make, add: Add) -> None:
    consortium = make_consortium()
    for _ in range(4):
        commit(consortium, add())
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
        assert commit(consortium, add()) == 1
    assert consortium.heights() == [5, 5, None, 5]
    consortium.start(2)
    commit(consortium, add())
    assert_all_agree(consortium, headers, 6)


def test_two_of_four_stopped_nothing_commits_nothing_changes(
        make_consortium: Make, add: Add, headers: Headers, snapshot: Snapshot) -> None:
    consortium = make_consortium()
    commit(consortium, add(), add())
    consortium.stop(3)
    commit(consortium, add())
    consortium.stop(1)
    pending = add()
    consortium.submit(pending)
    before = snapshot(consortium)
    bytes_before = [f.read_bytes() for f in files(consortium)[1::2]]  # the stopped ones
    for _ in range(2):  # the same round, tried again
        with pytest.raises(ConsensusError) as caught:
            consortium.produce_block()
        assert caught.value.code == "no_quorum"
        assert snapshot(consortium) == before
    assert [f.read_bytes() for f in files(consortium)[1::2]] == bytes_before
    assert consortium.heights() == [2, None, 2, None]
    assert consortium.outcome(pending.id) is None
    assert len(consortium.mempool) == 1  # the record waits for a quorum

    consortium.start(1)
    consortium.start(3)
    assert consortium.run_until_idle() == 1
    assert_all_agree(consortium, headers, 3)
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
        commit(consortium, add())
    assert consortium.heights() == [4, 4, 4, 0]
    consortium.heal()
    commit(consortium, add())
    assert_all_agree(consortium, headers, 5)


def test_dropped_proposal_makes_a_replica_lag_one_block(make_consortium: Make, add: Add,
                                                        headers: Headers) -> None:
    consortium = make_consortium()
    consortium.drop(1, 3, both_ways=False)  # block 1 is proposed by validator 1
    consortium.submit(add())
    consortium.produce_block()
    assert consortium.heights() == [1, 1, 1, 0]
    consortium.submit(add())
    consortium.produce_block()  # proposer 2; replica 3 first fetches block 1 from a peer
    assert_all_agree(consortium, headers, 2)


def test_lagging_replica_catches_up_more_than_one_fetch(make_consortium: Make, add: Add,
                                                        headers: Headers) -> None:
    consortium = make_consortium()
    consortium.stop(0)
    for _ in range(120):
        commit(consortium, add())
    consortium.start(0)
    consortium.catch_up()
    assert_all_agree(consortium, headers, 120)


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

# --- restart -------------------------------------------------------------------------------


def test_restart_restores_state_from_the_store_and_continues(
        make_consortium: Make, add: Add, headers: Headers, user: SigningKey,
        tmp_path: Path) -> None:
    consortium = make_consortium()
    for name in ("a", "b", "a"):
        commit(consortium, add(3, name=name))
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
    commit(again, add(4, name="a"))
    assert_all_agree(again, headers, 4)
    head = again.live[0]
    assert head.app.committed == {"a": 10, "b": 3}  # type: ignore[attr-defined]
    assert head.seqs == {user.public_hex: 4}
    header = head.store.header(4)
    assert header is not None and header.prev == state[1].hex()
