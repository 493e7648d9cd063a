"""A running node: the simulated consortium of a data dir, its block producer and waiters.

The HTTP layer talks to :class:`Node` only. Submissions are checked, journaled and queued by
the calling thread; a background thread cuts a block when the mempool holds a full block or
the block interval has passed, and wakes the requests waiting for their records.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from api.node.admission import Admission
from api.node.datadir import DataDir
from exchange.app import ExchangeApp
from exchange.state.state import State
from ledger.application import Application
from ledger.chain.genesis import Genesis
from ledger.consensus.clock import Clock, SystemClock
from ledger.consensus.consortium import Consortium, Outcome
from ledger.consensus.journal import PendingJournal
from ledger.consensus.rejections import RejectedIds
from ledger.consensus.replica import Replica
from ledger.consensus.sigpool import SignaturePool
from ledger.errors import ConsensusError, InvariantViolation, LedgerError
from ledger.limits import stall_block_intervals, stall_ms_min
from ledger.wire.record import Record

log = logging.getLogger("jifentong.node")


@dataclass
class Metrics:
    """Counters exported at /metrics (Prometheus text format)."""

    records_committed: int = 0
    records_rejected: int = 0
    blocks_committed: int = 0
    rounds_failed: int = 0
    producer_errors: int = 0
    request_count: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    request_seconds: dict[str, float] = field(default_factory=lambda: defaultdict(float))

    def observe(self, route: str, seconds: float) -> None:
        self.request_count[route] += 1
        self.request_seconds[route] += seconds


def exchange_view(replica: Replica) -> State:
    """The exchange's committed state of ``replica``, read-only (read it under its lock)."""
    app = replica.app
    if not isinstance(app, ExchangeApp):
        raise InvariantViolation(f"this node runs {type(app).__name__}, not the exchange")
    return app.view


class Serving(Protocol):
    """What the HTTP layer needs of a node: the in-process :class:`Node` (the simulated
    consortium of one data dir) and :class:`api.node.netnode.NetNode` (one member's validator,
    ordered through etcd) both provide it, so one set of routers serves either."""

    genesis: Genesis
    metrics: Metrics

    @property
    def replica(self) -> Replica: ...
    @property
    def view(self) -> State:
        """The exchange's committed state (:func:`exchange_view` of the replica)."""
    async def admit(self, records: Sequence[Record]) -> list[LedgerError | None]: ...
    def submit_many(self, records: Sequence[Record]) -> list[LedgerError | None]: ...
    async def wait(self, record_ids: Sequence[str], timeout_s: float) -> dict[str, Outcome]: ...
    def health(self) -> dict[str, Any]: ...
    def stalled(self) -> bool: ...
    def outcome(self, record_id: str) -> Outcome | None: ...
    def is_pending(self, record_id: str) -> bool: ...
    def mempool_depth(self) -> int: ...
    def peers(self) -> dict[str, int]:
        """Validator key -> height, for the validators this node knows to be up."""
    def counters(self) -> dict[str, int]:
        """The fault and admission counters exported at /metrics and /healthz."""
    def close(self) -> None: ...


