"""The chain's keys in etcd: submissions, proposals, votes and refusals (see
:mod:`ledger.consensus.ordering` for the protocol that runs over them).

Keys, under ``jifentong/<chain>/<genesis hash, 16 hex>/``, where ``<h>`` is a height in 12
digits and ``<hr>`` is ``<h>`` in round 0 and ``<h>.<round>`` in a later round::

    sub/<record id>             an acknowledged submission (deleted once decided)
    prop/<hr>                   the one proposal of a height and round: header, records,
                                rejections and, when there are any, the candidate ids in
                                the order they were proposed from (created by
                                compare-and-swap)
    vote/<hr>/<validator>       a validator's signatures over the header and the checkpoint
    refuse/<hr>/<validator>     a validator's signed refusal of that round's proposal
"""

from __future__ import annotations

import json
import logging
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field

from ledger.application import ValidatorInfo
from ledger.chain.block import Block, Header
from ledger.chain.certificate import Vote, valid_signers
from ledger.consensus.etcd import KeyValueStore
from ledger.consensus.watched import WatchedSubmissions
from ledger.errors import LedgerError
from ledger.limits import (
    ordering_pending_max,
    proposals_seen_max,
    refusal_reason_chars_max,
    verified_records_kept_max,
)
from ledger.wire.hashing import Domain, digest
from ledger.wire.record import Record, record_from_wire

log = logging.getLogger("jifentong.ordering")


def refusal_message(header_hash: bytes) -> bytes:
    """What a validator signs to refuse a proposal: SHA-256(0x17 || header hash), which no
    vote (a header hash) or checkpoint signature can be mistaken for."""
    return digest(Domain.REFUSAL, header_hash)


def _label(height: int, round_: int) -> bytes:
    return b"%012d" % height if round_ == 0 else b"%012d.%d" % (height, round_)


@dataclass(frozen=True, slots=True)
class Decided:
    """What a height's proposal decides: the block, the records its proposer left out
    (id -> code) and, when it left some out, the ids it passed to ``Replica.propose``, in
    that order (so that a validator can re-derive the refusals:
    :mod:`ledger.consensus.refusal_check`)."""

    block: Block
    rejected: dict[str, str] = field(default_factory=dict)
    candidates: tuple[str, ...] = ()


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

    def known(self, record: Record) -> bool:
        """True when ``record`` (its id and signatures) is remembered as verified."""
        with self._lock:
            return self._records.get(record.id) == record.signatures

    def mark(self, record: Record) -> Record:
        with self._lock:
            if self._records.get(record.id) == record.signatures:
                record.verified = True
        return record


