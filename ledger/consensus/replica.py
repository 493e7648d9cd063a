"""A validator replica: its own key, its own SQLite store, its own copy of the application.

A replica checks records (signatures, chain, sequence, then the application's ``check``),
proposes blocks from them, re-executes blocks proposed by others and signs a header only when
its own result matches, and commits a block once it holds a commit certificate. It never
trusts a peer: blocks fetched while catching up are checked exactly like proposals.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ledger.application import OK, Application, BlockContext, Execution, ValidatorInfo, next_state
from ledger.chain import merkle
from ledger.chain.block import Block, Header, records_root
from ledger.chain.certificate import CommitCertificate, Vote, verify_certificate
from ledger.chain.checkpoint import Checkpoint, SignedCheckpoint
from ledger.chain.genesis import Genesis, validator_set_hash
from ledger.chain.header_rules import Parent, check_time_not_ahead, validate_header
from ledger.chain.record_expiry import check_expiry, expiry_code
from ledger.consensus.mempool import seq_ordered
from ledger.crypto.keys import SigningKey
from ledger.errors import (
    ApplicationRejected,
    ConsensusError,
    HeaderInvalid,
    RecordRejected,
    RecordUnprocessable,
    StaleSequence,
    StoreError,
    WrongChain,
)
from ledger.store import Store
from ledger.wire.record import Record

SEQUENCE_REPLAYED = StaleSequence.code
#: The ConsensusError code of a block this replica's application cannot execute or encode.
BLOCK_UNEXECUTABLE = "block_unexecutable"
log = logging.getLogger("jifentong.ledger")


def time_not_ahead(header: Header, now_ms: int) -> None:
    """The vote-time rule :func:`ledger.chain.header_rules.check_time_not_ahead`, raised as
    the ConsensusError (``block_invalid``) every other refusal of a block is."""
    try:
        check_time_not_ahead(header, now_ms)
    except HeaderInvalid as exc:
        raise ConsensusError(f"block {header.height}: {exc}", code="block_invalid") from exc


@dataclass(slots=True)
class Proposal:
    """A proposed block and the candidate records that were left out, with their codes."""

    block: Block
    rejected: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class _Pending:
    block: Block
    execution: Execution
    seqs: dict[str, int]


class Replica:
    """One validator (or observer, without a key) of the simulated consortium."""

    def __init__(self, name: str, path: Path, genesis: Genesis, app: Application,
                 key: SigningKey | None = None) -> None:
        self.name, self.genesis, self.app, self.key = name, genesis, app, key
        self.chain = genesis.chain
        self.store = Store(path, app.tables())
        stored = self.store.genesis()
        if stored is None:
            execution = app.init_chain(genesis.chain, genesis.time_ms, genesis.app)
            app.commit()
            state = next_state(genesis.hash, execution.changes)
            self.store.write_genesis(genesis, execution.changes, state)
        elif stored.hash != genesis.hash:
            raise StoreError(f"store {path} belongs to chain {stored.chain!r} with another genesis")
        else:
            app.restore({t.name: self.store.app_rows(t.name) for t in app.tables() if t.restore})
        self.byzantine = False
        self.lock = threading.RLock()  # guards the committed state (check vs. commit)
        self._pending: _Pending | None = None
        self._load_head()

    def _load_head(self) -> None:
        store = self.store
        self.height = store.height()
        self.head = store.header(self.height) if self.height else None
        if self.head is None:
            self.head_hash, self.time_ms = self.genesis.hash, self.genesis.time_ms
            self.state = bytes.fromhex(store.meta("genesis_state") or "")
            self.total = 0
        else:
            self.head_hash, self.time_ms = self.head.hash, self.head.time_ms
            self.state, self.total = bytes.fromhex(self.head.state), self.head.total
        self.validator_history = store.validator_sets()
        self.validators = self.validators_at(self.height + 1)
        self.seqs = store.seqs()
        self.history = merkle.CompactRange.from_leaf_hashes(
            merkle.leaf_hash(h) for h in store.header_hashes())

    def validators_at(self, height: int) -> tuple[ValidatorInfo, ...]:
        """The validator set that certifies the block at ``height``."""
        current = self.validator_history[0][1]
        for start, validators in self.validator_history:
            if start <= height:
                current = validators
        return current

    # -- records ---------------------------------------------------------------------------

    def block_time(self, now_ms: int) -> int:
        """The time of the next block if it were cut at ``now_ms`` (times only grow)."""
        return max(now_ms, self.time_ms + 1)

    def check(self, record: Record, now_ms: int) -> None:
        """Raise a RecordRejected subclass unless ``record`` may enter the mempool.

        ``now_ms`` (the node's clock) is the candidate block time for the expiry rule."""
        if record.chain != self.chain:
            raise WrongChain(f"record is for chain {record.chain!r}, this is {self.chain!r}")
        last = self.seqs.get(record.signers[0], 0)
        if record.seq <= last:
            raise StaleSequence(record.signers[0], record.seq, last)
        record.verify_signatures()
        check_expiry(record.expires, self.block_time(now_ms),
                     self.genesis.params.record_ttl_ms_max)
        with self.lock:
            code = self.app.check(record)
        if code != OK:
            raise ApplicationRejected(code)

    def _seq_filter(self, records: Sequence[Record]) -> tuple[list[Record], dict[str, str]]:
        working: dict[str, int] = {}
        kept, rejected = [], {}
        for record in records:
            signer = record.signers[0]
            if record.seq <= max(self.seqs.get(signer, 0), working.get(signer, 0)):
                rejected[record.id] = SEQUENCE_REPLAYED
                continue
            working[signer] = record.seq
            kept.append(record)
        return kept, rejected

    # -- proposing and validating ------------------------------------------------------------

    def _expiry_filter(self, records: Sequence[Record], time_ms: int,
                       rejected: dict[str, str]) -> list[Record]:
        """The records that may commit at ``time_ms``; the others go to ``rejected``."""
        ttl_ms_max, kept = self.genesis.params.record_ttl_ms_max, []
        for record in records:
            code = expiry_code(record.expires, time_ms, ttl_ms_max)
            if code is None:
                kept.append(record)
            else:
                rejected[record.id] = code
        return kept

    def propose(self, candidates: Sequence[Record], now_ms: int,
                proposer: str | None = None) -> Proposal:
        """Execute ``candidates`` (already checked) and build a block of those accepted,
        proposed by ``proposer`` (this replica's key by default; a validator re-deriving
        another's proposal names that one).

        No single record can stop the chain: when executing or encoding the candidates
        fails, the record that makes a prefix of them fail is found by bisection, rejected
        (``record_unprocessable``) and left out, and the rest are tried again.

        Each signer's records go in sequence order (in the slots they arrived in), so that
        records sent over several connections all commit; expired ones are left out.
        """
        self.discard()
        time_ms = self.block_time(now_ms)
        rejected: dict[str, str] = {}
        live = self._expiry_filter(seq_ordered(candidates), time_ms, rejected)
        accepted, replayed = self._seq_filter(live)
        rejected.update(replayed)
        ctx = BlockContext(self.chain, self.height + 1, time_ms)
        while True:
            result = self._execute(ctx, accepted)
            if isinstance(result, Exception):
                culprit = accepted.pop(self._first_failing(ctx, accepted))
                log.warning("%s: record %s left out of block %d: %r", self.name, culprit.id,
                            ctx.height, result)
                rejected[culprit.id] = RecordUnprocessable.code
                continue
            execution, state = result
            if all(code == OK for code in execution.codes):
                break
            # Execute exactly the records that go into the block, so that no effect (a row
            # numbered by position, say) depends on a record left out. Terminates: each
            # pass removes at least one record.
            kept = []
            for record, code in zip(accepted, execution.codes, strict=True):
                if code == OK:
                    kept.append(record)
                else:
                    rejected[record.id] = code
            accepted = kept
            self.app.discard()
        header = Header(
            chain=self.chain, height=self.height + 1, prev=self.head_hash.hex(), time_ms=time_ms,
            records=len(accepted), total=self.total + len(accepted),
            root=records_root(accepted).hex(), state=state.hex(),
            validators=validator_set_hash(self.validators).hex(),
            proposer=proposer if proposer is not None else (
                self.key.public_hex if self.key else ""),
        )
        block = Block(header, tuple(accepted))
        self._pending = _Pending(block, execution, self._new_seqs(accepted))
        return Proposal(block, rejected)

    def _execute(self, ctx: BlockContext,
                 records: Sequence[Record]) -> tuple[Execution, bytes] | Exception:
        """The execution of ``records`` and the state commitment after it, or the exception
        that executing or encoding raised (the working state is then discarded)."""
        try:
            execution = self.app.execute(ctx, records)
            return execution, next_state(self.state, execution.changes)
        except Exception as exc:  # any failure, so that one record cannot halt the chain
            self.app.discard()
            return exc

    def _first_failing(self, ctx: BlockContext, records: list[Record]) -> int:
        """The index ``i`` such that ``records[:i]`` executes and ``records[:i + 1]`` fails,
        given that all of ``records`` fails: a bisection over prefixes (about log2(n)
        executions). Raises ConsensusError when even an empty block fails."""
        if isinstance(failed := self._execute(ctx, []), Exception):
            raise ConsensusError(f"block {ctx.height}: the application cannot execute even an "
                                 f"empty block: {failed!r}", code=BLOCK_UNEXECUTABLE)
        self.app.discard()
        good, bad = 0, len(records)  # records[:good] executes, records[:bad] fails
        while bad - good > 1:
            middle = (good + bad) // 2
            if isinstance(self._execute(ctx, records[:middle]), Exception):
                bad = middle
            else:
                self.app.discard()
                good = middle
        return bad - 1

    def validate(self, block: Block) -> None:
        """Re-execute a proposed block; raise ConsensusError unless the result matches."""
        if self._pending is not None and self._pending.block.header.hash == block.header.hash:
            return  # our own proposal
        self.discard()
        h = block.header
        try:
            validate_header(h, self.parent())
        except HeaderInvalid as exc:
            raise ConsensusError(f"block {h.height}: {exc}", code="block_invalid") from exc
        expect = [
            (h.total == self.total + h.records, "total"),
            (h.records <= self.genesis.params.block_records_max, "record count"),
        ]
        for ok, what in expect:
            if not ok:
                raise ConsensusError(f"block {h.height}: {what} does not follow from height "
                                     f"{self.height}", code="block_invalid")
        try:
            block.check_contents()
        except StoreError as exc:
            raise ConsensusError(str(exc), code="block_invalid") from exc
        if self._seq_filter(block.records)[1]:
            raise ConsensusError(f"block {h.height} replays a sequence number",
                                 code="block_invalid")
        ttl_ms_max = self.genesis.params.record_ttl_ms_max
        for record in block.records:
            if record.chain != self.chain:
                raise ConsensusError(f"block {h.height} holds a record of another chain",
                                     code="block_invalid")
            try:
                check_expiry(record.expires, h.time_ms, ttl_ms_max)
            except RecordRejected as exc:
                raise ConsensusError(f"block {h.height}: record {record.id}: {exc}",
                                     code="block_invalid") from exc
            record.verify_signatures()
        result = self._execute(BlockContext(self.chain, h.height, h.time_ms), block.records)
        if isinstance(result, Exception):
            raise ConsensusError(f"block {h.height} cannot be executed here: {result!r}",
                                 code=BLOCK_UNEXECUTABLE)
        execution, after = result
        bad = [(r.id, c) for r, c in zip(block.records, execution.codes, strict=True) if c != OK]
        state = after.hex()
        if bad or state != h.state:
            self.app.discard()
            why = f"record {bad[0][0]} rejected: {bad[0][1]}" if bad else "state commitment differs"
            raise ConsensusError(f"block {h.height}: {why}", code="block_invalid")
        self._pending = _Pending(block, execution, self._new_seqs(block.records))

    def validated(self, header: Header) -> bool:
        """True when the block with ``header`` is validated here and awaits its commit."""
        return self._pending is not None and self._pending.block.header.hash == header.hash

    def parent(self) -> Parent:
        """What the next block's header must follow (:mod:`ledger.chain.header_rules`)."""
        return Parent(self.chain, self.height, self.head_hash, self.time_ms, self.validators,
                      validator_set_hash(self.validators).hex())

    def _new_seqs(self, records: Sequence[Record]) -> dict[str, int]:
        return {r.signers[0]: r.seq for r in records}

    def checkpoint_after(self, header: Header) -> Checkpoint:
        """The history checkpoint once ``header`` is appended."""
        history = copy.deepcopy(self.history)
        history.append(merkle.leaf_hash(header.hash))
        return Checkpoint(self.chain, history.size, history.root())

    def sign(self, block: Block) -> tuple[Vote, Vote, Header]:
        """Votes over the validated block's header and the checkpoint after it."""
        if self.key is None:
            raise ConsensusError(f"{self.name} holds no validator key", code="not_a_validator")
        header = block.header
        if self.byzantine:  # fault injection: sign a header with another state
            header = dataclasses.replace(header, state="00" * 32)
        checkpoint = self.checkpoint_after(block.header)
        return (Vote(self.key.public_hex, self.key.sign(header.hash)),
                Vote(self.key.public_hex, self.key.sign(checkpoint.message())), header)

    def commit(self, block: Block, cert: CommitCertificate, checkpoint: SignedCheckpoint,
               evidence: Sequence[tuple[str, Header, bytes]] = ()) -> None:
        """Write a validated, certified block and make its state the committed state."""
        pending = self._pending
        if pending is None or pending.block.header.hash != block.header.hash:
            raise ConsensusError(f"{self.name}: block {block.header.height} was not validated "
                                 "here", code="block_not_validated")
        verify_certificate(cert, block.header.hash, self.validators)
        checkpoint.verify(self.validators)
        # Durable first; then swap the in-memory state under the lock, so concurrent checks
        # wait only for that swap, never for the disk.
        self.store.write_block(block, cert, checkpoint, pending.execution.changes,
                               pending.seqs, pending.execution.validators, evidence)
        with self.lock:
            self.app.commit()
            self._commit_head(block.header, pending)

    def _commit_head(self, header: Header, pending: _Pending) -> None:
        self._pending = None
        self.height, self.head, self.head_hash = header.height, header, header.hash
        self.time_ms, self.total = header.time_ms, header.total
        self.state = bytes.fromhex(header.state)
        self.seqs.update(pending.seqs)
        self.history.append(merkle.leaf_hash(header.hash))
        if pending.execution.validators is not None:
            self.validator_history.append((header.height + 1, pending.execution.validators))
            self.validators = pending.execution.validators

    def apply_certified(self, block: Block, cert: CommitCertificate,
                        checkpoint: SignedCheckpoint) -> None:
        """Catch up: check a block fetched from a peer as if proposed, then commit it."""
        verify_certificate(cert, block.header.hash, self.validators)
        self.validate(block)
        self.commit(block, cert, checkpoint)

    def discard(self) -> None:
        """Forget a validated but uncommitted block."""
        if self._pending is not None:
            self.app.discard()
            self._pending = None

    def close(self) -> None:
        self.discard()
        self.store.close()


AppFactory = Callable[[], Application]
