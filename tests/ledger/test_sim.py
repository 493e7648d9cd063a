"""The seeded simulation of the consortium (ledger/consensus/sim.py): four replicas running the
production ordering, validation and commit code over a simulated etcd and network, with lost,
unanswered, late and reordered writes, partitions, crashes mid-step, restarts, torn writes and
a byzantine validator. Each seed checks safety every round and liveness after the faults.

A failing seed prints its replay command: ``python -m ledger.consensus.sim --seed N``.
``JIFENTONG_SIM_SEEDS=K`` runs K seeds instead of the suite's ten (10,000 rounds and more).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from ledger import store as ledger_store
from ledger.application import Change
from ledger.chain.block import Block
from ledger.chain.certificate import CommitCertificate
from ledger.chain.checkpoint import SignedCheckpoint
from ledger.consensus import sim as simulator
from ledger.consensus.ordering import Decided, EtcdLog, Orderer
from ledger.consensus.sim import SimConfig, SimFailure, Simulation, simulate
from ledger.wire.record import Record

SEEDS = int(os.environ.get("JIFENTONG_SIM_SEEDS", "10"))
ROUNDS = 1_000


@pytest.mark.parametrize("seed", range(SEEDS))
def test_a_seed_keeps_one_chain_and_every_acknowledged_record_once(seed: int) -> None:
    report = simulate(SimConfig(seed, ROUNDS))
    assert report.rounds >= ROUNDS
    assert report.acknowledged > 50 and report.heights > 5
    # the faults the run claims to survive did happen
    assert report.crashes > 0
    assert report.evidence > 0, "the byzantine validator's other headers were not recorded"


def test_stores_torn_mid_commit_recover_to_whole_blocks() -> None:
    reports = [simulate(SimConfig(seed, 300, byzantine=False, torn_share=0.05))
               for seed in (200, 201)]
    assert sum(r.torn for r in reports) >= 2


def test_a_run_replays_exactly_from_its_seed() -> None:
    assert simulate(SimConfig(7, 300)) == simulate(SimConfig(7, 300))


@pytest.fixture
def failing(tmp_path: Path) -> Iterator[list[Simulation]]:
    made: list[Simulation] = []
    yield made
    for sim in made:
        sim.close()


def test_two_honest_nodes_committing_different_headers_fail_with_the_replay_command(
        failing: list[Simulation], tmp_path: Path) -> None:
    sim = Simulation(SimConfig(3, 100, byzantine=False), tmp_path)
    failing.append(sim)
    sim.run()
    head = sim.nodes[0].replica.head  # type: ignore[union-attr]
    assert head is not None
    other = dataclasses.replace(head, state="11" * 32)
    with pytest.raises(SimFailure, match=r"fork(.|\n)*replay: python -m ledger.consensus.sim "
                                         r"--seed 3 --rounds 100"):
        sim.committed(sim.nodes[1], Decided(Block(other, ())))


def test_a_record_committed_at_two_heights_fails(failing: list[Simulation],
                                                 tmp_path: Path) -> None:
    sim = Simulation(SimConfig(4, 100, byzantine=False), tmp_path)
    failing.append(sim)
    sim.run()
    replica = sim.nodes[0].replica
    assert replica is not None and replica.head is not None
    at, record = next((h, r) for h in range(1, replica.height + 1)
                      for r in replica.store.block_records(h))
    later = dataclasses.replace(replica.head, height=replica.height + 1)
    with pytest.raises(SimFailure, match=f"committed at heights {at} and {replica.height + 1}"):
        sim.committed(sim.nodes[1], Decided(Block(later, (record,))))


def test_a_block_written_in_two_transactions_is_caught_torn(
        failing: list[Simulation], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With the block's header committed before its records, a torn write leaves a header
    whose records are missing, and the restarted node's store is reported broken."""
    real = ledger_store.Store.write_block

    def two_steps(self: ledger_store.Store, block: Block, cert: CommitCertificate,
                  checkpoint: SignedCheckpoint, changes: Sequence[Change],
                  seqs: dict[str, int], *rest: Any) -> None:
        real(self, Block(block.header, ()), cert, checkpoint, changes, {}, *rest)
        with self.conn:  # the records, their seqs and effects, in a second transaction
            self.conn.executemany(
                "INSERT INTO records(height, idx, id, type, signer, seq, body, sigs) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [(block.header.height, i, r.id, r.type, r.signers[0], r.seq,
                  r.body_bytes.decode(), ",".join(s.hex() for s in r.signatures))
                 for i, r in enumerate(block.records)])
            self.conn.executemany("INSERT OR REPLACE INTO seqs(signer, seq) VALUES (?, ?)",
                                  seqs.items())

    monkeypatch.setattr(ledger_store.Store, "write_block", two_steps)
    failing.append(Simulation(SimConfig(200, 300, byzantine=False, torn_share=0.05), tmp_path))
    with pytest.raises(SimFailure, match="restarted on a broken store"):
        failing[0].run()


def test_the_replay_command_runs_one_seed() -> None:
    assert simulator.main(["--seed", "11", "--rounds", "200"]) == 0


def test_records_acknowledged_but_deleted_unordered_are_reported_dropped(
        failing: list[Simulation], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Submissions acknowledged under a key no node reads: once the alliance is quiet, they
    are reported lost."""
    real = EtcdLog.submit

    def astray(self: EtcdLog, records: Sequence[Record]) -> None:
        self.client.put_many([(b"astray/" + r.id.encode(), r.wire_bytes()) for r in records])
        if not records:
            real(self, records)

    monkeypatch.setattr(EtcdLog, "submit", astray)
    monkeypatch.setattr(simulator, "sim_liveness_rounds_max", 50)
    failing.append(Simulation(SimConfig(5, 100, byzantine=False), tmp_path))
    with pytest.raises(SimFailure, match="acknowledged records were dropped from the log"):
        failing[0].run()


def test_an_alliance_where_nobody_proposes_fails_liveness(
        failing: list[Simulation], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Orderer, "proposer_rank", lambda self, height, round_=0: None)
    monkeypatch.setattr(simulator, "sim_liveness_rounds_max", 50)
    failing.append(Simulation(SimConfig(5, 100, byzantine=False), tmp_path))
    with pytest.raises(SimFailure, match="liveness: the alliance did not settle"):
        failing[0].run()


def test_a_byzantine_proposer_cannot_drop_acknowledged_records_by_calling_them_refused() -> None:
    """The byzantine validator races proposals that call the waiting records they leave out
    refused (``bad_signature``); validators re-derive the refusals, refuse those proposals,
    and the simulator still finds every acknowledged record in the chain."""
    reports = [simulate(SimConfig(seed, 600, forge_rejections=True)) for seed in (3, 4)]
    assert all(r.acknowledged > 50 and r.heights > 5 for r in reports)
    assert sum(r.false_refusals for r in reports) > 0, "no false refusal was proposed"
