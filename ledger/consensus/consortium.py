"""The simulated consortium: n replicas in one process, a rotating proposer, injectable faults.

Each round the first live validator in rotation order (starting at ``height % n``) proposes a
block from the mempool; every validator that receives the proposal re-executes it and signs
only a matching result; once more than two thirds have signed, the block and its certificate
are committed on every replica that validated it. With more than f = floor((n-1)/3)
validators unreachable no block commits and no replica changes. A replica that missed blocks
fetches them from a peer and checks each like a proposal before committing it.

No record can stop the chain: a proposer leaves out (and rejects) a record that makes its
block fail to execute or encode; a validator that cannot execute a block withholds its vote;
a replica that cannot follow the certified chain stays behind. Each is logged and counted.

Faults for tests: :meth:`stop`/:meth:`start` (a restart reopens the store from disk),
:meth:`drop` (messages between two replicas are lost), :attr:`Replica.byzantine` (the
replica signs a header with another state; its vote is kept as evidence).
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ledger.application import Application
from ledger.chain.block import Block, Header
from ledger.chain.certificate import CommitCertificate, Vote, quorum
from ledger.chain.checkpoint import SignedCheckpoint
from ledger.chain.genesis import Genesis
from ledger.consensus.clock import Clock, SystemClock
from ledger.consensus.journal import PendingJournal
from ledger.consensus.mempool import Mempool
from ledger.consensus.rejections import RejectedIds
from ledger.consensus.replica import Replica
from ledger.crypto.keys import SigningKey
from ledger.errors import (
    ApplicationRejected,
    Backpressure,
    ConsensusError,
    DuplicateRecord,
    ExpiryTooFar,
    LedgerError,
    RecordExpired,
    RecordRejected,
    RecordUnprocessable,
    RejectedBefore,
    StaleSequence,
)
from ledger.limits import blocks_per_fetch_max, mempool_records_max
from ledger.wire.record import Record, parse_record

_OUTCOMES_MAX = 1_000_000
log = logging.getLogger("jifentong.ledger")
#: Rejections decided by the record's own (signed) content, so final: remembered by id.
_FINAL = (RecordExpired, ExpiryTooFar, ApplicationRejected)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of a submitted record: committed at ``height`` or rejected with ``code``."""

    record_id: str
    height: int | None = None
    index: int | None = None
    code: str | None = None


