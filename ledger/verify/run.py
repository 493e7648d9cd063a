"""One verification run: every node's copy in lockstep, one replay, signatures in a pool.

The node with the most blocks is the primary: its blocks are checked and replayed. At each
height every other node's raw block is compared with the primary's; one that differs is
checked on its own (signatures verified at once) and, if it holds up, is a fork
(``nodes_disagree``). When the replay reaches a node's head, that node's stored rows are
compared with the replay's, so a lagging node is checked at its own height.
"""

from __future__ import annotations

import copy
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from ledger.application import (
    OK,
    Application,
    BlockContext,
    ValidatorInfo,
    next_state,
    ordered_changes,
)
from ledger.chain import merkle
from ledger.chain.genesis import validator_set_hash
from ledger.errors import InvariantViolation
from ledger.verify.blocks import (
    CheckedBlock,
    Tip,
    check_expiry,
    check_header,
    check_records,
    check_seals,
    check_total,
)
from ledger.verify.checkpoint import check_given, check_journal, check_reached, load_checkpoint
from ledger.verify.failure import STAGE_STORED, Report, SourceError, StateMoved, VerifyFailed, fail
from ledger.verify.rows import ExpectedRows
from ledger.verify.sigs import SignatureChecker
from ledger.verify.source import ChainSource, Progress, RawBlock
from ledger.verify.state import (
    LEDGER_TABLES,
    check_evidence,
    check_tables,
    compare_stored,
    meta_rows,
    validator_rows,
)
from ledger.verify.store_source import STORE_ERRORS
from ledger.verify.stream import open_streams

