"""The chain's log in etcd and the protocol each member's node runs over it.

Keys, under ``jifentong/<chain>/<genesis hash, 16 hex>/``::

    sub/<record id>             an acknowledged submission (deleted once decided)
    prop/<height, 12 digits>    the one proposal of a height: header, records, rejections
    vote/<height>/<validator>   a validator's signatures over the header and the checkpoint

A node acknowledges a record once its ``sub/`` put returns (etcd committed it to a Raft
majority). The proposer of height h (the rotation of ``Consortium``; after k proposal
timeouts the k-th next validator may propose too) creates ``prop/h`` with a compare-and-swap
on ``create_revision == 0``: whoever wins, every node sees the same proposal. Every validator
re-executes it (:meth:`Replica.validate`), and signs and publishes its vote only if its state
matches. Every node commits the block once more than 2/3 of the validator set signed that
header (``ledger.chain.certificate``), with the votes it read as the certificate. A node that was
down replays ``prop/`` and ``vote/`` from its height on, re-verifying everything.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from ledger.application import ValidatorInfo
from ledger.chain.block import Block, Header
from ledger.chain.certificate import CommitCertificate, Vote, quorum, valid_signers
from ledger.chain.checkpoint import SignedCheckpoint
from ledger.consensus.clock import Clock
from ledger.consensus.etcd import EtcdClient
from ledger.consensus.mempool import seq_ordered
from ledger.consensus.replica import Replica
from ledger.errors import ConsensusError, LedgerError, RecordRejected, StoreError, WrongChain
from ledger.limits import (
    etcd_txn_ops_max,
    ordering_pending_max,
    proposal_bytes_max,
    proposal_timeout_ms,
    verified_records_kept_max,
)
from ledger.wire.record import Record, record_from_wire

log = logging.getLogger("jifentong.ordering")


@dataclass(frozen=True, slots=True)
class Decided:
    """What a committed height decided: the block and the records its proposer left out."""

    block: Block
    rejected: dict[str, str] = field(default_factory=dict)


class VerifiedRecords:
    """Records whose signatures this process already verified, by id (at most ``kept_max``,
    oldest forgotten first), so that reading one back from etcd does not verify it again.

    A record read back is marked verified only when its id (a hash of its body) and its
    signatures equal those of the one remembered: then its signatures verify, as they did."""

    def __init__(self, kept_max: int = verified_records_kept_max) -> None:
        self.kept_max = kept_max
        self._records: OrderedDict[str, tuple[bytes, ...]] = OrderedDict()
        self._lock = threading.Lock()

    def remember(self, records: Sequence[Record]) -> None:
        with self._lock:
            for record in records:
                if record.verified:
                    self._records[record.id] = record.signatures
            while len(self._records) > self.kept_max:
                self._records.popitem(last=False)

    def mark(self, record: Record) -> Record:
        with self._lock:
            if self._records.get(record.id) == record.signatures:
                record.verified = True
        return record


class EtcdLog:
    """The chain's keys in etcd (see the module docstring)."""

    def __init__(self, client: EtcdClient, chain: str, genesis_hash: bytes) -> None:
        self.client = client
        self.prefix = f"jifentong/{chain}/{genesis_hash.hex()[:16]}/".encode()
        self.verified = VerifiedRecords()

    def _sub(self, record_id: str) -> bytes:
        return self.prefix + b"sub/" + record_id.encode()

    def _prop(self, height: int) -> bytes:
        return self.prefix + b"prop/%012d" % height

    def _votes(self, height: int) -> bytes:
        return self.prefix + b"vote/%012d/" % height

    def submit(self, records: Sequence[Record]) -> None:
        """Append ``records``; returns once etcd committed them (the acknowledgement)."""
        self.client.put_many([(self._sub(r.id), r.wire_bytes()) for r in records])
        self.verified.remember(records)

    def pending(self, limit: int = ordering_pending_max) -> list[Record]:
        """Submissions not yet decided, oldest first."""
        out = []
        for kv in self.client.range_prefix(self.prefix + b"sub/", limit=limit, by_creation=True):
            try:
                out.append(self.verified.mark(record_from_wire(json.loads(kv.value))))
            except (LedgerError, ValueError) as exc:  # only a writer with etcd access
                log.warning("unreadable submission %r: %s", kv.key, exc)
        return out

    def pending_count(self) -> int:
        return self.client.count_prefix(self.prefix + b"sub/")

    def is_pending(self, record_id: str) -> bool:
        return self.client.get(self._sub(record_id)) is not None

    def forget(self, record_ids: Sequence[str]) -> None:
        """Delete decided submissions (idempotent: every node does it after a commit)."""
        self.client.delete_many([self._sub(i) for i in record_ids])

    def propose(self, block: Block, rejected: dict[str, str]) -> tuple[bool, Decided]:
        """Create the proposal of the block's height unless one exists; returns whether ours
        won and the proposal that stands."""
        value = json.dumps({"header": block.header.to_json(),
                            "records": [r.to_wire() for r in block.records],
                            "rejected": rejected}, sort_keys=True).encode()
        won, kv = self.client.create(self._prop(block.header.height), value)
        if won:  # ours stands: its records are the objects the proposer already checked
            self.verified.remember(block.records)
            return True, Decided(block, dict(rejected))
        return False, self._decode(kv.value)

    def proposal(self, height: int) -> Decided | None:
        kv = self.client.get(self._prop(height))
        return None if kv is None else self._decode(kv.value)

    def _decode(self, value: bytes) -> Decided:
        decided = _decode_proposal(value)
        for record in decided.block.records:
            self.verified.mark(record)
        return decided

    def vote(self, height: int, vote: Vote, checkpoint_vote: Vote, signed: Header) -> None:
        value = json.dumps({"header": signed.to_json(), "signature": vote.signature.hex(),
                            "checkpoint": checkpoint_vote.signature.hex()}, sort_keys=True)
        self.client.put(self._votes(height) + vote.validator.encode(), value.encode())

    def votes(self, height: int) -> list[tuple[str, Header, bytes, bytes]]:
        """(validator, header it signed, header signature, checkpoint signature) per vote."""
        prefix = self._votes(height)
        out = []
        for kv in self.client.range_prefix(prefix):
            try:
                obj = json.loads(kv.value)
                out.append((kv.key[len(prefix):].decode(), Header.from_json(obj["header"]),
                            bytes.fromhex(obj["signature"]), bytes.fromhex(obj["checkpoint"])))
            except (LedgerError, ValueError, KeyError, TypeError) as exc:
                log.warning("unreadable vote %r: %s", kv.key, exc)
        return out


