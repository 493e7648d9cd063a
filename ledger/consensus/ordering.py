"""The protocol each member's node runs over the chain's log in etcd
(:mod:`ledger.consensus.etcdlog` names the keys).

A node acknowledges a record once its ``sub/`` put returns (etcd committed it to a Raft
majority). The proposer of height h in round r (the rotation of ``Consortium``, shifted by r;
after k proposal timeouts the k-th next validator may propose too) creates ``prop/<h>[.r]``
with a compare-and-swap on ``create_revision == 0``: whoever wins, every node sees the same
proposal. Every validator re-executes it (:meth:`Replica.validate`), and signs and publishes its
vote only if its state matches. A proposal that lists refused submissions is re-derived
instead (:mod:`ledger.consensus.refusal_check`): the proposer deletes those from the log once
the height commits, so a validator signs only if every refusal follows. Every node commits
the block once more than 2/3 of the validator set signed that header
(``ledger.chain.certificate``), with the votes it read as the certificate. A node that was
down replays ``prop/`` and ``vote/`` from its height on, re-verifying everything.

Backup proposers: the k-th validator after the proposer in rotation may propose once k
timeouts have passed since its node reached the height (or since records began to wait
there). The timeout is ``proposal_timeout_ms``, or ``proposal_timeout_heights`` times as
long as this node's last height took from its proposal to its commit, whichever is longer,
at most ``proposal_timeout_ms_max``: under load a height of 2,000 records takes seconds, and
a backup that proposes while the proposer still executes only burns the CPU both need (the
first proposal created stands; the other is thrown away).

Rounds: a validator whose state does not match publishes a signed refusal instead of a vote.
Once more than 1/3 of the validator set refused round r (so at least one honest validator
did, and since execution is deterministic every honest one does: round r can never gather a
quorum), the nodes go to round r + 1, whose proposer proposes again from the pending
submissions. The refused proposal's records that were submitted stay pending and are checked
again; any it carried that nobody submitted are gone with it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence

from ledger.application import ValidatorInfo
from ledger.chain.block import Header
from ledger.chain.certificate import CommitCertificate, Vote, quorum, valid_signers
from ledger.chain.checkpoint import SignedCheckpoint
from ledger.consensus.clock import Clock
from ledger.consensus.etcdlog import Decided as Decided
from ledger.consensus.etcdlog import EtcdLog as EtcdLog
from ledger.consensus.etcdlog import refusal_message
from ledger.consensus.mempool import seq_ordered
from ledger.consensus.refusal_check import precheck_code, validate_with_refusals
from ledger.consensus.replica import Replica, time_not_ahead
from ledger.errors import ConsensusError, RecordRejected, StoreError
from ledger.limits import (
    etcd_txn_ops_max,
    ordering_pending_max,
    proposal_bytes_max,
    proposal_refusals_max,
    proposal_timeout_heights,
    proposal_timeout_ms,
    proposal_timeout_ms_max,
)
from ledger.wire.record import Record

log = logging.getLogger("jifentong.ordering")


class Orderer:
    """Drives one replica through the log: propose in turn, validate, vote, commit.

    ``monotonic_s`` times the proposal timeout; the simulator (:mod:`ledger.consensus.sim`)
    gives it simulated time. ``timeout_heights`` is 0 where backups must take over after
    ``timeout_ms`` exactly (tests that step by hand). ``interval_ms`` (a node passes the
    genesis ``block_interval_ms``; 0 proposes at once) is how long a block that is not full
    fills, from when its first record was seen, before it is proposed: as ``serve`` cuts
    blocks, so that records sent together (a batch spans several etcd transactions) land in
    one block."""

    def __init__(self, replica: Replica, log_: EtcdLog, clock: Clock,
                 on_commit: Callable[[Decided], None] = lambda d: None,
                 timeout_ms: int = proposal_timeout_ms,
                 bytes_max: int = proposal_bytes_max,
                 monotonic_s: Callable[[], float] = time.monotonic,
                 timeout_heights: int = proposal_timeout_heights,
                 interval_ms: int = 0) -> None:
        self.replica, self.log, self.clock, self.on_commit = replica, log_, clock, on_commit
        self.timeout_ms, self.bytes_max, self.monotonic_s = timeout_ms, bytes_max, monotonic_s
        self.timeout_heights, self.interval_ms = timeout_heights, interval_ms
        self._filling_since_s: float | None = None  # when the next block's first record waited
        #: when a block that is filling should be cut (None: no block is filling)
        self.propose_at_s: float | None = None
        self._voted = (0, 0)  # the (height, round) this node last voted on or refused
        # the ids the last height this node committed refused: decided, like committed ones
        # (read back as pending before their proposer deletes them, they would be refused
        # again, and a validator that no longer finds them in the log refuses that proposal)
        self._refused_ids: frozenset[str] = frozenset()
        self._refused = (0, 0)  # the (height, round) whose proposal this node last refused
        self.round = 0  # the round of the next height this node is in
        self.rounds_changed = 0
        self._height_seen_s = monotonic_s()  # when this node reached its current height
        self._seen_height = replica.height
        self._proposal: Decided | None = None  # the standing proposal of the next height
        self._proposal_seen_s = 0.0  # when this node first held that proposal
        self.height_work_ms = 0.0  # the last height this node committed: proposal to commit
        self.votes_withheld = self.commits = 0

    def proposer_rank(self, height: int, round_: int = 0) -> int | None:
        """This node's place in the rotation for ``height`` in ``round_`` (0: the proposer),
        or None."""
        validators = self.replica.validators
        key = self.replica.key.public_hex if self.replica.key else None
        for rank in range(len(validators)):
            if validators[(height + round_ + rank) % len(validators)].key == key:
                return rank
        return None

    def step(self) -> bool:
        """One pass at the next height; True when it made progress (proposed, voted or
        committed), so that a caller steps again until there is nothing to do but wait."""
        replica = self.replica
        if replica.height != self._seen_height:
            self._seen_height, self._height_seen_s = replica.height, self.monotonic_s()
            self.round = 0
            self._filling_since_s = self.propose_at_s = None
        height = replica.height + 1
        decided = self._standing(height)
        proposed = False
        if decided is None:
            decided = self._maybe_propose(height)
            if decided is None:
                return False
            proposed = True
        if decided is not self._proposal:
            self._proposal_seen_s = self.monotonic_s()
        self._proposal = decided
        if self._refused == (height, self.round) and self._refused_by_many(decided):
            return True
        return self._vote_and_commit(height, decided) or proposed

    def _refused_by_many(self, decided: Decided) -> bool:
        """After this node refused the standing proposal: go to the next round when more
        than 1/3 of the validator set refused it too (it can then never commit)."""
        header, validators = decided.block.header, self.replica.validators
        refusers = self.log.refusers(header, validators, self.round)
        if len(refusers) * 3 <= len(validators):
            return False
        log.warning("%s: %d of %d validators refused block %d in round %d; round %d begins",
                    self.replica.name, len(refusers), len(validators), header.height,
                    self.round, self.round + 1)
        self.round += 1
        self.rounds_changed += 1
        self._proposal = None
        self._height_seen_s = self.monotonic_s()  # backup proposers wait from here
        return True

    def _standing(self, height: int) -> Decided | None:
        """The proposal of ``height``, read from etcd once: the first one created stands
        (compare-and-swap), so the copy read before is still the one."""
        known = self._proposal
        if known is not None and known.block.header.height == height:
            return known
        return self.log.proposal(height, self.round)

    def backup_timeout_ms(self) -> float:
        """How long each backup in rotation waits for the one before it (module docstring)."""
        return min(max(self.timeout_ms, self.timeout_heights * self.height_work_ms),
                   max(self.timeout_ms, proposal_timeout_ms_max))

    def _maybe_propose(self, height: int) -> Decided | None:
        rank = self.proposer_rank(height, self.round)
        waited_ms = (self.monotonic_s() - self._height_seen_s) * 1000
        if rank is None or waited_ms < rank * self.backup_timeout_ms():
            return None
        store = self.replica.store
        # Submissions put in one transaction share a revision, so etcd's order among them is
        # not theirs: read a transaction's worth more than a block, put each signer's
        # records in sequence order, then cut, so no cut takes a later sequence number
        # without an earlier one that waits.
        waiting, committed, refused = [], [], {}
        for record in self.log.pending(ordering_pending_max + etcd_txn_ops_max):
            if record.id in self._refused_ids or store.record_location(record.id):
                committed.append(record)
                continue
            # whoever wrote it to etcd, a record a validator would refuse stays out
            if (code := precheck_code(record, self.replica.chain)) is not None:
                refused[record.id] = code
                continue
            waiting.append(record)
        candidates: list[Record] = []
        size = 0
        for record in seq_ordered(waiting)[:self.replica.genesis.params.block_records_max]:
            size += len(record.wire_bytes())
            if size > self.bytes_max and candidates:
                break  # the rest wait for the next height (etcd bounds a request's size)
            candidates.append(record)
        if committed:
            self.log.forget([r.id for r in committed])
        if not candidates and not refused:  # the timeout runs from when records wait
            self._height_seen_s = self.monotonic_s()
            self._filling_since_s = self.propose_at_s = None
            return None
        records_max = self.replica.genesis.params.block_records_max
        full = len(candidates) < len(waiting) or len(candidates) >= records_max
        if candidates and not full and self._filling(self.monotonic_s()):
            return None
        proposal = self.replica.propose(candidates, self.clock.now_ms())
        won, decided = self.log.propose(proposal.block, {**refused, **proposal.rejected},
                                        self.round, [r.id for r in candidates])
        if not won:
            self.replica.discard()
        return decided

    def _filling(self, now_s: float) -> bool:
        """True while a block that is not full may still fill (``interval_ms``)."""
        if self.interval_ms <= 0:
            return False
        if self._filling_since_s is None:
            self._filling_since_s = now_s
        self.propose_at_s = self._filling_since_s + self.interval_ms / 1000
        return now_s < self.propose_at_s

    def _vote_and_commit(self, height: int, decided: Decided) -> bool:
        """Vote on the proposal (once), then commit it if a quorum voted; True when this
        node voted or committed."""
        replica, block = self.replica, decided.block
        voted = 0
        votes = self.log.votes(height, self.round)
        need = quorum(len(replica.validators))
        if self._voted < (height, self.round) and replica.key is not None and not _has_quorum(
                votes, block.header, need):
            if not self._validate(decided, refusals=True, now_ms=self.clock.peek_ms()):
                return True  # refused: that is progress too (others count refusals)
            vote, cp_vote, signed = replica.sign(block)
            self.log.vote(height, vote, cp_vote, signed, self.round)
            self._voted, voted = (height, self.round), height
            # ours, beside those read: the others' arrive later, and the watch wakes us
            votes = [v for v in votes if v[0] != vote.validator]
            votes.append((vote.validator, signed, vote.signature, cp_vote.signature))
        checkpoint = replica.checkpoint_after(block.header)
        matching, cp_votes, evidence = _classify(votes, block.header, checkpoint.message(),
                                                 replica.validators)
        if min(len(matching), len(cp_votes)) < need:
            return voted == height
        # certified: more than 2/3 signed, so an honest validator checked the refusals
        if not replica.validated(block.header) and not self._validate(decided):
            return False  # certified, yet it does not execute here: this node stays behind
        cert = CommitCertificate(height, block.header.hash, tuple(matching))
        signed_checkpoint = SignedCheckpoint(checkpoint, tuple(cp_votes))
        replica.commit(block, cert, signed_checkpoint, evidence)
        self.height_work_ms = (self.monotonic_s() - self._proposal_seen_s) * 1000
        self.commits += 1
        self._refused_ids = frozenset(decided.rejected)
        self.log.decided([r.id for r in block.records] + sorted(decided.rejected))
        self.on_commit(decided)
        if replica.key is not None and block.header.proposer == replica.key.public_hex:
            # The proposer alone deletes what its block decided (one write, not n). Should it
            # fail first, the next proposer finds the committed ones (in its store) and the
            # refused ones (``_refused_ids``) and deletes them; after a restart it proposes
            # the refused ones again, to refuse them again.
            self.log.forget([r.id for r in block.records] + sorted(decided.rejected))
        return True

    def _validate(self, decided: Decided, refusals: bool = False,
                  now_ms: int | None = None) -> bool:
        """Validate the proposal (re-deriving its refusals, if it lists any, when
        ``refusals``; holding its time to this node's clock ``now_ms`` when voting); on
        failure, refuse it, signed, and never sign it."""
        block = decided.block
        try:
            if now_ms is not None:
                time_not_ahead(block.header, now_ms)
            if refusals and decided.rejected:
                fetched = self.log.submissions(sorted(decided.rejected)[:proposal_refusals_max])
                validate_with_refusals(self.replica, decided, fetched)
            else:
                self.replica.validate(block)
        except (ConsensusError, RecordRejected, StoreError) as exc:
            self.replica.discard()
            self.votes_withheld += 1
            self._voted = self._refused = (block.header.height, self.round)  # never sign it
            self._refuse(block.header, str(exc))
            log.warning("%s did not sign block %d: %s", self.replica.name, block.header.height,
                        exc)
            return False
        return True


    def _refuse(self, header: Header, reason: str) -> None:
        """Publish this validator's signed refusal of ``header`` (none without a key)."""
        key = self.replica.key
        if key is not None:
            refusal = Vote(key.public_hex, key.sign(refusal_message(header.hash)))
            self.log.refuse(header, refusal, reason, self.round)


def _has_quorum(votes: list[tuple[str, Header, bytes, bytes]], header: Header,
                need: int) -> bool:
    return sum(1 for _, signed, _, _ in votes if signed.hash == header.hash) >= need


def _classify(votes: list[tuple[str, Header, bytes, bytes]], header: Header,
              checkpoint_message: bytes, validators: Sequence[ValidatorInfo],
              ) -> tuple[list[Vote], list[Vote], list[tuple[str, Header, bytes]]]:
    """The votes over ``header`` and over the checkpoint after it whose signatures verify
    (in validator-set order), and signed headers of this height that differ from ``header``
    with a valid signature (equivocation evidence, stored with the block)."""
    same = [(v, s, c) for v, signed, s, c in votes if signed.hash == header.hash]
    by_key = {v: (s, c) for v, s, c in same}
    signers = valid_signers(header.hash, [Vote(v, s) for v, s, _ in same], validators)
    matching = [Vote(k, by_key[k][0]) for k in signers]
    cp_signers = valid_signers(checkpoint_message, [Vote(k, by_key[k][1]) for k in signers],
                               validators)
    cp_votes = [Vote(k, by_key[k][1]) for k in cp_signers]
    evidence = []
    for validator, signed, signature, _ in votes:
        if (signed.hash != header.hash and signed.height == header.height
                and valid_signers(signed.hash, [Vote(validator, signature)], validators)):
            evidence.append((validator, signed, signature))
    return matching, cp_votes, evidence
