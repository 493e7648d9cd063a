"""One signature worker: a small Python process checking packed Ed25519 signatures.

Both the node's :class:`~ledger.consensus.sigpool.SignaturePool` and the chain verifier's
:class:`~ledger.verify.sigs.SignatureChecker` use it. It is started as
``python -I -S -c "...serve()"`` rather than by ``multiprocessing``: a spawned
multiprocessing child re-imports the caller's ``__main__`` (for the ``jifentong`` command,
the whole CLI: ~0.3 s of CPU per worker), while this one skips ``site`` (the installed
packages' start-up hooks) and imports only :mod:`ledger.crypto.sigbatch`,
:mod:`ledger.crypto.ed25519` and ``cryptography``'s Ed25519 module (~0.04 s), from the paths
its parent gives it.

The frames it reads and writes, and its loop, are in :mod:`ledger.crypto.sigbatch`. Answers come
back in the order tasks were sent. The worker exits at end of input, so it never outlives
its parent's pipe; it ignores Ctrl-C (the parent decides when to stop).
"""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
import sys
import threading
from array import array
from collections import deque
from concurrent.futures import Future

import cryptography

from ledger.crypto.sigbatch import frame_bytes_max, read_frame, write_frame
from ledger.errors import invariant
from ledger.memory import peak_rss_mb

log = logging.getLogger("jifentong.signatures")

_LAUNCH = ("import sys; sys.path[:0] = sys.argv[1:3]; "
           "from ledger.crypto.sigbatch import serve; sys.exit(serve(sys.argv[3:]))")
#: Where the worker finds this package, and cryptography (it does not run ``site``).
_PATHS = (os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
          os.path.dirname(os.path.dirname(os.path.abspath(cryptography.__file__))))


class Worker:
    """A worker process and the futures of its tasks, completed in order by a reader thread."""

    def __init__(self) -> None:
        task_in, task_out = os.pipe()
        answer_in, answer_out = os.pipe()
        _widen(task_out)
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-I", "-S", "-c", _LAUNCH, *_PATHS, str(task_in),
                 str(answer_out)],
                pass_fds=(task_in, answer_out), stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL, close_fds=True)
        except BaseException:
            for fd in (task_in, task_out, answer_in, answer_out):
                os.close(fd)
            raise
        os.close(task_in)
        os.close(answer_out)
        self._tasks = open(task_out, "wb")  # noqa: SIM115 (closed by close())
        self._answers = open(answer_in, "rb")  # noqa: SIM115
        self._waiting: deque[Future[list[int]]] = deque()
        self._lock = threading.Lock()  # guards _waiting; never held while a pipe blocks
        self._send_lock = threading.Lock()  # keeps _waiting in the order tasks were sent
        self.broken = False
        self.peak_rss_mb: float | None = None  # read when it is closed (Linux)
        self._reader = threading.Thread(target=self._read, name="signature-answers", daemon=True)
        self._reader.start()

    def submit(self, packed: bytes) -> Future[list[int]]:
        """Send packed signatures; the future holds the indexes of those that fail."""
        invariant(len(packed) <= frame_bytes_max, "a frame of %d bytes", len(packed))
        future: Future[list[int]] = Future()
        with self._send_lock:
            with self._lock:
                if self.broken:
                    raise RuntimeError("signature worker is gone")
                self._waiting.append(future)
            try:
                write_frame(self._tasks, packed)
            except (OSError, ValueError) as exc:
                raise RuntimeError(f"signature worker is gone: {exc}") from exc
        return future

    def _read(self) -> None:
        while True:
            try:
                answer = read_frame(self._answers)
            except (OSError, ValueError):
                answer = None
            if answer is None:
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
        """Tasks sent and not yet answered."""
        return len(self._waiting)

    def close(self, wait: bool = True) -> None:
        """Stop the worker: end its input and let it finish (``wait``) or kill it now."""
        if self.peak_rss_mb is None:
            self.peak_rss_mb = peak_rss_mb(self.process.pid)
        with self._send_lock, self._lock:
            self.broken = True
            with contextlib.suppress(OSError):  # a dead worker's pipe may fail to flush
                self._tasks.close()  # the worker sees end of input and exits
        if not wait:
            self.process.kill()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._reader.join(timeout=10)
        self._answers.close()


def start_workers(count: int) -> list[Worker]:
    """``count`` started workers, or none (said in the log) when a process cannot be
    started: the caller then checks signatures in process."""
    started: list[Worker] = []
    try:
        for _ in range(count):
            started.append(Worker())
    except OSError as exc:
        log.warning("cannot start signature workers (%s); checking in process", exc)
        for worker in started:
            worker.close(wait=False)
        return []
    return started


def _widen(fd: int) -> None:
    """Let a pipe hold a whole block's signatures (Linux), so sending never waits on the
    worker; elsewhere a send may wait, which is only slower."""
    try:
        import fcntl

        fcntl.fcntl(fd, 1031, 1 << 20)  # F_SETPIPE_SZ
    except (ImportError, OSError):
        pass


__all__ = ["Worker", "frame_bytes_max", "start_workers"]
