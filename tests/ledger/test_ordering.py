"""Ordering through etcd: four replicas in this process, each driven by its own Orderer over
one real etcd, stepped by hand so every interleaving here is the one written down."""

from __future__ import annotations

import dataclasses
import itertools
import logging
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ledger.chain.block import Block
from ledger.chain.certificate import Vote
from ledger.chain.genesis import Genesis
from ledger.consensus.clock import ManualClock
from ledger.consensus.etcd import EtcdClient
from ledger.consensus.etcdlog import refusal_message
from ledger.consensus.ordering import EtcdLog, Orderer
from ledger.consensus.replica import Replica
from ledger.counter import CounterApp
from ledger.crypto.keys import SigningKey
from ledger.errors import OrderingUnavailable
from ledger.limits import (
    block_time_ahead_ms_max,
    proposal_timeout_heights,
    proposal_timeout_ms_max,
)
from ledger.wire.record import Record

from .conftest import CHAIN, GENESIS_MS

_chains = itertools.count()


@dataclasses.dataclass
class Alliance:
    genesis: Genesis
    replicas: list[Replica]
    orderers: list[Orderer]
    log: EtcdLog

    def step(self, *which: int) -> None:
        """Step the given orderers (all by default) in turn until a pass makes no progress."""
        chosen = which or tuple(range(len(self.orderers)))
        while any([self.orderers[i].step() for i in chosen]):
            pass

    def heads(self) -> list[tuple[int, str]]:
        return [(r.height, r.head_hash.hex()) for r in self.replicas]


@pytest.fixture
def alliance(tmp_path: Path, etcd_url: str,
             validator_keys: list[SigningKey]) -> Iterator[Callable[..., Alliance]]:
    made: list[tuple[EtcdClient, list[Replica]]] = []

    def make(timeout_ms: int = 60_000, bytes_max: int = 900_000,
             timeout_heights: int = proposal_timeout_heights, interval_ms: int = 0) -> Alliance:
        n = next(_chains)
        # A genesis of its own per test: the log's keys name the genesis hash.
        genesis = dataclasses.replace(_genesis(validator_keys), time_ms=GENESIS_MS + n)
        client = EtcdClient([etcd_url])
        log = EtcdLog(client, CHAIN, genesis.hash)
        replicas = [Replica(f"v{i}", tmp_path / f"{n}-{i}.sqlite", genesis, CounterApp(), key)
                    for i, key in enumerate(validator_keys)]
        clock = ManualClock(GENESIS_MS + 1_000, step_ms=1)
        orderers = [Orderer(r, log, clock, timeout_ms=timeout_ms, bytes_max=bytes_max,
                            timeout_heights=timeout_heights, interval_ms=interval_ms)
                    for r in replicas]
        made.append((client, replicas))
        return Alliance(genesis, replicas, orderers, log)

    yield make
    for client, replicas in made:
        client.close()
        for replica in replicas:
            replica.close()


def _genesis(keys: list[SigningKey]) -> Genesis:
    from .conftest import make_genesis

    return make_genesis(keys)


def test_submissions_commit_on_every_replica_with_one_header(
        alliance: Callable[..., Alliance], add: Callable[..., Record]) -> None:
    a = alliance()
    records = [add(by=i + 1) for i in range(5)]
    a.log.submit(records)
    assert a.log.pending_count() == 5
    a.step()
    heads = a.heads()
    assert heads[0][0] == 1 and len(set(heads)) == 1
    block, cert, _ = a.replicas[2].store.certified_block(1)
    assert [r.id for r in block.records] == [r.id for r in records]
    assert len(cert.votes) >= 3
    assert a.log.pending_count() == 0  # decided submissions are forgotten