class Consortium:
    """n replicas, a shared mempool (the gossip layer, simplified) and a fault-injecting net."""

    def __init__(self, data_dir: Path, genesis: Genesis, keys: Sequence[SigningKey | None],
                 app_factory: Callable[[], Application], clock: Clock | None = None,
                 mempool_max: int = mempool_records_max,
                 journal: PendingJournal | None = None,
                 rejected: RejectedIds | None = None) -> None:
        self.data_dir, self.genesis, self.keys = Path(data_dir), genesis, list(keys)
        self.app_factory, self.clock = app_factory, clock or SystemClock()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.replicas: list[Replica | None] = [self._open(i) for i in range(len(self.keys))]
        self.mempool = Mempool(mempool_max)
        self.dropped: set[tuple[int, int]] = set()
        self.lock = threading.RLock()
        self.committed = threading.Condition(self.lock)
        self._outcomes: OrderedDict[str, Outcome] = OrderedDict()
        self._outcomes_lock = threading.Lock()
        self.last_decided: list[Outcome] = []  # outcomes decided by the latest round
        #: Records the proposer left out because a block with them failed to execute or
        #: encode; votes a validator withheld; catch-ups a replica could not finish.
        self.unprocessable = self.votes_withheld = self.catch_up_failures = 0
        self.rejected = rejected if rejected is not None else RejectedIds()
        self.journal = journal
        if journal is not None:
            self._replay_journal(journal)

    def _replay_journal(self, journal: PendingJournal) -> None:
        """Queue again what was acknowledged before a restart; drop what no longer passes."""
        stale = []
        for wire in journal.load():
            record = parse_record(wire)
            try:
                self._admit(record)
            except RecordRejected as exc:
                stale.append(record.id)
                if not isinstance(exc, RejectedBefore | DuplicateRecord):
                    self.rejected.add([(record.id, exc.code, record.expires)])
        journal.remove(stale)

    def _open(self, index: int) -> Replica:
        path = self.data_dir / f"node-{index}.sqlite"
        return Replica(f"node-{index}", path, self.genesis, self.app_factory(), self.keys[index])

    # -- faults ----------------------------------------------------------------------------

    def stop(self, index: int) -> None:
        """Crash replica ``index`` (its store stays on disk)."""
        replica = self.replicas[index]
        if replica is not None:
            replica.close()
            self.replicas[index] = None

    def start(self, index: int) -> None:
        """Restart replica ``index`` from its store; it catches up at the next round."""
        if self.replicas[index] is None:
            self.replicas[index] = self._open(index)

    def drop(self, source: int, target: int, both_ways: bool = True) -> None:
        """Lose every message from ``source`` to ``target`` (and back)."""
        self.dropped.add((source, target))
        if both_ways:
            self.dropped.add((target, source))

    def heal(self) -> None:
        self.dropped.clear()

    def _link(self, source: int, target: int) -> bool:
        return source == target or (source, target) not in self.dropped

    # -- submitting ------------------------------------------------------------------------

    @property
    def live(self) -> list[Replica]:
        return [r for r in self.replicas if r is not None]

    def gateway(self) -> Replica:
        """The replica that answers clients: the first live one that is most up to date."""
        live = self.live
        if not live:
            raise ConsensusError("every replica is down", code="no_replica")
        return max(live, key=lambda r: r.height)

    def submit(self, record: Record) -> None:
        """Check, journal and queue ``record``; raises RecordRejected or Backpressure."""
        self._admit(record)
        if self.journal is not None:
            self.journal.add([record])

    def submit_many(self, records: Sequence[Record]) -> list[LedgerError | None]:
        """Submit a batch; one journal write for all. Returns None or the error per record."""
        results: list[LedgerError | None] = []
        admitted = []
        for record in records:
            try:
                self._admit(record)
            except LedgerError as exc:
                results.append(exc)
            else:
                results.append(None)
                admitted.append(record)
        if self.journal is not None and admitted:
            self.journal.add(admitted)
        return results

    def _admit(self, record: Record) -> None:
        with self._outcomes_lock:
            known = self._outcomes.get(record.id)
        if known is not None and known.height is not None:
            raise DuplicateRecord(record.id, known.height)
        code = self.rejected.code(record.id)
        if code is not None:
            raise RejectedBefore(record.id, code)
        if self.rejected.full():
            raise Backpressure(f"{len(self.rejected)} rejected ids are remembered, the most "
                               "a node keeps until they expire; retry shortly", retry_after_s=5)
        gateway = self.gateway()
        try:
            gateway.check(record, self.clock.peek_ms())
        except StaleSequence:
            # a committed record always has a stale sequence number: only then look it up
            location = gateway.store.record_location(record.id)
            if location is not None:
                raise DuplicateRecord(record.id, location[0]) from None
            raise
        except _FINAL as exc:  # the signatures verified: only the signer makes this final
            self.rejected.add([(record.id, exc.code, record.expires)])
            raise
        self.mempool.add(record, gateway.seqs)
        with self._outcomes_lock:
            self._outcomes.pop(record.id, None)

    def outcome(self, record_id: str) -> Outcome | None:
        """The outcome of a record this consortium has seen, if decided (a rejection is
        remembered, also across restarts, until the record has expired)."""
        with self._outcomes_lock:
            known = self._outcomes.get(record_id)
        if known is None and (code := self.rejected.code(record_id)) is not None:
            return Outcome(record_id, code=code)
        return known

    def _decide(self, outcome: Outcome) -> None:
        with self._outcomes_lock:
            self._outcomes[outcome.record_id] = outcome
            self.last_decided.append(outcome)
            while len(self._outcomes) > _OUTCOMES_MAX:
                self._outcomes.popitem(last=False)

    # -- rounds ----------------------------------------------------------------------------

    def catch_up(self) -> None:
        """Bring every live replica to the highest height among its reachable peers."""
        with self.lock:
            for i, replica in enumerate(self.replicas):
                if replica is None:
                    continue
                while True:
                    peers = [(j, p) for j, p in enumerate(self.replicas) if p is not None
                             and p.height > replica.height and self._link(j, i)]
                    if not peers:
                        break
                    _, peer = max(peers, key=lambda jp: jp[1].height)
                    stop = min(peer.height, replica.height + blocks_per_fetch_max)
                    try:
                        for height in range(replica.height + 1, stop + 1):
                            replica.apply_certified(*peer.store.certified_block(height))
                    except LedgerError as exc:
                        # This replica cannot follow the certified chain (its application
                        # fails on a block the quorum executed): it stays behind, the rest go on.
                        replica.discard()
                        self.catch_up_failures += 1
                        log.warning("%s cannot catch up past height %d: %s", replica.name,
                                    replica.height, exc)
                        break

    def produce_block(self) -> Block | None:
        """Run one round; returns the committed block, or None when the mempool is empty.

        Raises ConsensusError when no quorum could be formed (the records go back to the
        mempool and no replica changes).
        """
        with self.lock:
            self.catch_up()
            gateway = self.gateway()
            params = self.genesis.params
            self.last_decided = []
            candidates = self.mempool.take(params.block_records_max)
            if not candidates:
                return None
            try:
                block = self._round(gateway, candidates)
            except LedgerError:
                decided = {o.record_id for o in self.last_decided}
                self.mempool.put_back(r for r in candidates if r.id not in decided)
                self.mempool.settle()
                if self.journal is not None:
                    self.journal.remove(decided)
                for replica in self.live:
                    replica.discard()
                raise
            self.mempool.settle()
            self.rejected.forget_expired(block.header.time_ms)
            if self.journal is not None:
                self.journal.remove([r.id for r in candidates])
            self.committed.notify_all()
            return block

    def _round(self, gateway: Replica, candidates: list[Record]) -> Block:
        validators = gateway.validators
        height = gateway.height + 1
        index_of = {k.public_hex: i for i, k in enumerate(self.keys) if k is not None}
        order = [validators[(height + r) % len(validators)] for r in range(len(validators))]
        for info in order:
            i = index_of.get(info.key, -1)  # -1: not a validator this consortium runs
            proposer = self.replicas[i] if i >= 0 else None
            if proposer is not None and proposer.height == gateway.height:
                break
        else:
            raise ConsensusError(f"no live validator can propose block {height}", code="no_quorum")
        proposal = proposer.propose(candidates, self.clock.now_ms())
        expires = {r.id: r.expires for r in candidates}
        self.rejected.add((i, code, expires[i]) for i, code in proposal.rejected.items())
        for record_id, code in proposal.rejected.items():
            self._decide(Outcome(record_id, code=code))
            self.unprocessable += code == RecordUnprocessable.code
        block = proposal.block
        votes, checkpoint_votes, evidence, validated = [], [], [], []
        for info in validators:
            j = index_of.get(info.key, -1)
            voter = self.replicas[j] if j >= 0 else None
            if voter is None or not self._link(i, j) or voter.height != gateway.height:
                continue
            try:
                voter.validate(block)
            except (ConsensusError, RecordRejected) as exc:
                voter.discard()
                self.votes_withheld += 1
                log.warning("%s did not sign block %d: %s", voter.name, height, exc)
                continue
            validated.append((j, voter))
            vote, cp_vote, signed = voter.sign(block)
            if not self._link(j, i):
                continue
            if signed.hash != block.header.hash:
                evidence.append((vote.validator, signed, vote.signature))
                continue
            votes.append(vote)
            checkpoint_votes.append(cp_vote)
        need = quorum(len(validators))
        if len(votes) < need:
            raise ConsensusError(f"block {height}: {len(votes)} matching votes of "
                                 f"{len(validators)}, {need} needed; nothing committed",
                                 code="no_quorum")
        cert = CommitCertificate(height, block.header.hash, tuple(votes))
        checkpoint = SignedCheckpoint(proposer.checkpoint_after(block.header),
                                      tuple(checkpoint_votes))
        for j, voter in validated:
            if self._link(i, j):
                voter.commit(block, cert, checkpoint, evidence)
            else:
                voter.discard()
        for index, record in enumerate(block.records):
            self._decide(Outcome(record.id, height=height, index=index))
        return block

    def run_until_idle(self, rounds_max: int = 1_000_000) -> int:
        """Produce blocks until the mempool is empty; returns the number committed."""
        count = 0
        while count < rounds_max and self.produce_block() is not None:
            count += 1
        return count

    def heights(self) -> list[int | None]:
        return [r.height if r is not None else None for r in self.replicas]

    def close(self) -> None:
        for i in range(len(self.replicas)):
            self.stop(i)
        if self.journal is not None:
            self.journal.close()
        self.rejected.close()


def conflicting(evidence_header: Header, committed: Header) -> bool:
    """True when two signed headers of one height differ (proof of equivocation)."""
    return evidence_header.height == committed.height and evidence_header.hash != committed.hash


__all__ = ["Consortium", "Outcome", "Vote", "conflicting"]
