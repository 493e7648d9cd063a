"""Signature checks of the verifier: packed batches, verified by a process pool, judged in order.

Every signature the chain holds is a 32-byte message (record id, header hash or checkpoint
digest) signed by a 32-byte key, so a batch is plain bytes: ``key || signature || message``
per signature, 128 bytes each. Workers return the indexes that fail; the main process keeps,
for each batch, the claims that say what the signatures stand for (a block's records, a
certificate, a checkpoint) and judges them when the batch comes back. At most
``tasks_ahead_max`` batches are in flight, so memory stays flat however long the chain.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Sequence
from concurrent.futures import Future

from ledger.crypto.sigbatch import PACKED_BYTES, verify_packed
from ledger.crypto.sigworker import Worker, start_workers
from ledger.errors import invariant
from ledger.limits import signature_workers_max
from ledger.verify.failure import Failure
from ledger.verify.sigclaims import Claim, QuorumSigs, RecordSigs

log = logging.getLogger("jifentong.verify")

#: Signatures per task sent to a worker: small enough that the last tasks of a run keep
#: every worker busy to the end (one task is ~30 ms of work), large enough that sending
#: them costs nothing.
sigs_per_task = 256
#: Tasks in flight per worker before the main process waits for the oldest.
tasks_ahead_per_worker = 32
#: Signatures of a block this process checks itself before it has timed its own checks.
share_probe = 64
#: Signatures each worker should still hold when the next block is dispatched (~60 ms), so
#: that a misjudged share leaves no worker idle.
share_margin = 512
#: Weight of the latest block in the moving averages of this process's timings.
smoothing = 0.3
#: Signatures per piece of the last block. Those pieces go to whichever process is free
#: first (a worker, handed the next one as it answers; this one, once its own work is
#: done, from the other end), so the run ends with both busy to the last few milliseconds.
tail_piece = 64
#: Pieces of the last block a worker holds at once: the thread that hands it the next may
#: wait for the interpreter's switch interval (5 ms) before it runs.
tail_depth = 2




class _Batch:
    __slots__ = ("claims", "packed", "result")

    def __init__(self) -> None:
        self.packed = bytearray()
        self.claims: list[tuple[Claim, int, int]] = []  # claim, first index, count
        #: a piece of the last block: the failing indexes, or the future of a worker's
        self.result: list[int] | Future[list[int]] | None = None


class SignatureChecker:
    """Collects signatures block by block and verifies them in batches, in order.

    ``workers`` > 0 starts that many worker processes (:mod:`ledger.crypto.sigworker`); 0 verifies
    in this process; a list of started workers (started early, so that they import while
    the caller loads) is used and owned from then on. ``cache`` (tests) remembers packed
    signatures that verified, so a repeated run skips them.

    This process checks a share of each block's signatures itself, after the block's other
    checks (:meth:`end_block`): as many as keeps it and the workers equally busy, from the
    time it measures for its own work per record and per signature and the workers'
    backlog. One process per core then does all the work (N - 1 workers and this one):
    a third process would share a core with this one, and the two would evict each other's
    caches (measured: about 8% more CPU per record in alternating runs). The last block,
    whose work after it (the stored rows at the head) no estimate gets right, is cut in
    pieces taken by whichever process is free first: the workers from one end, this one
    from the other (measured: the wait for the workers at the end went from 20-80 ms to
    under 1 ms).
    """

    def __init__(self, workers: int | list[Worker] = 2, cache: set[bytes] | None = None
                 ) -> None:
        if isinstance(workers, int):
            invariant(0 <= workers <= signature_workers_max, "%d signature workers", workers)
            workers = start_workers(workers)  # they import while we read ahead
        self._pool: list[Worker] = list(workers)
        self.workers, self.cache = len(self._pool), cache
        self.count = self.checked_here = 0
        self._batch = _Batch()
        self._inflight: deque[tuple[_Batch, Future[list[int]]]] = deque()
        self._mine: list[_Batch] = []  # this block's share, checked at end_block
        self._tail: deque[_Batch] = deque()  # pieces of the last block not handed out yet
        self._pieces: list[_Batch] = []  # every piece of the last block, in order
        self._tail_lock = threading.Lock()
        self._sig_s: float | None = None  # seconds per signature checked here
        self._record_s = 0.0  # seconds per record of this process's other work
        self._mark = time.process_time()

    def add_records(self, claim: RecordSigs, packed: bytes, last: bool = False
                    ) -> Failure | None:
        """Add a block's record signatures, in tasks of at most ``sigs_per_task``: the last
        ones of the block are this process's share (see the class doc). The ``last`` block
        is cut in pieces that go to whichever process is free first (``tail_piece``).
        Returns the first failure among batches already back."""
        owners, step = claim.owners, sigs_per_task
        if last and any(not w.broken for w in self._pool):
            return self._add_tail(claim, packed)
        sent = len(owners) - self._share(len(owners))
        pieces = [(a, min(a + step, sent)) for a in range(0, sent, step)]
        pieces += [(a, min(a + step, len(owners))) for a in range(sent, len(owners), step)]
        for first, end in pieces:
            part = RecordSigs(claim.height, claim.node, owners[first:end])
            piece = packed[first * PACKED_BYTES:end * PACKED_BYTES]
            if first >= sent:
                mine = _Batch()
                self._add(part, piece, end - first, mine)
                self._mine.append(mine)
                continue
            self._add(part, piece, end - first, self._batch)
            if len(self._batch.packed) >= step * PACKED_BYTES:
                failure = self._send()
                if failure is not None:
                    return failure
        return None

    def _share(self, count: int) -> int:
        """How many of a block's ``count`` signatures this process checks itself."""
        live = sum(1 for w in self._pool if not w.broken)
        if not live:
            return count
        if self._sig_s is None:  # not measured yet: a small sample
            return min(count, share_probe)
        backlog = sum(len(b.packed) for b, f in self._inflight if not f.done()) // PACKED_BYTES
        other = self._record_s * count / self._sig_s  # this block's other work, in signatures
        # Until the next block's dispatch this process does `other + share`; the workers,
        # `(backlog + count - share) / live`, and must still hold a margin then.
        other += share_margin
        share = (backlog + count - live * other) / (live + 1)
        return max(0, min(count, int(share)))

    def _add_tail(self, claim: RecordSigs, packed: bytes) -> Failure | None:
        failure = self._send()  # what came before goes first
        owners = claim.owners
        for first in range(0, len(owners), tail_piece):
            end = min(first + tail_piece, len(owners))
            piece = _Batch()
            self._add(RecordSigs(claim.height, claim.node, owners[first:end]),
                      packed[first * PACKED_BYTES:end * PACKED_BYTES], end - first, piece)
            self._pieces.append(piece)
        self._tail.extend(self._pieces)
        self._feed()
        for _, future in self._inflight:  # as a worker clears its backlog, it takes pieces
            future.add_done_callback(self._feed)
        return failure

    def _feed(self, _: object = None) -> None:
        """Hand pieces of the last block to the workers holding fewer than ``tail_depth``
        tasks; runs here and, as each answer comes back, on the worker's answer thread."""
        while True:
            with self._tail_lock:
                worker = next((w for w in self._pool if not w.broken and w.load < tail_depth),
                              None)
                if worker is None or not self._tail:
                    return
                piece = self._tail.popleft()
                try:
                    future = piece.result = worker.submit(bytes(piece.packed))
                except RuntimeError:  # it died just now: this process checks the piece
                    self._tail.appendleft(piece)
                    continue
            future.add_done_callback(self._feed)

    def _take_tail(self) -> None:
        """Check the pieces of the last block no worker has taken, newest first."""
        while True:
            with self._tail_lock:
                if not self._tail:
                    return
                piece = self._tail.pop()
            piece.result = self._verify_here(bytes(piece.packed))
            self.checked_here += len(piece.packed) // PACKED_BYTES

    def add_votes(self, claim: QuorumSigs, packed: bytes) -> None:
        self._add(claim, packed, claim.count, self._batch)

    def _add(self, claim: Claim, packed: bytes, count: int, batch: _Batch) -> None:
        batch.claims.append((claim, len(batch.packed) // PACKED_BYTES, count))
        batch.packed += packed
        self.count += count

    def end_block(self, records: int = 0) -> Failure | None:
        """After the other checks of a block of ``records``: check this process's share,
        send the batch when full; returns the first failure among batches already back."""
        started = time.process_time()
        if records:  # a moving average: one block's timing is noisy
            seen = (started - self._mark) / records
            self._record_s = seen if not self._record_s else (
                self._record_s + smoothing * (seen - self._record_s))
        mine, self._mine = self._mine, []
        failure = None
        for batch in mine:
            failure = failure or _judge(batch, self._verify_here(bytes(batch.packed)))
        checked = sum(len(b.packed) for b in mine) // PACKED_BYTES
        self._mark = time.process_time()
        if checked:
            self.checked_here += checked
            seen = (self._mark - started) / checked
            self._sig_s = seen if self._sig_s is None else (
                self._sig_s + smoothing * (seen - self._sig_s))
        if failure is not None:
            return failure
        self._take_tail()
        if len(self._batch.packed) >= sigs_per_task * PACKED_BYTES:
            return self._send()
        return self.poll()

    def _send(self) -> Failure | None:
        batch, self._batch = self._batch, _Batch()
        if not batch.claims:
            return None
        if self.workers <= 0:
            return _judge(batch, self._verify_here(bytes(batch.packed)))
        packed = bytes(batch.packed)
        future = self._submit(packed)
        if future is None:  # no worker left: this batch is checked here
            future = Future()
            future.set_result(verify_packed(packed))
        self._inflight.append((batch, future))
        while len(self._inflight) > self.workers * tasks_ahead_per_worker:
            failure = self._collect()
            if failure is not None:
                return failure
        return self.poll()

    def _submit(self, packed: bytes) -> Future[list[int]] | None:
        """Send to the least busy live worker; None when every worker has died."""
        for worker in sorted((w for w in self._pool if not w.broken), key=lambda w: w.load):
            try:
                return worker.submit(packed)
            except RuntimeError:  # it died just now: try the next
                continue
        return None

    def _verify_here(self, packed: bytes) -> list[int]:
        if self.cache is None:
            return verify_packed(packed)
        bad, todo = [], []
        for n in range(len(packed) // PACKED_BYTES):
            item = packed[n * PACKED_BYTES:(n + 1) * PACKED_BYTES]
            if item not in self.cache:
                todo.append((n, item))
        failed = set(verify_packed(b"".join(item for _, item in todo)))
        for i, (n, item) in enumerate(todo):
            if i in failed:
                bad.append(n)
            else:
                self.cache.add(item)
        return bad

    def poll(self) -> Failure | None:
        """Judge the batches that are back, oldest first, without waiting."""
        while self._inflight and self._inflight[0][1].done():
            failure = self._collect()
            if failure is not None:
                return failure
        return None

    def _collect(self) -> Failure | None:
        batch, future = self._inflight.popleft()
        return _judge(batch, self._answer(batch, future))

    def _answer(self, batch: _Batch, future: Future[list[int]]) -> list[int]:
        """The failing indexes a worker found in ``batch``, or, when the worker died with
        it, those found checking it here."""
        try:
            return future.result()
        except RuntimeError as exc:
            log.warning("%s; checking its signatures in process", exc)
            return self._verify_here(bytes(batch.packed))

    def finish(self) -> Failure | None:
        """Verify everything collected so far; the first failure, in height order (the
        batches sent, the pieces of the last block, then what is left: checked here, as
        it is too little to be worth sending)."""
        failure = self.end_block()
        rest, self._batch = self._batch, _Batch()
        bad = self._verify_here(bytes(rest.packed)) if rest.claims else []
        self.checked_here += len(rest.packed) // PACKED_BYTES
        while failure is None and self._inflight:
            failure = self._collect()
        pieces, self._pieces = self._pieces, []
        for piece in pieces:
            failure = failure or _judge(piece, self._piece_result(piece))
        return failure or _judge(rest, bad)

    def _piece_result(self, piece: _Batch) -> list[int]:
        result = piece.result
        if isinstance(result, Future):
            return self._answer(piece, result)
        return self._verify_here(bytes(piece.packed)) if result is None else result

    def close(self) -> None:
        """Stop the workers (at once: results still in flight are not needed)."""
        pool, self._pool = self._pool, []
        for worker in pool:
            worker.close(wait=False)
        self._inflight.clear()


def _judge(batch: _Batch, bad: Sequence[int]) -> Failure | None:
    for claim, first, count in batch.claims:
        mine = [i - first for i in bad if first <= i < first + count]
        failure = claim.judge(mine)
        if failure is not None:
            return failure
    return None
