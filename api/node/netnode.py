"""One member's node: its own validator key, SQLite store and application, ordered through
etcd with the other members' nodes (``jifentong node``).

It provides the :class:`~api.node.runtime.Serving` interface, so it serves the same HTTP API and
explorer as ``jifentong serve``. A submission is checked against this node's committed state,
then written to the ordering log; the 202 goes out only after etcd committed it. A thread
runs :class:`ledger.consensus.ordering.Orderer` (propose in turn, validate, vote, commit); a
second one watches the log so the first wakes as soon as anything is written.

Signatures are checked on a worker process (:class:`~ledger.consensus.sigpool.SignaturePool`),
never on the ordering thread's critical path when it can be helped: a submission this node
admits is verified there before its check, and one another node admitted is verified there
as soon as the watch delivers it (*pre-verification*), so that when it comes back in a
proposal (``EtcdLog.verified``) neither proposing nor validating verifies it again.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from api.node.admission import Admission
from api.node.datadir import DataDir
from api.node.runtime import Metrics, exchange_view
from exchange.state.state import State
from ledger.application import Application
from ledger.consensus.clock import Clock, SystemClock
from ledger.consensus.consortium import Outcome
from ledger.consensus.etcd import EtcdClient, EtcdTLS
from ledger.consensus.ordering import Decided, EtcdLog, Orderer
from ledger.consensus.replica import Replica
from ledger.consensus.sigpool import SignaturePool, default_workers
from ledger.errors import DuplicateRecord, LedgerError, StaleSequence, StoreError
from ledger.limits import stall_block_intervals, stall_ms_min
from ledger.wire.record import Record

log = logging.getLogger("jifentong.netnode")
#: Decided outcomes kept in memory for ``wait`` and record lookups (committed records are
#: also found in the store; rejections are known until this many newer ones push them out).
outcomes_kept_max = 100_000
#: Seconds the ordering thread sleeps when nothing woke it (the watch usually does first).
poll_s = 0.2
#: Seconds between two counts of the submissions waiting in the log (for health and metrics).
count_s = 1.0


def member_index(data: DataDir, member: str) -> int:
    """The position of validator ``member`` in the genesis validator set."""
    names = [v.name for v in data.genesis().validators]
    if member not in names:
        raise StoreError(f"no validator {member!r} in genesis; validators: {', '.join(names)}",
                         code="unknown_member")
    return names.index(member)


def member_store(data: DataDir, member: str) -> Path:
    return data.path / f"member-{member}.sqlite"


class NetNode:
    """A member's validator over the network (see the module docstring)."""

    def __init__(self, data: DataDir, member: str, endpoints: Sequence[str],
                 app_factory: Callable[[], Application], clock: Clock | None = None,
                 run: bool = True, signature_workers: int | None = None,
                 etcd_tls: EtcdTLS | None = None) -> None:
        self.data, self.member = data, member
        self.genesis = genesis = data.genesis()
        key = data.validator_keys(genesis)[member_index(data, member)]
        if key is None:
            raise StoreError(f"{data.validator_key_path(member_index(data, member))} is "
                             f"missing: member {member!r} needs its validator key",
                             code="validator_key_missing")
        self.clock = clock or SystemClock()
        self._replica = Replica(member, member_store(data, member), genesis, app_factory(), key)
        self.client = EtcdClient(endpoints, tls=etcd_tls)
        self.log = EtcdLog(self.client, genesis.chain, genesis.hash)
        self.orderer = Orderer(self._replica, self.log, self.clock, self._on_commit,
                               interval_ms=genesis.params.block_interval_ms)
        self.metrics = Metrics()
        self.signatures = SignaturePool(default_workers() if signature_workers is None
                                        else signature_workers)
        self.admission = Admission(self.signatures, self.submit_many, offload=True)
        self.admitted_groups = self.admitted_records = 0
        self.stall_after_ms = max(stall_block_intervals * genesis.params.block_interval_ms,
                                  stall_ms_min)
        self._pending_count = 0
        self._counted_s = 0.0  # when the ordering thread last counted pending submissions
        self._advanced_s = time.monotonic()
        self._outcomes: OrderedDict[str, Outcome] = OrderedDict()
        self._waiters: dict[str, list[tuple[asyncio.AbstractEventLoop,
                                            asyncio.Future[Outcome]]]] = defaultdict(list)
        self._lock = threading.Lock()
        self._stop, self._wake = threading.Event(), threading.Event()
        self._threads: list[threading.Thread] = []
        if run:
            for target, name in ((self._order_loop, "ordering"), (self._watch, "etcd-watch")):
                thread = threading.Thread(target=target, name=name, daemon=True)
                thread.start()
                self._threads.append(thread)

    @property
    def replica(self) -> Replica:
        return self._replica

    @property
    def view(self) -> State:
        """The exchange's committed state, read-only (read it under ``replica.lock``)."""
        return exchange_view(self._replica)

    # -- writes ------------------------------------------------------------------------------

    def submit_many(self, records: Sequence[Record]) -> list[LedgerError | None]:
        """Check each record against the committed state and append those that pass to the
        ordering log in one call; each result is None (acknowledged) or the error."""
        results: list[LedgerError | None] = []
        admitted: list[tuple[int, Record]] = []
        for record in records:
            try:
                self._check(record)
            except LedgerError as exc:
                results.append(exc)
            else:
                results.append(None)
                admitted.append((len(results) - 1, record))
        if admitted:
            try:
                self.log.submit([r for _, r in admitted])
            except LedgerError as exc:  # ordering unavailable: nothing is acknowledged
                for index, _ in admitted:
                    results[index] = exc
        self.admitted_groups += 1
        self.admitted_records += len(records)
        return results

    def _check(self, record: Record) -> None:
        location = self._replica.store.record_location(record.id)
        if location is not None:
            raise DuplicateRecord(record.id, location[0])
        try:
            self._replica.check(record, self.clock.peek_ms())
        except StaleSequence:
            location = self._replica.store.record_location(record.id)
            if location is not None:
                raise DuplicateRecord(record.id, location[0]) from None
            raise

    async def admit(self, records: Sequence[Record]) -> list[LedgerError | None]:
        """:meth:`submit_many` for the event loop, grouped (:class:`Admission`): requests
        that arrive while a group is out go together in the next one, so a hundred
        concurrent single-record requests cost a few etcd transactions, not a hundred; their
        signatures are verified on the worker, off the loop and the ordering thread."""
        return await self.admission.submit(records)

    # -- outcomes ----------------------------------------------------------------------------

    def _on_commit(self, decided: Decided) -> None:
        block = decided.block
        height = block.header.height
        outcomes = [Outcome(r.id, height=height, index=i) for i, r in enumerate(block.records)]
        outcomes += [Outcome(i, code=c) for i, c in sorted(decided.rejected.items())]
        self.metrics.blocks_committed += 1
        self.metrics.records_committed += len(block.records)
        self.metrics.records_rejected += len(decided.rejected)
        self._advanced_s = time.monotonic()
        with self._lock:
            for outcome in outcomes:
                self._outcomes[outcome.record_id] = outcome
                for loop, future in self._waiters.pop(outcome.record_id, ()):
                    loop.call_soon_threadsafe(_set_result, future, outcome)
            while len(self._outcomes) > outcomes_kept_max:
                self._outcomes.popitem(last=False)

    def outcome(self, record_id: str) -> Outcome | None:
        with self._lock:
            known = self._outcomes.get(record_id)
        if known is None and (location := self._replica.store.record_location(record_id)):
            return Outcome(record_id, height=location[0], index=location[1])
        return known

    async def wait(self, record_ids: Sequence[str], timeout_s: float) -> dict[str, Outcome]:
        """Wait until every record is decided (committed or rejected), or the timeout."""
        loop = asyncio.get_running_loop()
        futures: dict[str, asyncio.Future[Outcome]] = {}
        for record_id in record_ids:
            future: asyncio.Future[Outcome] = loop.create_future()
            outcome = self.outcome(record_id)
            with self._lock:
                if outcome is None:  # registered under the lock that _on_commit takes
                    outcome = self._outcomes.get(record_id)
                if outcome is not None:
                    future.set_result(outcome)
                else:
                    self._waiters[record_id].append((loop, future))
            futures[record_id] = future
        pending = [f for f in futures.values() if not f.done()]
        if pending:
            await asyncio.wait(pending, timeout=timeout_s)
        return {i: f.result() for i, f in futures.items() if f.done()}

    def is_pending(self, record_id: str) -> bool:
        try:
            return self.log.is_pending(record_id)
        except LedgerError:
            return False

    def mempool_depth(self) -> int:
        """Submissions waiting in the ordering log (as last read by the ordering thread)."""
        return self._pending_count

    def waiting_ms(self) -> int:
        if not self._pending_count:
            return 0
        return int((time.monotonic() - self._advanced_s) * 1000)

    def stalled(self) -> bool:
        return self.waiting_ms() > self.stall_after_ms

    def health(self) -> dict[str, Any]:
        waiting_ms = self.waiting_ms()
        return {"status": "stalled" if waiting_ms > self.stall_after_ms else "ok",
                "waiting_ms": waiting_ms, "stall_after_ms": self.stall_after_ms}

    def peers(self) -> dict[str, int]:
        """This node, and the validators that signed the head block (at the head's height)."""
        replica = self._replica
        out: dict[str, int] = {}
        row = replica.store.thread_reader().execute(
            "SELECT certificate FROM blocks WHERE height = ?", (replica.height,)).fetchone()
        if row is not None:  # the certificate only: the block's records stay on disk
            out = {v["validator"]: replica.height for v in json.loads(row[0])["signatures"]}
        if replica.key is not None:
            out[replica.key.public_hex] = replica.height
        return out

    def counters(self) -> dict[str, int]:
        return {"unprocessable": 0, "votes_withheld": self.orderer.votes_withheld,
                "catch_up_failures": 0, "admission_groups": self.admitted_groups,
                "admission_records": self.admitted_records, "replicas_up": 1, "replicas": 1}

    # -- threads -----------------------------------------------------------------------------

    def _order_loop(self) -> None:
        while not self._stop.is_set():
            try:
                while self.orderer.step() and not self._stop.is_set():
                    pass
                if time.monotonic() - self._counted_s >= count_s:  # not on every wake-up
                    self._counted_s = time.monotonic()
                    count = self.log.pending_count()
                    if count and not self._pending_count:  # progress is owed from now on
                        self._advanced_s = time.monotonic()
                    self._pending_count = count
            except LedgerError as exc:
                self.metrics.rounds_failed += 1
                log.warning("%s: ordering step failed: %s", self.member, exc)
                self._replica.discard()
                self._stop.wait(1.0)
            except Exception:  # never let the ordering thread die silently
                self.metrics.producer_errors += 1
                log.exception("%s: ordering error", self.member)
                self._replica.discard()
                self._stop.wait(1.0)
            due = self.orderer.propose_at_s  # a filling block is cut at its time, not a poll's
            self._wake.wait(poll_s if due is None else
                            min(poll_s, max(0.0, due - time.monotonic())))
            self._wake.clear()

    def _watch(self) -> None:
        self.client.watch_keys(self.log.prefix, self._changed, self._stop,
                               self.log.watched.stream)

    def _changed(self, changes: list[tuple[bytes, bytes]]) -> None:
        """Wake the ordering thread for a proposal or a vote; for a new submission only when
        this node proposes the next height (the others would find nothing to do: a backup
        proposer's timeout is kept by the poll). Under load this spares n - 1 nodes a pass
        per submission."""
        subs = self.log.prefix + b"sub/"
        self._preverify(self.log.observe(changes))
        if any(not key.startswith(subs) for key, _ in changes) or self.orderer.proposer_rank(
                self._replica.height + 1, self.orderer.round) == 0:
            self._wake.set()

    def _preverify(self, records: list[Record]) -> None:
        """Verify submissions the watch delivered on the worker; once back, remember the
        ones that verified, so the ordering thread does not verify them again."""
        if records:
            self.signatures.verify(records).add_done_callback(
                lambda _: self.log.verified.remember(records))

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        for thread in self._threads:  # the watch may sit in a read: do not wait long for it
            thread.join(timeout=10 if thread.name == "ordering" else 0.5)
        self.client.close()
        self.signatures.close()
        self._replica.close()


def _set_result(future: asyncio.Future[Outcome], outcome: Outcome) -> None:
    if not future.done():
        future.set_result(outcome)