def test_a_proposal_stays_within_its_byte_budget(
        alliance: Callable[..., Alliance], add: Callable[..., Record]) -> None:
    records = [add(by=i + 1) for i in range(6)]
    size = len(records[0].wire_bytes())
    a = alliance(bytes_max=2 * size + size // 2)  # two records fit, the third does not
    a.log.submit(records)
    a.step()
    sizes = [len(list(a.replicas[0].store.block_records(h))) for h in (1, 2, 3)]
    assert sizes == [2, 2, 2] and a.replicas[0].height == 3
    assert len(set(a.heads())) == 1


def test_a_forged_submission_in_etcd_is_left_out_and_the_chain_goes_on(
        alliance: Callable[..., Alliance], add: Callable[..., Record],
        validator_keys: list[SigningKey]) -> None:
    a = alliance()
    good = add(by=1)
    honest = add(by=2, key=validator_keys[0])
    # the same body, signed by a key that is not its signer
    forged = Record(honest.body, [validator_keys[1].sign(honest.id_bytes)], honest.body_bytes)
    a.log.submit([good, forged])  # written past the node's door, straight into the log
    a.step()
    block, _, _ = a.replicas[1].store.certified_block(1)
    assert [r.id for r in block.records] == [good.id]
    assert a.log.proposal(1).rejected == {forged.id: "bad_signature"}
    assert len(set(a.heads())) == 1 and a.log.pending_count() == 0


def test_the_first_proposal_of_a_height_stands(
        alliance: Callable[..., Alliance], add: Callable[..., Record]) -> None:
    a = alliance()
    first, second = a.replicas[0], a.replicas[1]
    one = first.propose([add(by=1)], GENESIS_MS + 10).block
    two = second.propose([add(by=2, seq=1)], GENESIS_MS + 10).block
    assert one.header.hash != two.header.hash
    won, stood = a.log.propose(one, {})
    assert won and stood.block.header.hash == one.header.hash
    won, stood = a.log.propose(two, {})
    assert not won and stood.block.header.hash == one.header.hash
    second.discard()
    a.step()
    assert {h for _, h in a.heads()} == {one.header.hash.hex()}


def test_only_the_proposer_in_rotation_proposes_until_its_timeout(
        alliance: Callable[..., Alliance], add: Callable[..., Record]) -> None:
    a = alliance(timeout_ms=300)
    ranks = [o.proposer_rank(1) for o in a.orderers]
    assert sorted(ranks) == [0, 1, 2, 3]
    primary, backup = ranks.index(0), ranks.index(1)
    a.log.submit([add()])
    others = [i for i in range(4) if i != primary]
    a.step(*others)  # the proposer is down: nobody else may propose yet
    assert a.log.proposal(1) is None
    time.sleep(0.35)
    a.step(*others)
    decided = a.log.proposal(1)
    assert decided is not None
    assert decided.block.header.proposer == a.replicas[backup].key.public_hex
    assert [a.replicas[i].height for i in others] == [1, 1, 1]


def test_under_load_a_backup_waits_as_long_as_heights_take(
        alliance: Callable[..., Alliance], add: Callable[..., Record]) -> None:
    """Heights that take long (blocks of thousands of records) stretch the backups' wait, so a
    backup does not propose while the proposer still executes; never beyond the maximum."""
    a = alliance(timeout_ms=300)
    for orderer in a.orderers:
        orderer.height_work_ms = 200.0  # the last height took 200 ms: backups wait 4 x that
        assert orderer.backup_timeout_ms() == proposal_timeout_heights * 200.0
    ranks = [o.proposer_rank(1) for o in a.orderers]
    others = [i for i in range(4) if ranks[i] != 0]
    a.log.submit([add()])
    time.sleep(0.35)  # past the plain timeout: the old rule let the first backup propose
    a.step(*others)
    assert a.log.proposal(1) is None
    time.sleep(0.5)
    a.step(*others)
    assert [a.replicas[i].height for i in others] == [1, 1, 1]
    a.orderers[0].height_work_ms = 10.0 ** 9
    assert a.orderers[0].backup_timeout_ms() == proposal_timeout_ms_max


def test_a_block_that_is_not_full_fills_for_the_block_interval(
        alliance: Callable[..., Alliance], add: Callable[..., Record]) -> None:
    """Records sent together land in one block (a batch spans several etcd transactions):
    the proposer waits ``interval_ms`` from the first record it saw, unless the block is full."""
    a = alliance(interval_ms=300)
    first, second = add(by=1), add(by=2)
    a.log.submit([first])
    a.step()
    assert a.log.proposal(1) is None
    primary = a.orderers[[o.proposer_rank(1) for o in a.orderers].index(0)]
    assert primary.propose_at_s is not None
    a.log.submit([second])
    time.sleep(0.35)
    a.step()
    block, _, _ = a.replicas[0].store.certified_block(1)
    assert [r.id for r in block.records] == [first.id, second.id]
    assert primary.propose_at_s is None  # nothing fills at height 2
    full = alliance(interval_ms=60_000, bytes_max=1)  # one record fills a block
    full.log.submit([add(by=1), add(by=2)])
    full.step()
    assert [r.height for r in full.replicas] == [1, 1, 1, 1]  # the full one, at once
    assert full.log.proposal(2) is None  # the one left over fills its own block


def test_a_validator_signing_another_header_is_left_out_and_recorded(
        alliance: Callable[..., Alliance], add: Callable[..., Record]) -> None:
    a = alliance()
    a.replicas[3].byzantine = True
    a.log.submit([add()])
    a.step()
    assert len({h for _, h in a.heads()}) == 1
    _, cert, _ = a.replicas[0].store.certified_block(1)
    liar = a.replicas[3].key.public_hex
    assert liar not in {v.validator for v in cert.votes}
    evidence = a.replicas[0].store.evidence()
    assert [(e["height"], e["validator"]) for e in evidence] == [(1, liar)]


def test_a_replica_that_was_away_catches_up_from_the_log(
        alliance: Callable[..., Alliance], add: Callable[..., Record]) -> None:
    a = alliance(timeout_ms=0, timeout_heights=0)  # the away replica's turn passes at once
    for by in range(1, 4):
        a.log.submit([add(by=by)])
        a.step(0, 1, 2)
    assert [r.height for r in a.replicas] == [3, 3, 3, 0]
    a.step(3)
    assert len(set(a.heads())) == 1 and a.replicas[3].height == 3


def test_nothing_is_acknowledged_when_etcd_does_not_answer(
        add: Callable[..., Record], free_port: Callable[[], int]) -> None:
    client = EtcdClient([f"http://127.0.0.1:{free_port()}"], timeout_s=0.3)
    log = EtcdLog(client, CHAIN, b"\0" * 32)
    with pytest.raises(OrderingUnavailable):
        log.submit([add()])
    client.close()


def _bad_proposal(a: Alliance, records: list[Record]) -> Block:
    """What a byzantine proposer of height 1 puts in the log: its own block with a state
    commitment no honest replica computes."""
    proposer = a.replicas[[o.proposer_rank(1) for o in a.orderers].index(0)]
    block = proposer.propose(records, GENESIS_MS + 10).block
    proposer.discard()
    return Block(dataclasses.replace(block.header, state="00" * 32), block.records)


def test_a_proposal_the_quorum_refuses_gives_way_to_the_next_round(
        alliance: Callable[..., Alliance], add: Callable[..., Record]) -> None:
    a = alliance()
    records = [add(by=1), add(by=2)]
    a.log.submit(records)
    bad = _bad_proposal(a, records)
    assert a.log.propose(bad, {})[0]  # it wins round 0 of height 1
    a.step()
    assert a.log.refusers(bad.header, a.genesis.validators) == [
        v.key for v in a.genesis.validators]  # every honest replica refused it, signed
    assert [o.rounds_changed for o in a.orderers] == [1, 1, 1, 1]
    block, _, _ = a.replicas[0].store.certified_block(1)
    assert block.header.hash != bad.header.hash
    assert [r.id for r in block.records] == [r.id for r in records]  # proposed again
    round_one = a.orderers[[o.proposer_rank(1, 1) for o in a.orderers].index(0)]
    assert block.header.proposer == round_one.replica.key.public_hex
    assert len(set(a.heads())) == 1 and a.log.pending_count() == 0
    a.log.submit([add(by=1, seq=2)])
    a.step()
    assert {h for h, _ in a.heads()} == {2}
    assert [o.round for o in a.orderers] == [0, 0, 0, 0]  # a new height starts at round 0


@pytest.mark.parametrize(("lead_ms", "refused"), [
    (block_time_ahead_ms_max + 3_600_000, True),  # an hour on: points would lapse early
    (block_time_ahead_ms_max - 1_000, False),  # within the skew members' clocks may have
])
def test_validators_hold_a_proposal_time_to_their_own_clocks(
        alliance: Callable[..., Alliance], add: Callable[..., Record],
        caplog: pytest.LogCaptureFixture, lead_ms: int, refused: bool) -> None:
    """Block time drives expiry, vesting and posted rates: a proposer may not move it
    ahead of the validators' clocks."""
    a = alliance()
    records = [add(by=1)]
    a.log.submit(records)
    proposer = a.replicas[[o.proposer_rank(1) for o in a.orderers].index(0)]
    ahead = proposer.propose(records, a.orderers[0].clock.peek_ms() + lead_ms).block
    proposer.discard()
    assert a.log.propose(ahead, {})[0]
    with caplog.at_level(logging.WARNING, logger="jifentong.ordering"):
        a.step()
    block, _, _ = a.replicas[0].store.certified_block(1)
    assert len(set(a.heads())) == 1
    assert [r.id for r in block.records] == [r.id for r in records]
    if refused:
        assert a.log.refusers(ahead.header, a.genesis.validators) == [
            v.key for v in a.genesis.validators]
        assert "time_ahead_of_clock" in caplog.text
        assert block.header.hash != ahead.header.hash  # round 1 proposed it on time
        assert block.header.time_ms <= a.orderers[0].clock.peek_ms()
    else:
        assert block.header.hash == ahead.header.hash


def test_refusals_from_a_third_or_fewer_do_not_change_the_round(
        alliance: Callable[..., Alliance], add: Callable[..., Record],
        validator_keys: list[SigningKey]) -> None:
    a = alliance()
    a.log.submit([add()])
    primary = [o.proposer_rank(1) for o in a.orderers].index(0)
    a.step(primary)  # proposes and votes; the others have not looked yet
    decided = a.log.proposal(1)
    assert decided is not None
    liar = validator_keys[(primary + 1) % 4]  # one validator refuses a valid proposal
    a.log.refuse(decided.block.header,
                 Vote(liar.public_hex, liar.sign(refusal_message(decided.block.header.hash))),
                 "says no")
    forged = validator_keys[(primary + 2) % 4]  # a refusal not signed by its validator
    a.log.refuse(decided.block.header, Vote(forged.public_hex, liar.sign(b"\0" * 32)), "forged")
    assert a.log.refusers(decided.block.header, a.genesis.validators) == [liar.public_hex]
    a.step(*[i for i in range(4) if i != (primary + 1) % 4])
    assert [o.rounds_changed for o in a.orderers] == [0, 0, 0, 0]
    assert [r.height for r in a.replicas if r is not a.replicas[(primary + 1) % 4]] == [1] * 3
    assert a.replicas[0].store.certified_block(1)[0].header.hash == decided.block.header.hash


@pytest.mark.parametrize(("code", "claimed_as"), [
    ("bad_signature", "a pre-check refusal"),  # not passed to propose: checked alone
    ("sequence_replayed", "a refusal of the proposer's cut"),  # passed: propose runs again
    ("bad_signature", "a refusal of a record not in the log"),
])
def test_a_proposal_calling_a_good_record_refused_is_refused_and_round_one_commits_it(
        alliance: Callable[..., Alliance], add: Callable[..., Record], code: str,
        claimed_as: str) -> None:
    a = alliance()
    good, dropped = add(by=1), add(by=2)
    if claimed_as != "a refusal of a record not in the log":
        a.log.submit([good, dropped])
    else:
        a.log.submit([good])
    proposer = a.replicas[[o.proposer_rank(1) for o in a.orderers].index(0)]
    block = proposer.propose([good], GENESIS_MS + 10).block
    proposer.discard()
    candidates = [good.id, dropped.id] if code == "sequence_replayed" else [good.id]
    assert a.log.propose(block, {dropped.id: code}, candidates=candidates)[0]
    a.step()
    assert a.log.refusers(block.header, a.genesis.validators) == [
        v.key for v in a.genesis.validators]  # nobody signed the false refusal
    assert [o.rounds_changed for o in a.orderers] == [1, 1, 1, 1]
    committed, _, _ = a.replicas[0].store.certified_block(1)
    submitted = [good, dropped] if claimed_as != "a refusal of a record not in the log" else [good]
    assert [r.id for r in committed.records] == [r.id for r in submitted]
    assert len(set(a.heads())) == 1 and a.log.pending_count() == 0


def test_a_true_refusal_of_the_proposers_cut_is_signed_in_round_zero(
        alliance: Callable[..., Alliance], add: Callable[..., Record]) -> None:
    a = alliance()
    first, replayed = add(by=1, seq=1), add(by=2, seq=1)  # one key, one sequence number
    a.log.submit([first])
    a.log.submit([replayed])  # later (one transaction's records share a revision)
    a.step()
    decided = a.log.proposal(1)
    assert decided is not None
    assert decided.rejected == {replayed.id: "sequence_replayed"}
    assert set(decided.candidates) == {first.id, replayed.id}  # what the validators re-ran
    assert [o.rounds_changed for o in a.orderers] == [0, 0, 0, 0]
    assert [r.height for r in a.replicas] == [1, 1, 1, 1] and len(set(a.heads())) == 1
    assert [r.id for r in a.replicas[3].store.certified_block(1)[0].records] == [first.id]
    assert a.log.pending_count() == 0


def test_a_record_refused_at_the_last_height_is_decided_and_not_proposed_again(
        alliance: Callable[..., Alliance], add: Callable[..., Record]) -> None:
    """Read back as pending before the last proposer deleted it, a refused record is left out
    (and deleted) by the next proposer: proposed again, it would be refused again, and once
    that late deletion lands the validators would not find it and refuse the proposal."""
    a = alliance()
    first, replayed = add(by=1, seq=1), add(by=2, seq=1)
    a.log.submit([first])
    a.log.submit([replayed])
    a.step()
    assert a.log.proposal(1).rejected == {replayed.id: "sequence_replayed"}
    a.log.submit([replayed])  # as if read before height 1's proposer deleted it
    later = add(by=3)
    a.log.submit([later])
    proposer = [o.proposer_rank(2) for o in a.orderers].index(0)
    a.step(proposer)  # proposes height 2 (and votes)
    a.log.forget([replayed.id])  # height 1's proposer's deletion lands late
    a.step()
    assert [o.rounds_changed for o in a.orderers] == [0, 0, 0, 0]
    assert a.log.proposal(2).rejected == {}
    assert [r.id for r in a.replicas[1].store.certified_block(2)[0].records] == [later.id]
    assert len(set(a.heads())) == 1 and a.log.pending_count() == 0