class EtcdLog:
    """The chain's keys in etcd (see the module docstring)."""

    def __init__(self, client: KeyValueStore, chain: str, genesis_hash: bytes) -> None:
        self.client = client
        self.prefix = f"jifentong/{chain}/{genesis_hash.hex()[:16]}/".encode()
        self.verified = VerifiedRecords()
        #: pending submissions as the watch delivered them (fed by :meth:`observe`)
        self.watched = WatchedSubmissions()
        self._seen: dict[bytes, bytes] = {}  # proposals the watch delivered, by key
        self._seen_lock = threading.Lock()

    def _sub(self, record_id: str) -> bytes:
        return self.prefix + b"sub/" + record_id.encode()

    def _prop(self, height: int, round_: int) -> bytes:
        return self.prefix + b"prop/" + _label(height, round_)

    def _votes(self, height: int, round_: int) -> bytes:
        return self.prefix + b"vote/" + _label(height, round_) + b"/"

    def _refusals(self, height: int, round_: int) -> bytes:
        return self.prefix + b"refuse/" + _label(height, round_) + b"/"

    def submit(self, records: Sequence[Record]) -> None:
        """Append ``records``; returns once etcd committed them (the acknowledgement)."""
        self.client.put_many([(self._sub(r.id), r.wire_bytes()) for r in records])
        self.verified.remember(records)

    def pending(self, limit: int = ordering_pending_max) -> list[Record]:
        """Submissions not yet decided, oldest first: from the watched view when it is
        complete, else read from the log (which, with the watch up, reloads the view)."""
        view = self.watched.oldest(limit)
        if view is not None:
            return [self.verified.mark(r) for r in view]
        live = self.watched.live
        read = self.watched.kept_max + 1 if live else limit
        out = []
        kvs = self.client.range_prefix(self.prefix + b"sub/", limit=read, by_creation=True)
        for kv in kvs:
            try:
                out.append(self.verified.mark(record_from_wire(json.loads(kv.value))))
            except (LedgerError, ValueError) as exc:  # only a writer with etcd access
                log.warning("unreadable submission %r: %s", kv.key, exc)
        if live:
            self.watched.load(out, complete=len(kvs) < read)
        return out[:limit]

    def pending_count(self) -> int:
        return self.client.count_prefix(self.prefix + b"sub/")

    def is_pending(self, record_id: str) -> bool:
        return self.client.get(self._sub(record_id)) is not None

    def decided(self, record_ids: Sequence[str]) -> None:
        """The records of a committed height: out of the watched view at once (their
        deletions arrive later, and only after the proposer deletes them)."""
        for record_id in record_ids:
            self.watched.delete(record_id)

    def forget(self, record_ids: Sequence[str]) -> None:
        """Delete decided submissions (idempotent: every node does it after a commit)."""
        self.client.delete_many([self._sub(i) for i in record_ids])

    def propose(self, block: Block, rejected: dict[str, str], round_: int = 0,
                candidates: Sequence[str] = ()) -> tuple[bool, Decided]:
        """Create the proposal of the block's height (in ``round_``) unless one exists;
        returns whether ours won and the proposal that stands. ``candidates`` (the ids
        passed to ``Replica.propose``, in order) is written only when ``rejected`` is not
        empty: without refusals there is nothing to re-derive."""
        obj = {"header": block.header.to_json(), "records": [r.to_wire() for r in block.records],
               "rejected": rejected}
        kept = tuple(candidates) if rejected else ()
        if kept:
            obj["candidates"] = list(kept)
        value = json.dumps(obj, sort_keys=True).encode()
        won, kv = self.client.create(self._prop(block.header.height, round_), value)
        if won:  # ours stands: its records are the objects the proposer already checked
            self.verified.remember(block.records)
            return True, Decided(block, dict(rejected), kept)
        return False, self._decode(kv.value)

    def submissions(self, record_ids: Sequence[str]) -> dict[str, Record]:
        """The pending submissions among ``record_ids``, by id (one read per
        ``etcd_txn_ops_max``); a key whose record does not parse or has another id is left
        out."""
        found = {}
        for kv in self.client.get_many([self._sub(i) for i in record_ids]):
            try:
                record = self.verified.mark(record_from_wire(json.loads(kv.value)))
            except (LedgerError, ValueError) as exc:
                log.warning("unreadable submission %r: %s", kv.key, exc)
                continue
            if kv.key == self._sub(record.id):
                found[record.id] = record
        return found

    def proposal(self, height: int, round_: int = 0) -> Decided | None:
        """The proposal of ``height`` in ``round_``: as the watch delivered it, or read."""
        key = self._prop(height, round_)
        with self._seen_lock:
            value = self._seen.pop(key, None)
        if value is not None:
            try:
                return self._decode(value)
            except (LedgerError, ValueError, KeyError, TypeError):
                pass  # read it from etcd instead: the error, if any, comes from there
        kv = self.client.get(key)
        return None if kv is None else self._decode(kv.value)

    def observe(self, changes: Sequence[tuple[bytes, bytes]]) -> list[Record]:
        """Take in what the watch delivered: proposals are kept until read (a proposal key
        is created once, so what the watch saw is what a read returns: no round trip), and
        submissions go into the watched view (:mod:`ledger.consensus.watched`). Returns the
        submissions whose signatures this process has not verified yet, parsed (an
        unreadable one is left out: reading it from the log reports it)."""
        subs, props, unverified = self.prefix + b"sub/", self.prefix + b"prop/", []
        for key, value in changes:
            if key.startswith(props) and value:
                with self._seen_lock:
                    if len(self._seen) >= proposals_seen_max:
                        self._seen.clear()  # nobody read these: heights long past
                    self._seen[key] = value
            elif key.startswith(subs) and not value:
                self.watched.delete(key[len(subs):].decode(errors="replace"))
            elif key.startswith(subs):
                try:
                    record = record_from_wire(json.loads(value))
                except (LedgerError, ValueError):
                    continue
                if key[len(subs):] != record.id.encode():
                    continue  # not where an honest node puts it: the log read reports it
                self.watched.put(record)
                if not self.verified.known(record):
                    unverified.append(record)
        return unverified

    def _decode(self, value: bytes) -> Decided:
        decided = _decode_proposal(value)
        for record in decided.block.records:
            self.verified.mark(record)
        return decided

    def vote(self, height: int, vote: Vote, checkpoint_vote: Vote, signed: Header,
             round_: int = 0) -> None:
        value = json.dumps({"header": signed.to_json(), "signature": vote.signature.hex(),
                            "checkpoint": checkpoint_vote.signature.hex()}, sort_keys=True)
        self.client.put(self._votes(height, round_) + vote.validator.encode(), value.encode())

    def refuse(self, header: Header, refusal: Vote, reason: str, round_: int = 0) -> None:
        """Publish ``refusal.validator``'s signed refusal of the proposal ``header``."""
        value = json.dumps({"header": header.hash.hex(), "signature": refusal.signature.hex(),
                            "reason": reason[:refusal_reason_chars_max]}, sort_keys=True)
        self.client.put(self._refusals(header.height, round_) + refusal.validator.encode(),
                        value.encode())

    def refusers(self, header: Header, validators: Sequence[ValidatorInfo],
                 round_: int = 0) -> list[str]:
        """The validators whose refusal of the proposal ``header`` (in ``round_``) is in the
        log and verifies, in validator-set order."""
        prefix = self._refusals(header.height, round_)
        refusals = []
        for kv in self.client.range_prefix(prefix):
            try:
                obj = json.loads(kv.value)
                if obj["header"] == header.hash.hex():
                    refusals.append(Vote(kv.key[len(prefix):].decode(),
                                         bytes.fromhex(obj["signature"])))
            except (ValueError, KeyError, TypeError) as exc:
                log.warning("unreadable refusal %r: %s", kv.key, exc)
        return valid_signers(refusal_message(header.hash), refusals, validators)

    def votes(self, height: int, round_: int = 0) -> list[tuple[str, Header, bytes, bytes]]:
        """(validator, header it signed, header signature, checkpoint signature) per vote."""
        prefix = self._votes(height, round_)
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
    return Decided(Block(Header.from_json(obj["header"]), records), dict(obj["rejected"]),
                   tuple(str(i) for i in obj.get("candidates", ())))
