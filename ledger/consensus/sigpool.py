"""Record signatures checked on worker processes, so block execution never waits for them.

cryptography's Ed25519 ``verify`` holds the GIL, so a thread cannot overlap it with the
Python work of checking and executing records; another process can. A node hands each batch
of incoming records to :meth:`SignaturePool.verify`, which ships their signatures as packed
bytes (:mod:`ledger.crypto.sigbatch`) to a worker and returns at once; the node goes on executing
the previous batch meanwhile, so both cores work.

A record whose signatures all verified is marked (:attr:`Record.verified`), and
:meth:`Record.verify_signatures` then returns at once. A record that failed is left
unmarked: the normal check verifies it again in process and raises ``BadSignature`` with the
exact signer, so a pool never changes what a node accepts, only where the work happens.
With ``workers=0`` everything runs in the calling thread (tests, one-core machines).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Sequence
from concurrent.futures import Future
from functools import partial

from ledger.crypto.sigbatch import PACKED_BYTES, pack
from ledger.crypto.sigworker import Worker, start_workers
from ledger.errors import BadSignature, invariant
from ledger.limits import signature_workers_max
from ledger.wire.record import Record

log = logging.getLogger("jifentong.sigpool")

#: Signatures per task sent to a worker: large enough that the round trip (~0.1 ms) vanishes
#: beside the checks (~0.15 ms each), small enough to spread over workers.
sigs_per_task_max = 2000


def default_workers() -> int:
    """One worker per core beyond the first (that one executes blocks); 0 on one core."""
    return max(0, min(4, (os.cpu_count() or 1) - 1))


class SignaturePool:
    """Verifies records' signatures on ``workers`` worker processes (0: in this thread)."""

    def __init__(self, workers: int | None = None) -> None:
        self.workers = default_workers() if workers is None else workers
        invariant(0 <= self.workers <= signature_workers_max, "%d signature workers",
                  self.workers)
        self._live: list[Worker] = []
        self._lock = threading.Lock()

    def _pool(self) -> list[Worker]:
        with self._lock:
            if self.workers and not self._live:
                self._live = start_workers(self.workers)
                if not self._live:
                    self.workers = 0
            return self._live

    def verify(self, records: Sequence[Record]) -> Future[None]:
        """Start checking ``records``; the future completes once each record whose
        signatures all verified is marked. Records already marked are skipped."""
        todo = [r for r in records if not r.verified]
        done: Future[None] = Future()
        workers = self._pool()
        if not todo or not workers:
            _verify_here(todo)
            done.set_result(None)
            return done
        packed, owners = _pack(todo)
        step = sigs_per_task_max * PACKED_BYTES
        try:
            parts = []
            for start in range(0, len(packed), step):
                worker = min(workers, key=lambda w: w.load)
                parts.append((start // PACKED_BYTES, worker.submit(packed[start:start + step])))
        except (RuntimeError, OSError) as exc:
            self._broken(exc)
            _verify_here(todo)
            done.set_result(None)
            return done
        _collect(todo, owners, parts, done)
        return done

    def start(self) -> SignaturePool:
        """Spawn the workers now and wait until each answers, instead of on first use."""
        for worker in self._pool():
            worker.submit(b"").result(timeout=120)
        return self

    def __enter__(self) -> SignaturePool:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _broken(self, exc: BaseException) -> None:
        log.warning("signature workers failed (%s); checking signatures in process", exc)
        self.close()
        self.workers = 0

    def close(self) -> None:
        """Stop the workers (idempotent)."""
        with self._lock:
            live, self._live = self._live, []
        for worker in live:
            worker.close()


def _verify_here(records: Sequence[Record]) -> None:
    for record in records:
        try:
            record.verify_signatures()
        except BadSignature:  # left unmarked; the node's own check names the failure
            continue


def _pack(records: Sequence[Record]) -> tuple[bytes, list[int]]:
    """Packed signatures of ``records`` and, per packed signature, its record's index.
    A signature that cannot even be packed is skipped and its record left unmarked."""
    chunks: list[bytes] = []
    owners: list[int] = []
    unpackable: set[int] = set()
    for index, record in enumerate(records):
        for signer, signature in zip(record.signers, record.signatures, strict=True):
            item = pack(signer, signature, record.id_bytes)
            if item is None:
                unpackable.add(index)
                continue
            chunks.append(item)
            owners.append(index)
    if unpackable:  # never mark a record with an unchecked signature
        owners = [-1 if o in unpackable else o for o in owners]
    return b"".join(chunks), owners


def _collect(records: Sequence[Record], owners: list[int],
             parts: list[tuple[int, Future[list[int]]]], done: Future[None]) -> None:
    """Complete ``done`` once every part is back: mark the records with no bad signature."""
    remaining = [len(parts)]
    bad: set[int] = {-1}  # -1 owns the signatures of records that could not be packed
    lock = threading.Lock()  # callbacks run on the pool's thread, or here if already done

    def on_part(first: int, future: Future[list[int]]) -> None:
        with lock:
            try:
                bad.update(owners[first + i] for i in future.result())
            except BaseException as exc:  # a dead worker: the records are checked in process
                log.warning("signature task failed: %s", exc)
                bad.update(owners)
            remaining[0] -= 1
            if remaining[0]:
                return
        for index in set(owners) - bad:  # every signature of these records verified
            records[index].verified = True
        done.set_result(None)

    for first, future in parts:
        future.add_done_callback(partial(on_part, first))


__all__ = ["SignaturePool", "default_workers", "sigs_per_task_max"]