class Node:
    """The consortium behind one data dir, with a block-producing thread."""

    def __init__(self, data: DataDir, app_factory: Callable[[], Application],
                 clock: Clock | None = None, produce: bool = True,
                 signature_workers: int = 0) -> None:
        self.data = data
        genesis = data.genesis()
        self.journal = PendingJournal(data.path / "mempool.sqlite")
        self.consortium = Consortium(data.path, genesis, data.validator_keys(genesis),
                                     app_factory, clock or SystemClock(), journal=self.journal,
                                     rejected=RejectedIds(data.path / "rejected.sqlite"))
        self.genesis = genesis
        #: Signatures of HTTP submissions are checked here (worker processes when > 0).
        self.signatures = SignaturePool(signature_workers)
        self.admission = Admission(self.signatures, self.submit_many)
        self.metrics = Metrics()
        self.started_s = time.time()
        self.clock = self.consortium.clock
        params = genesis.params
        #: Records may wait this long for the head to advance before the node is ``stalled``.
        self.stall_after_ms = max(stall_block_intervals * params.block_interval_ms,
                                  stall_ms_min)
        self._owed_since_ms = self.clock.now_ms()  # the head owes progress since then
        self._waiters: dict[str, list[tuple[asyncio.AbstractEventLoop, asyncio.Future[Outcome]]]]
        self._waiters = defaultdict(list)
        self._waiters_lock = threading.Lock()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        if produce:
            self._thread = threading.Thread(target=self._produce_loop, name="block-producer",
                                            daemon=True)
            self._thread.start()

    @property
    def replica(self) -> Replica:
        """The replica that serves reads (the most advanced live one)."""
        return self.consortium.gateway()

    @property
    def view(self) -> State:
        """The exchange's committed state, read-only (read it under ``replica.lock``)."""
        return exchange_view(self.replica)

    def record_expires(self, ttl_ms: int = 600_000) -> int:
        """An ``expires`` for a record this node's clock would take now: the candidate block
        time plus ``ttl_ms`` (for in-process tools and tests that sign beside the node)."""
        return self.replica.block_time(self.consortium.clock.peek_ms()) + ttl_ms

    # -- writes ----------------------------------------------------------------------------

    def submit(self, record: Record) -> None:
        idle = not len(self.consortium.mempool)
        self.consortium.submit(record)
        self._nudge(idle)

    def submit_many(self, records: Sequence[Record]) -> list[LedgerError | None]:
        idle = not len(self.consortium.mempool)
        results = self.consortium.submit_many(records)
        self._nudge(idle)
        return results

    async def admit(self, records: Sequence[Record]) -> list[LedgerError | None]:
        """:meth:`submit_many` for the event loop: signatures checked off the loop, grouped
        with whatever else arrives meanwhile (one journal write per group)."""
        return await self.admission.submit(records)

    def _nudge(self, idle: bool) -> None:
        if idle:  # the first record waiting: the head owes progress from now on
            self._owed_since_ms = self.clock.now_ms()
        if len(self.consortium.mempool) >= self.genesis.params.block_records_max:
            self._wake.set()

    def waiting_ms(self) -> int:
        """How long records have waited without the head advancing (0 when none wait)."""
        if not len(self.consortium.mempool):
            return 0
        return max(0, self.clock.now_ms() - self._owed_since_ms)

    def stalled(self) -> bool:
        """True when records have waited ``stall_after_ms`` without the head advancing."""
        return self.waiting_ms() > self.stall_after_ms

    def health(self) -> dict[str, Any]:
        """``ok``, or ``stalled`` (see :meth:`stalled`), with the figures behind it."""
        waiting_ms = self.waiting_ms()
        return {"status": "stalled" if waiting_ms > self.stall_after_ms else "ok",
                "waiting_ms": waiting_ms, "stall_after_ms": self.stall_after_ms}

    async def wait(self, record_ids: Sequence[str], timeout_s: float) -> dict[str, Outcome]:
        """Wait until every record is decided (committed or rejected), or the timeout."""
        loop = asyncio.get_running_loop()
        futures: dict[str, asyncio.Future[Outcome]] = {}
        with self._waiters_lock:
            for record_id in record_ids:
                outcome = self.consortium.outcome(record_id)
                future: asyncio.Future[Outcome] = loop.create_future()
                if outcome is not None:
                    future.set_result(outcome)
                else:
                    self._waiters[record_id].append((loop, future))
                futures[record_id] = future
        self._wake.set()
        pending = [f for f in futures.values() if not f.done()]
        if pending:
            await asyncio.wait(pending, timeout=timeout_s)
        return {i: f.result() for i, f in futures.items() if f.done()}

    def _resolve(self, outcomes: Sequence[Outcome]) -> None:
        with self._waiters_lock:
            for outcome in outcomes:
                for loop, future in self._waiters.pop(outcome.record_id, ()):
                    loop.call_soon_threadsafe(_set_result, future, outcome)

    # -- the Serving interface ----------------------------------------------------------------

    def outcome(self, record_id: str) -> Outcome | None:
        return self.consortium.outcome(record_id)

    def is_pending(self, record_id: str) -> bool:
        return record_id in self.consortium.mempool

    def mempool_depth(self) -> int:
        return len(self.consortium.mempool)

    def peers(self) -> dict[str, int]:
        return {r.key.public_hex: r.height for r in self.consortium.live if r.key is not None}

    def counters(self) -> dict[str, int]:
        c = self.consortium
        return {"unprocessable": c.unprocessable, "votes_withheld": c.votes_withheld,
                "catch_up_failures": c.catch_up_failures, "admission_groups": self.admission.groups,
                "admission_records": self.admission.records, "replicas_up": len(c.live),
                "replicas": len(c.replicas)}

    # -- the block producer ------------------------------------------------------------------

    def produce_now(self) -> int:
        """Cut blocks until the mempool is empty (used by tests, the demo and the bench)."""
        count = 0
        while self._produce_one():
            count += 1
        return count

    def _produce_one(self) -> bool:
        consortium = self.consortium
        try:
            block = consortium.produce_block()
        except ConsensusError as exc:
            self.metrics.rounds_failed += 1
            log.warning("round failed: %s", exc)
            return False
        decided = consortium.last_decided
        self._resolve(decided)
        if block is None:
            return False
        self._owed_since_ms = self.clock.now_ms()
        self.metrics.blocks_committed += 1
        self.metrics.records_committed += len(block.records)
        self.metrics.records_rejected += len(decided) - len(block.records)
        return True

    def _produce_loop(self) -> None:
        """Cut a block every interval, or at once when a full block is waiting."""
        interval_s = self.genesis.params.block_interval_ms / 1000
        block_max = self.genesis.params.block_records_max
        backoff_s = interval_s
        while not self._stop.is_set():
            self._wake.wait(interval_s)
            self._wake.clear()
            if self._stop.is_set():
                break
            try:
                while len(self.consortium.mempool):
                    if not self._produce_one():
                        time.sleep(min(backoff_s, 5.0))  # no quorum: back off, keep records
                        backoff_s *= 2
                        break
                    backoff_s = interval_s
                    if len(self.consortium.mempool) < block_max:
                        break  # let the next block fill for an interval
            except Exception:  # never let the producer die silently
                self.metrics.producer_errors += 1
                log.exception("block producer error")
                time.sleep(1.0)

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        self.signatures.close()
        self.consortium.close()


def _set_result(future: asyncio.Future[Outcome], outcome: Outcome) -> None:
    if not future.done():
        future.set_result(outcome)


def tune_gc() -> None:
    """Tune the collector for a long-lived node process: what exists now (the restored
    state) is frozen out of collections, and young collections run less often. Blocks
    allocate many short-lived rows; with the defaults the collector took about 8% of the
    swap path. Process-wide, so only ``serve`` and ``bench`` call it."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)


def open_node(path: Path, app_factory: Callable[[], Application], *, produce: bool = True,
              clock: Clock | None = None, signature_workers: int = 0) -> Node:
    """Open the node of the data dir at ``path``."""
    return Node(DataDir(path), app_factory, clock=clock, produce=produce,
                signature_workers=signature_workers)
