"""One signature worker: a small Python process checking packed Ed25519 signatures.

Both the node's :class:`~ledger.sigpool.SignaturePool` and the chain verifier's
:class:`~ledger.verify_sigs.SignatureChecker` use it. It is started as
``python -I -c "...main()"`` rather than by ``multiprocessing``: a spawned multiprocessing
child re-imports the caller's ``__main__`` (for the ``jifentong`` command, the whole CLI:
~0.3 s of CPU per worker), while this one imports only :mod:`ledger.sigbatch` and
``cryptography`` (~0.05 s).

Wire format, both directions over a pair of pipes: a 4-byte big-endian length, then that
many bytes. A task is packed signatures (:mod:`ledger.sigbatch`); an answer is the indexes of
the ones that fail, as unsigned 32-bit integers in native order. Answers come back in the
order tasks were sent. The worker exits at end of input, so it never outlives its parent's
pipe; it ignores Ctrl-C (the parent decides when to stop).
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
from typing import BinaryIO

log = logging.getLogger("jifentong.signatures")

#: Largest task or answer a worker accepts: 64 MiB (half a million signatures).
frame_bytes_max = 64 << 20

_LAUNCH = ("import sys; sys.path.insert(0, sys.argv[1]); "
           "from ledger.sigworker import main; sys.exit(main(sys.argv[2:]))")
_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Worker:
    """A worker process and the futures of its tasks, completed in order by a reader thread."""

    def __init__(self) -> None:
        task_in, task_out = os.pipe()
        answer_in, answer_out = os.pipe()
        _widen(task_out)
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-I", "-c", _LAUNCH, _ROOT, str(task_in), str(answer_out)],
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
        self._reader = threading.Thread(target=self._read, name="signature-answers", daemon=True)
        self._reader.start()

    def submit(self, packed: bytes) -> Future[list[int]]:
        """Send packed signatures; the future holds the indexes of those that fail."""
        assert len(packed) <= frame_bytes_max, len(packed)
        future: Future[list[int]] = Future()
        with self._send_lock:
            with self._lock:
                if self.broken:
                    raise RuntimeError("signature worker is gone")
                self._waiting.append(future)
            try:
                _write_frame(self._tasks, packed)
            except (OSError, ValueError) as exc:
                raise RuntimeError(f"signature worker is gone: {exc}") from exc
        return future

    def _read(self) -> None:
        while True:
            try:
                answer = _read_frame(self._answers)
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


def _write_frame(stream: BinaryIO, data: bytes) -> None:
    stream.write(len(data).to_bytes(4, "big"))
    stream.write(data)
    stream.flush()


def _read_frame(stream: BinaryIO) -> bytes | None:
    """The next frame, or None at a clean end of input."""
    head = stream.read(4)
    if not head:
        return None
    size = int.from_bytes(head, "big")
    if len(head) != 4 or size > frame_bytes_max:
        raise ValueError("malformed frame")
    data = stream.read(size)
    if len(data) != size:
        raise ValueError("truncated frame")
    return data


def _widen(fd: int) -> None:
    """Let a pipe hold a whole block's signatures (Linux), so sending never waits on the
    worker; elsewhere a send may wait, which is only slower."""
    try:
        import fcntl

        fcntl.fcntl(fd, 1031, 1 << 20)  # F_SETPIPE_SZ
    except (ImportError, OSError):
        pass


def main(argv: list[str]) -> int:
    """The worker's loop: packed signatures in, indexes of the bad ones out, until EOF."""
    import signal

    from .sigbatch import verify_packed

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with open(int(argv[0]), "rb") as tasks, open(int(argv[1]), "wb") as answers:
        while True:
            try:
                packed = _read_frame(tasks)
            except ValueError:
                return 2
            if packed is None:
                return 0
            try:
                _write_frame(answers, array("I", verify_packed(packed)).tobytes())
            except BrokenPipeError:
                return 0


__all__ = ["Worker", "frame_bytes_max", "start_workers"]
