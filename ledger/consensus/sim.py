"""A seeded, deterministic simulation of the consortium over its ordering log, in the manner
of TigerBeetle's VOPR: one seed fixes every choice, so any failure replays exactly.

N replicas run the production decision code (:class:`~ledger.consensus.replica.Replica`,
:class:`~ledger.consensus.ordering.Orderer`, :class:`~ledger.consensus.ordering.EtcdLog`, the
SQLite :class:`~ledger.store.Store`) against the simulated etcd and network of
:mod:`ledger.consensus.sim_etcd`, on simulated time, in one thread. Each round the clock
moves, late writes land, faults are drawn (call loss, lost answers, delayed and reordered
writes, partitions, crashes mid-step, restarts, a torn write: a crash while the commit's WAL
frames reach the disk, the file cut at a random byte) and one node takes one step. One
replica may be byzantine (:mod:`ledger.consensus.sim_byzantine`): it signs other headers,
votes for two headers of a height and races two proposals for one height.

Checked every round: no two honest replicas commit different headers at a height, and no
record is committed at two heights. After the fault phase the network heals and every node
restarts; then every honest node must reach one head holding every acknowledged record
exactly once within ``sim_liveness_rounds_max`` rounds.

Replay a seed: ``python -m ledger.consensus.sim --seed N [--rounds R]``.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import random
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn

from ledger.application import ValidatorInfo
from ledger.chain.genesis import Genesis
from ledger.consensus.ordering import Decided, EtcdLog, Orderer
from ledger.consensus.replica import Replica
from ledger.consensus.sim_byzantine import byzantine_step
from ledger.consensus.sim_etcd import Fates, SimConnection, SimCrash, SimNet
from ledger.consensus.sim_node import (
    SimClock,
    SimConfig,
    SimFailure,
    SimNode,
    SimReport,
)
from ledger.consensus.sim_torn import arm_torn_write, store_problems
from ledger.counter import CounterApp
from ledger.crypto.keys import SigningKey
from ledger.errors import LedgerError
from ledger.limits import (
    sim_fault_share,
    sim_liveness_rounds_max,
    sim_proposal_timeout_ms,
    sim_record_ttl_ms,
    sim_rounds_default,
    sim_skew_ms_max,
    sim_tick_ms_max,
)
from ledger.wire.record import Record, make_body, sign_body

CHAIN = "sim-chain"
GENESIS_MS = 1_700_000_000_000


@dataclass
class Simulation:
    """One seeded run (see the module docstring)."""

    config: SimConfig
    directory: Path
    now_ms: int = GENESIS_MS + 1_000
    round: int = 0
    agreed: dict[int, bytes] = field(default_factory=dict)  # height -> honest header hash
    committed_at: dict[str, int] = field(default_factory=dict)  # record id -> height
    acked: list[str] = field(default_factory=list)
    sent: dict[str, Record] = field(default_factory=dict)  # acknowledged records by id

    def __post_init__(self) -> None:
        cfg = self.config
        self.rng = random.Random(cfg.seed)
        self.net = SimNet(random.Random(self.rng.getrandbits(64)))
        keys = [SigningKey.from_seed(bytes([i + 1]) * 32) for i in range(cfg.nodes)]
        validators = tuple(ValidatorInfo(f"v{i}", k.public_hex) for i, k in enumerate(keys))
        self.genesis = Genesis(CHAIN, GENESIS_MS, validators)
        self.nodes = [SimNode(i, k, self.directory / f"v{i}.sqlite",
                              SimConnection(self.net, i),
                              SimClock(lambda: self.now_ms,
                                       self.rng.randint(-sim_skew_ms_max, sim_skew_ms_max)),
                              byzantine=cfg.byzantine and i == cfg.nodes - 1)
                      for i, k in enumerate(keys)]
        self.report = SimReport(cfg.seed)
        self.prefix = EtcdLog(self.nodes[0].conn, CHAIN, self.genesis.hash).prefix
        for node in self.nodes:
            self._start(node)

    # -- the run -----------------------------------------------------------------------------

    def run(self) -> SimReport:
        faulty = int(self.config.rounds * sim_fault_share)
        self.net.fates = Fates(lost=0.05, unanswered=0.03, delayed=0.03)
        for index in range(self.config.rounds):
            self.round = index
            if index == faulty:
                self._calm()
            self._round(faults=index < faulty)
        if self.config.rounds <= faulty:
            self._calm()
        for _ in range(sim_liveness_rounds_max):
            if self._settled():
                break
            self.round += 1
            self._round(faults=False)
        else:
            self.fail("liveness: the alliance did not settle after the faults stopped "
                      f"(heads {self._heads()})")
        self._check_exactly_once()
        self.report.rounds = self.round + 1
        self.report.heights = max(self.agreed, default=0)
        self.report.acknowledged = len(self.acked)
        return self.report

    def _round(self, faults: bool) -> None:
        self.now_ms += self.rng.randint(1, sim_tick_ms_max)
        self.net.tick()
        if faults:
            self._draw_faults()
        if self.rng.random() < 0.2:
            self._submit()
        up = [n for n in self.nodes if n.orderer is not None]
        if up:
            self._step(self.rng.choice(up))
        self._check_heads()

    def _draw_faults(self) -> None:
        rng, net = self.rng, self.net
        roll = rng.random()
        node = rng.choice(self.nodes)
        if roll < 0.01 and node.orderer is not None:
            net.crash_at[node.index] = rng.randint(1, 8)  # dies in the middle of a step
        elif roll < 0.015 and node.orderer is not None:
            self._crash(node)
        elif roll < 0.035 and node.orderer is None:
            self._start(node)
        elif roll < 0.04:
            net.partitioned ^= {node.index}
        elif roll < 0.04 + self.config.torn_share and node.replica is not None \
                and node.torn is None:
            node.torn = arm_torn_write(node.replica, rng)

    def _calm(self) -> None:
        """The faults stop: the network heals, late writes land, every node runs again."""
        self.net.fates, self.net.partitioned = Fates(), set()
        self.net.crash_at.clear()
        self.net.flush()
        for node in self.nodes:
            if node.torn is not None and node.replica is not None:
                node.torn.disarm(node.replica)
                node.torn = None
            if node.orderer is None:
                self._start(node)

    # -- nodes -------------------------------------------------------------------------------

    def _start(self, node: SimNode) -> None:
        replica = Replica(f"v{node.index}", node.path, self.genesis, CounterApp(), node.key)
        replica.store.conn.execute("PRAGMA wal_autocheckpoint=0")  # see sim_torn
        for problem in store_problems(replica, self.agreed):
            self.fail(f"v{node.index} restarted on a broken store: {problem}")
        log = EtcdLog(node.conn, CHAIN, self.genesis.hash)
        node.replica, node.orderer = replica, Orderer(
            replica, log, node.clock, functools.partial(self.committed, node),
            timeout_ms=sim_proposal_timeout_ms, monotonic_s=lambda: self.now_ms / 1000)

    def _crash(self, node: SimNode) -> None:
        self.report.crashes += 1
        if node.replica is not None:
            node.replica.close()
        node.replica = node.orderer = node.torn = None
        self.net.crash_at.pop(node.index, None)

    def _step(self, node: SimNode) -> None:
        replica, orderer = node.replica, node.orderer
        if replica is None or orderer is None:
            return
        try:
            if node.byzantine:
                byzantine_step(replica, orderer, self.rng, self.config.forge_rejections)
            else:
                orderer.step()
        except LedgerError:  # what the node's ordering loop does with a failed step
            replica.discard()
        except SimCrash:
            if node.torn is not None and node.torn.image is not None:
                self.report.torn += 1
                torn = node.torn
                self._crash(node)
                torn.leave_on_disk(node.path)
            else:
                self._crash(node)

    def committed(self, node: SimNode, decided: Decided) -> None:
        """Check an honest node's commit against every other honest commit (no fork, no
        record twice)."""
        header = decided.block.header
        if node.byzantine:
            return
        known = self.agreed.setdefault(header.height, header.hash)
        if known != header.hash:
            self.fail(f"fork: v{node.index} committed {header.hash.hex()[:16]} at height "
                      f"{header.height}, another honest node {known.hex()[:16]}")
        for record in decided.block.records:
            at = self.committed_at.setdefault(record.id, header.height)
            if at != header.height:
                self.fail(f"record {record.id[:16]} committed at heights {at} and "
                          f"{header.height}")
        if node.replica is not None:
            self.report.evidence = max(self.report.evidence,
                                       len(node.replica.store.evidence()))

    # -- clients -----------------------------------------------------------------------------

    def _submit(self) -> None:
        up = [n for n in self.nodes if n.orderer is not None and not n.byzantine]
        if not up:
            return
        node = self.rng.choice(up)
        if self.acked and self.rng.random() < 0.1:  # a client retries a record it sent
            records = [self.sent[self.rng.choice(self.acked)]]
        else:
            records = [self._record() for _ in range(self.rng.randint(1, 2))]
        replica, orderer = node.replica, node.orderer
        if replica is None or orderer is None:
            return
        try:
            for record in records:
                if replica.store.record_location(record.id) is None:
                    replica.check(record, node.clock.peek_ms())
            orderer.log.submit(records)
        except LedgerError:
            return  # not acknowledged (it may still land: a lost answer, a late write)
        except SimCrash:
            self._crash(node)
            return
        self.acked.extend(r.id for r in records if r.id not in self.sent)
        self.sent.update({r.id: r for r in records})

    def _record(self) -> Record:
        key = SigningKey.from_seed(self.rng.randbytes(32))
        body = make_body(CHAIN, "counter.add", [key.public_hex], 1,
                         {"name": self.rng.choice("abc"), "by": self.rng.randint(1, 9)},
                         expires=self.now_ms + sim_record_ttl_ms)
        return sign_body(body, [key])

    # -- invariants --------------------------------------------------------------------------

    def _honest(self) -> list[SimNode]:
        return [n for n in self.nodes if not n.byzantine]

    def _heads(self) -> list[tuple[int, str]]:
        return [(n.replica.height, n.replica.head_hash.hex()[:12]) if n.replica else (-1, "down")
                for n in self.nodes]

    def _check_heads(self) -> None:
        for node in self._honest():
            replica = node.replica
            if replica is not None and replica.height and \
                    self.agreed.get(replica.height) != replica.head_hash:
                self.fail(f"v{node.index} holds head {replica.head_hash.hex()[:16]} at height "
                          f"{replica.height}, the honest chain has "
                          f"{(self.agreed.get(replica.height) or b'').hex()[:16]}")

    def _settled(self) -> bool:
        replicas = [n.replica for n in self._honest()]
        if any(r is None for r in replicas):
            return False
        heads = {(r.height, r.head_hash) for r in replicas if r is not None}
        if len(heads) != 1:
            return False
        missing = len(self.sent) - len(self.committed_at.keys() & self.sent.keys())
        height = next(iter(heads))[0]
        quiet = not self.net.late and not self.net.etcd.scan(self.prefix + b"sub/", False)
        proposed = self.prefix + b"prop/%012d" % (height + 1) in self.net.etcd.kvs
        if missing and quiet and not proposed:
            self.fail(f"{missing} acknowledged records were dropped from the log, never "
                      "committed")
        return not missing

    def _check_exactly_once(self) -> None:
        replica = self._honest()[0].replica
        if replica is None:
            self.fail("an honest node is down after the liveness phase")
        ids = [r.id for h in range(1, replica.height + 1)
               for r in replica.store.block_records(h)]
        if len(ids) != len(set(ids)):
            self.fail("a record is in the chain twice")
        missing = set(self.acked) - set(ids)
        if missing:
            self.fail(f"{len(missing)} acknowledged records are not in the chain")
        self.report.false_refusals = sum(
            1 for kv in self.net.etcd.scan(self.prefix + b"prop/", False)
            if json.loads(kv.value)["rejected"].keys() & set(ids))

    def fail(self, message: str) -> NoReturn:
        raise SimFailure(f"seed {self.config.seed}, round {self.round}: {message}\n"
                         f"replay: {replay_command(self.config)}")

    def close(self) -> None:
        for node in self.nodes:
            if node.replica is not None:
                node.replica.close()


def replay_command(config: SimConfig) -> str:
    extra = "" if config.byzantine else " --no-byzantine"
    if config.torn_share != SimConfig.torn_share:
        extra += f" --torn-share {config.torn_share}"
    if config.forge_rejections:
        extra += " --forge-rejections"
    return (f"python -m ledger.consensus.sim --seed {config.seed} --rounds {config.rounds}"
            + extra)


def simulate(config: SimConfig) -> SimReport:
    """Run one seed in a scratch directory (in memory where /dev/shm exists)."""
    base = "/dev/shm" if os.path.isdir("/dev/shm") else None
    with tempfile.TemporaryDirectory(prefix="jifentong-sim-", dir=base) as scratch:
        sim = Simulation(config, Path(scratch))
        try:
            return sim.run()
        finally:
            sim.close()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ledger.consensus.sim",
                                     description="Replay one seed of the consortium simulator.")
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--rounds", type=int, default=sim_rounds_default)
    parser.add_argument("--no-byzantine", action="store_true")
    parser.add_argument("--torn-share", type=float, default=SimConfig.torn_share)
    parser.add_argument("--forge-rejections", action="store_true",
                        help="the byzantine proposer claims waiting records were refused")
    args = parser.parse_args(argv)
    config = SimConfig(args.seed, args.rounds, byzantine=not args.no_byzantine,
                       torn_share=args.torn_share, forge_rejections=args.forge_rejections)
    try:
        report = simulate(config)
    except SimFailure as exc:
        print(f"FAILED {exc}", file=sys.stderr)
        return 1
    print(f"ok {report}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
