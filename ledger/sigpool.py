"""Record signatures checked on worker processes, so block execution never waits for them.

cryptography's Ed25519 ``verify`` holds the GIL, so a thread cannot overlap it with the
Python work of checking and executing records; another process can. A node hands each batch
of incoming records to :meth:`SignaturePool.verify`, which ships their signatures as packed
bytes (:mod:`ledger.sigbatch`) to a worker and returns at once; the node goes on executing
the previous batch meanwhile, so both cores work.

A record whose signatures all verified is marked (:attr:`Record.verified`), and
:meth:`Record.verify_signatures` then returns at once. A record that failed is left
unmarked: the normal check verifies it again in process and raises ``BadSignature`` with the
exact signer, so a pool never changes what a node accepts, only where the work happens.
With ``workers=0`` everything runs in the calling thread (tests, one-core machines).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
from array import array
from collections import deque
from collections.abc import Sequence
from concurrent.futures import Future
from multiprocessing.connection import Connection

from .errors import BadSignature
from .record import Record
from .sigbatch import PACKED_BYTES, pack, verify_packed

log = logging.getLogger("jifentong.sigpool")

#: Signatures per task sent to a worker: large enough that the round trip (~0.1 ms) vanishes
#: beside the checks (~0.15 ms each), small enough to spread over workers.
sigs_per_task_max = 2000


def default_workers() -> int:
    """One worker per core beyond the first (that one executes blocks); 0 on one core."""
    return max(0, min(4, (os.cpu_count() or 1) - 1))


class _Worker:
    """One spawned process reached by two pipes; it answers tasks in the order sent.

    Leaner than a ProcessPoolExecutor (no feeder or manager threads, no pickling): one
    ``send_bytes`` per task, one reader thread completing futures in order.
    """

    def __init__(self) -> None:
        ctx = multiprocessing.get_context("spawn")
        task_out, self._tasks = ctx.Pipe(duplex=False)
        self._answers, answer_in = ctx.Pipe(duplex=False)
        _widen(self._tasks)
        self.process = ctx.Process(target=_serve, args=(task_out, answer_in), daemon=True,
                                   name="jifentong-signatures")
        self.process.start()
        task_out.close()
        answer_in.close()
        self._waiting: deque[Future[list[int]]] = deque()
        self._lock = threading.Lock()  # guards _waiting; never held while a pipe blocks
        self._send_lock = threading.Lock()  # keeps _waiting in the order tasks were sent
        self.broken = False
        self._reader = threading.Thread(target=self._read, name="signature-answers", daemon=True)
        self._reader.start()

    def submit(self, packed: bytes) -> Future[list[int]]:
        future: Future[list[int]] = Future()
        with self._send_lock:
            with self._lock:
                if self.broken:
                    raise RuntimeError("signature worker is gone")
                self._waiting.append(future)
            self._tasks.send_bytes(packed)
        return future

    def _read(self) -> None:
        while True:
            try:
                answer = self._answers.recv_bytes()
            except (EOFError, OSError):
                break
            with self._lock:
                future = self._waiting.popleft()
            future.set_result(array("I", answer).tolist())
        with self._lock:
            self.broken = True
            waiting, self._waiting = self._waiting, deque()
        for future in waiting:
            future.set_exception(RuntimeError("signature worker exited"))

    @property
    def load(self) -> int:
        return len(self._waiting)

    def close(self) -> None:
        with self._send_lock, self._lock:
            self.broken = True
            self._tasks.close()  # the worker sees EOF and exits
        self.process.join(timeout=10)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
        self._reader.join(timeout=10)
        self._answers.close()


def _serve(tasks: Connection, answers: Connection) -> None:
    """The worker: packed signatures in, indexes of the bad ones out, until EOF."""
    while True:
        try:
            packed = tasks.recv_bytes()
        except (EOFError, OSError):
            return
        answers.send_bytes(array("I", verify_packed(packed)).tobytes())


def _widen(conn: Connection) -> None:
    """Let a pipe hold a whole block's signatures (Linux), so sending never waits on the
    worker; elsewhere a send may wait, which is only slower."""
    try:
        import fcntl

        fcntl.fcntl(conn.fileno(), 1031, 1 << 20)  # F_SETPIPE_SZ
    except (ImportError, OSError):
        pass


class SignaturePool:
    """Verifies records' signatures on ``workers`` spawned processes (0: in this thread)."""

    def __init__(self, workers: int | None = None) -> None:
        self.workers = default_workers() if workers is None else workers
        assert 0 <= self.workers <= 64, self.workers
        self._live: list[_Worker] = []
        self._lock = threading.Lock()

    def _pool(self) -> list[_Worker]:
        with self._lock:
            if self.workers and not self._live:
                self._live = [_Worker() for _ in range(self.workers)]
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
        future.add_done_callback(lambda f, first=first: on_part(first, f))  # type: ignore[misc]


__all__ = ["SignaturePool", "default_workers", "sigs_per_task_max"]