def _decode_proposal(value: bytes) -> Decided:
    obj = json.loads(value)
    records = tuple(record_from_wire(w) for w in obj["records"])
    return Decided(Block(Header.from_json(obj["header"]), records), dict(obj["rejected"]))


class Orderer:
    """Drives one replica through the log: propose in turn, validate, vote, commit."""

    def __init__(self, replica: Replica, log_: EtcdLog, clock: Clock,
                 on_commit: Callable[[Decided], None] = lambda d: None,
                 timeout_ms: int = proposal_timeout_ms,
                 bytes_max: int = proposal_bytes_max) -> None:
        self.replica, self.log, self.clock, self.on_commit = replica, log_, clock, on_commit
        self.timeout_ms, self.bytes_max = timeout_ms, bytes_max
        self._voted = 0  # the height this node last voted on
        self._height_seen_s = time.monotonic()  # when this node reached its current height
        self._seen_height = replica.height
        self._proposal: Decided | None = None  # the standing proposal of the next height
        self.votes_withheld = self.commits = 0

    def proposer_rank(self, height: int) -> int | None:
        """This node's place in the rotation for ``height`` (0: the proposer), or None."""
        validators = self.replica.validators
        key = self.replica.key.public_hex if self.replica.key else None
        for rank in range(len(validators)):
            if validators[(height + rank) % len(validators)].key == key:
                return rank
        return None

    def step(self) -> bool:
        """One pass at the next height; True when it made progress (proposed, voted or
        committed), so that a caller steps again until there is nothing to do but wait."""
        replica = self.replica
        if replica.height != self._seen_height:
            self._seen_height, self._height_seen_s = replica.height, time.monotonic()
        height = replica.height + 1
        decided = self._standing(height)
        proposed = False
        if decided is None:
            decided = self._maybe_propose(height)
            if decided is None:
                return False
            proposed = True
        self._proposal = decided
        return self._vote_and_commit(height, decided) or proposed

    def _standing(self, height: int) -> Decided | None:
        """The proposal of ``height``, read from etcd once: the first one created stands
        (compare-and-swap), so the copy read before is still the one."""
        known = self._proposal
        if known is not None and known.block.header.height == height:
            return known
        return self.log.proposal(height)

    def _maybe_propose(self, height: int) -> Decided | None:
        rank = self.proposer_rank(height)
        waited_ms = (time.monotonic() - self._height_seen_s) * 1000
        if rank is None or waited_ms < rank * self.timeout_ms:
            return None
        store = self.replica.store
        # Submissions put in one transaction share a revision, so etcd's order among them is
        # not theirs: read a transaction's worth more than a block, put each signer's
        # records in sequence order, then cut, so no cut takes a later sequence number
        # without an earlier one that waits.
        waiting, committed, refused = [], [], {}
        for record in self.log.pending(ordering_pending_max + etcd_txn_ops_max):
            if store.record_location(record.id):
                committed.append(record)
                continue
            try:  # whoever wrote it to etcd, a record a validator would refuse stays out
                if record.chain != self.replica.chain:
                    raise WrongChain(f"record is for chain {record.chain!r}")
                record.verify_signatures()
            except RecordRejected as exc:
                refused[record.id] = exc.code
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
            self._height_seen_s = time.monotonic()
            return None
        proposal = self.replica.propose(candidates, self.clock.now_ms())
        won, decided = self.log.propose(proposal.block, {**refused, **proposal.rejected})
        if not won:
            self.replica.discard()
        return decided

    def _vote_and_commit(self, height: int, decided: Decided) -> bool:
        """Vote on the proposal (once), then commit it if a quorum voted; True when this
        node voted or committed."""
        replica, block = self.replica, decided.block
        voted = 0
        votes = self.log.votes(height)
        need = quorum(len(replica.validators))
        if self._voted < height and replica.key is not None and not _has_quorum(
                votes, block.header, need):
            if not self._validate(block):
                return False
            vote, cp_vote, signed = replica.sign(block)
            self.log.vote(height, vote, cp_vote, signed)
            self._voted = voted = height
            votes = self.log.votes(height)
        checkpoint = replica.checkpoint_after(block.header)
        matching, cp_votes, evidence = _classify(votes, block.header, checkpoint.message(),
                                                 replica.validators)
        if min(len(matching), len(cp_votes)) < need:
            return voted == height
        if not replica.validated(block.header) and not self._validate(block):
            return False  # certified, yet it does not execute here: this node stays behind
        cert = CommitCertificate(height, block.header.hash, tuple(matching))
        signed_checkpoint = SignedCheckpoint(checkpoint, tuple(cp_votes))
        replica.commit(block, cert, signed_checkpoint, evidence)
        self.commits += 1
        self.on_commit(decided)
        if replica.key is not None and block.header.proposer == replica.key.public_hex:
            # The proposer alone deletes what its block decided (one write, not n). Should it
            # fail first, the next proposer finds the committed ones and deletes them, and
            # proposes the refused ones again, to refuse them again.
            self.log.forget([r.id for r in block.records] + sorted(decided.rejected))
        return True

    def _validate(self, block: Block) -> bool:
        try:
            self.replica.validate(block)
        except (ConsensusError, RecordRejected, StoreError) as exc:
            self.replica.discard()
            self.votes_withheld += 1
            self._voted = block.header.height  # never sign this height: it does not match
            log.warning("%s did not sign block %d: %s", self.replica.name, block.header.height,
                        exc)
            return False
        return True


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