#: An audit of the whole application state may take at most this share of the run.
audit_share_max = 0.01
class Run:
    """State of one run; see :func:`ledger.verify.verifier.verify_chain`."""

    def __init__(self, source: ChainSource, app_factory: Callable[[], Application], *,
                 from_height: int | None, to_height: int | None, checkpoint: Any,
                 progress: Progress | None, workers: int | list[Any],
                 sig_cache: set[bytes] | None) -> None:
        self.source, self.app_factory = source, app_factory
        self.from_height, self.to_height = from_height or 1, to_height
        self.checkpoint = checkpoint
        self.progress = progress
        self.sigs = SignatureChecker(workers, sig_cache)
        self.sig_cache = sig_cache
        self.report = Report(target=source.target)
        self.expected: ExpectedRows | None = None
        self._audit_due = 0.0
        self._audited_at = -1
        self.stop = 0  # the last height checked (set when the run starts)

    def run(self) -> Report:
        started = time.perf_counter()
        try:
            self._run()
        except STORE_ERRORS as exc:
            raise SourceError(f"a store of {self.source.target} cannot be read: {exc}") from exc
        except VerifyFailed as exc:
            first = exc
            try:
                late = self.sigs.finish()
            except Exception:  # the failure already found is what matters
                late = None
            if late is not None and VerifyFailed(late).at < exc.at:
                first = VerifyFailed(late)
            self.report.failure = first.failure
        finally:
            self.sigs.close()
            if self.expected is not None:
                self.report.table_rows = {s.name: self.expected.count(s.name)
                                          for s in self.specs}
                self.expected.close()
            self.source.close()
        self.report.signatures = self.sigs.count
        self.report.seconds = time.perf_counter() - started
        return self.report

    # -- setup -------------------------------------------------------------------------------

    def _run(self) -> None:
        genesis = self.genesis = self.source.genesis()
        report, self.chain = self.report, genesis.chain
        report.chain = genesis.chain
        self.nodes = list(self.source.nodes())
        report.nodes = [n.name for n in self.nodes]
        if self.checkpoint is not None:
            self.checkpoint = load_checkpoint(self.checkpoint, self.chain)
        app = self.app = self.app_factory()
        self.specs = list(app.tables())
        execution = app.init_chain(genesis.chain, genesis.time_ms, genesis.app)
        app.commit()
        changes = ordered_changes(execution.changes)
        self.state = self.genesis_state = next_state(genesis.hash, changes, ordered=True)
        states = [n.state() for n in self.nodes]
        self.expected = ExpectedRows(self.specs, app.rows, streamed=all(
            s is None or getattr(s, "snapshot", False) for s in states))
        self.expected.apply(0, changes)
        self.tip = Tip(genesis.chain, 0, genesis.hash, genesis.time_ms, 0, genesis.validators,
                       validator_set_hash(genesis.validators).hex(), merkle.CompactRange())
        self.sets: list[tuple[int, tuple[ValidatorInfo, ...]]] = [(0, genesis.validators)]
        self.seqs: dict[str, int] = {}
        heads = [n.head() for n in self.nodes]
        self.heights = [h for h, _ in heads]
        top = max(self.heights)
        stop = top if self.to_height is None else min(top, self.to_height)
        self.primary = self.heights.index(top)
        self.evidence = [self._evidence(n) for n in self.nodes]
        self.streams = [open_streams(self.expected, n, height)
                        for n, height in zip(self.nodes, self.heights, strict=True)]
        self._stream(0)
        self.stop = stop
        self._chain(stop, heads[self.primary][1])
        if stop < top:
            report.notes.append(f"stopped at height {stop} (--to): stored rows of nodes "
                                "above it were not compared")
        failure = self.sigs.finish()
        if failure is not None:
            raise VerifyFailed(failure)
        last = getattr(self, "last_checkpoint", None)
        report.checkpoint = None if last is None else last.to_json()
        if self.checkpoint is not None:
            check_reached(self.checkpoint, stop, top, self.nodes[self.primary].name, report.notes)
        journal = self.source.pending()
        if journal is not None:
            check_journal(journal, self.chain, getattr(self.source, "journal_name", "journal"))

    def _evidence(self, node: Any) -> dict[Any, list[tuple[Any, ...]]]:
        state = node.state()
        rows = None if state is None else state.rows("evidence", *LEDGER_TABLES["evidence"])
        out: dict[Any, list[tuple[Any, ...]]] = defaultdict(list)
        for row in rows or ():
            out[row[0]].append(tuple(row))
        return out

    # -- the chain ---------------------------------------------------------------------------

    def _chain(self, stop: int, records_max: int) -> None:
        iters = [n.blocks() for n in self.nodes]
        for i, height in enumerate(self.heights):
            if height == 0:
                self._final(i, 0, iters[i])
        for h in range(1, stop + 1):
            raws = {i: self._next(i, it, h) for i, it in enumerate(iters)
                    if self.heights[i] >= h}
            raw = raws[self.primary]
            others = [i for i, other in raws.items() if i != self.primary and other != raw]
            before = copy.deepcopy(self.tip) if others else None
            block = self._block(raw, self.nodes[self.primary].name)
            if before is not None:  # some node's block differs from the primary's
                for i in others:
                    self._other(i, raws[i], copy.deepcopy(before), block)
            self._replay(block)
            for i, height in enumerate(self.heights):
                if height == h:
                    self._final(i, h, iters[i])
            failure = self.sigs.end_block(len(block.records))
            if failure is not None:
                raise VerifyFailed(failure)
            if self.progress is not None:
                self.progress(h, stop, self.tip.total, records_max)

    def _next(self, i: int, it: Any, h: int) -> RawBlock:
        raw: RawBlock | None = next(it, None)
        if raw is None:
            raise fail("row_missing", h, self.nodes[i].name, table="blocks", key=(h,))
        return raw

    def _block(self, raw: RawBlock, node: str) -> CheckedBlock:
        tip, h = self.tip, self.tip.height + 1
        header = check_header(raw, tip, node)
        records, record_sigs, packed = check_records(raw, header, self.chain, self.seqs, node)
        check_expiry(records, header, self.genesis.params.record_ttl_ms_max, node)
        check_total(header, tip, node)
        tip.history.append(merkle.leaf_hash(header.hash))
        signed = h >= self.from_height
        if signed:
            failure = self.sigs.add_records(record_sigs, packed, last=h == self.stop)
            if failure is not None:
                raise VerifyFailed(failure)
            self.report.blocks += 1
            self.report.records += len(records)
        checkpoint = check_seals(raw, header, tip, self.sigs if signed else None, node)
        return CheckedBlock(header, records, checkpoint)

    def _other(self, i: int, raw: RawBlock, tip: Tip, primary: CheckedBlock) -> None:
        """A node whose block differs from the primary's: check it alone."""
        node, h = self.nodes[i].name, tip.height + 1
        sigs = SignatureChecker(0, self.sig_cache)
        header = check_header(raw, tip, node)
        others, record_sigs, packed = check_records(raw, header, self.chain, None, node)
        check_expiry(others, header, self.genesis.params.record_ttl_ms_max, node)
        check_total(header, tip, node)
        tip.history.append(merkle.leaf_hash(header.hash))
        signed = h >= self.from_height
        failure = sigs.add_records(record_sigs, packed) if signed else None
        if failure is None:
            check_seals(raw, header, tip, sigs if signed else None, node)
            failure = sigs.finish()
        if failure is not None:
            raise VerifyFailed(failure)
        if header.hash != primary.header.hash:
            raise fail("nodes_disagree", h, node, expected=primary.header.hash.hex(),
                       found=header.hash.hex(), detail="two validly certified blocks at one "
                       f"height: {self.nodes[self.primary].name} and {node} have forked")

    def _replay(self, block: CheckedBlock) -> None:
        header, tip, app = block.header, self.tip, self.app
        h, node = header.height, self.nodes[self.primary].name
        try:
            execution = app.execute(BlockContext(self.chain, h, header.time_ms), block.records)
        except AssertionError as exc:
            raise fail("invariant_violated", h, node, detail=str(exc)) from None
        except Exception as exc:  # any crash of the rules is a finding
            raise fail("replay_error", h, node, detail=repr(exc)) from None
        for record, code in zip(block.records, execution.codes, strict=True):
            if code != OK:
                raise fail("record_rejected", h, node, record=record.id, expected=OK,
                           found=code, detail="the rules reject a committed record")
        changes = ordered_changes(execution.changes)
        self.state = next_state(self.state, changes, ordered=True)
        if self.state.hex() != header.state:
            raise fail("state_mismatch", h, node, expected=self.state.hex(), found=header.state,
                       detail="the replay's state commitment is not the header's")
        app.commit()
        self._invariants(h, node)
        for row in self._evidence_at(h):
            check_evidence(row[1], header.hash, self.chain, tip.validators, row[0])
        if self.checkpoint is not None:
            check_given(self.checkpoint, self.tip, h, node)
        if self.expected is None:
            raise InvariantViolation("the replay has not started")
        self.expected.apply(h, changes)
        self._stream(h)
        tip.height, tip.hash, tip.time_ms, tip.total = h, header.hash, header.time_ms, header.total
        if execution.validators is not None:
            self.sets.append((h + 1, tuple(execution.validators)))
            tip.validators = tuple(execution.validators)
            tip.validators_hash = validator_set_hash(tip.validators).hex()
        self.report.height = self.report.blocks_replayed = h
        self.last_checkpoint = block.checkpoint

    def _stream(self, h: int) -> None:
        """Compare block ``h``'s rows of append-only tables with each node that has it."""
        if self.expected is None:
            raise InvariantViolation("the replay has not started")
        block, tables = self.expected.block, self.expected.tables
        for i, streams in enumerate(self.streams):
            if self.heights[i] >= h:
                for name, stream in streams.items():
                    stream.block(h, block.get(name, []), tables[name].pk_at)

    def _evidence_at(self, h: int) -> list[tuple[str, tuple[Any, ...]]]:
        return [(self.nodes[i].name, row) for i, rows in enumerate(self.evidence)
                for row in rows.pop(h, ())]

    def _invariants(self, h: int, node: str, force: bool = False) -> None:
        """After block ``h``: the application's per-block invariants, and its whole-state
        audit when due (``force``: at a node's head, the audit alone)."""
        problems: list[str] = []
        if not force and self.app.invariants_in_execute:
            self.report.invariants_checked += 1  # execute checked them (or raised)
        now = time.perf_counter()
        if force or now >= self._audit_due:
            problems += self.app.audit()
            self._audited_at = h
            took = time.perf_counter() - now
            self._audit_due = time.perf_counter() + took / audit_share_max
            self.report.invariants_checked += 1
        if problems:
            raise fail("invariant_violated", h, node, found=problems[:5],
                       detail=f"{len(problems)} invariant(s) do not hold after the block")

    # -- a node's stored rows at its head ---------------------------------------------------

    def _final(self, i: int, h: int, it: Any) -> None:
        try:
            self._head(i, h, it)
        except VerifyFailed as exc:  # found at this node's head: after the blocks up to it
            raise VerifyFailed(exc.failure, checked_at=h, stage=STAGE_STORED) from None

    def _head(self, i: int, h: int, it: Any) -> None:
        node = self.nodes[i]
        for _ in it:  # the source checks for stray rows after the last block
            raise fail("row_unexpected", h + 1, node.name, table="blocks", key=(h + 1,))
        state = node.state()
        if state is None:
            self.report.notes.append(f"{node.name}: stored rows not available, not compared")
            return
        if h == self.tip.height and h and self._audited_at != h:
            self._invariants(h, node.name, force=True)
        try:
            self._stored(i, h, state)
        except StateMoved:
            self.report.notes.append(f"{node.name} committed blocks during the run: its "
                                     "stored rows were not compared (verify a quiet node)")

    def _stored(self, i: int, h: int, state: Any) -> None:
        node = self.nodes[i]
        columns = state.table_columns()
        if columns is None:
            self.report.notes.append(f"{node.name} serves no stored rows: not compared")
            return
        check_tables(columns, self.specs, node.name, h)
        ledger = {"meta": meta_rows(self.genesis, self.genesis_state),
                  "seqs": sorted(self.seqs.items()),
                  "validator_sets": validator_rows(self.sets, h)}
        if self.expected is None:
            raise InvariantViolation("the replay has not started")
        self.report.rows_checked += compare_stored(state, node.name, h, ledger, self.specs,
                                                   self.expected, self.streams[i])
        for height, stray in self.evidence[i].items():
            if stray and (type(height) is not int or not 0 < height <= h):
                raise fail("evidence_forged", None, node.name, table="evidence",
                           key=stray[0][:3], detail="evidence for a height with no block")
