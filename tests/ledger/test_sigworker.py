"""The signature worker: packed signatures in, the failing ones' indexes out, in order; a
small process that starts without importing the caller's program and stops with its pipe."""

from __future__ import annotations

import ast
import os
import signal
import subprocess
import sys
from concurrent.futures import wait

import pytest

from ledger.crypto.keys import SigningKey
from ledger.crypto.sigbatch import pack
from ledger.crypto.sigworker import _LAUNCH, _PATHS, Worker
from ledger.verify import sigs as verify_sigs
from ledger.verify.sigclaims import RecordSigs
from ledger.verify.sigs import SignatureChecker


def packed(count: int, bad: set[int]) -> bytes:
    """``count`` packed signatures over distinct messages; those in ``bad`` are forged."""
    key = SigningKey.from_seed(bytes(32))
    out = bytearray()
    for n in range(count):
        message = n.to_bytes(32, "big")
        signature = key.sign(message)
        if n in bad:
            signature = signature[:-1] + bytes([signature[-1] ^ 1])
        item = pack(key.public_hex, signature, message)
        assert item is not None
        out += item
    return bytes(out)


def test_a_worker_names_the_forged_signatures_of_each_task_in_order() -> None:
    worker = Worker()
    try:
        tasks = [(packed(5, {1, 4}), [1, 4]), (packed(3, set()), []), (b"", []),
                 (packed(2, {0}), [0])]
        futures = [worker.submit(data) for data, _ in tasks]
        wait(futures, timeout=60)
        assert [f.result() for f in futures] == [want for _, want in tasks]
    finally:
        worker.close()
    assert worker.process.returncode == 0  # end of input is a clean exit


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_a_worker_does_not_import_the_callers_program() -> None:
    worker = Worker()
    try:
        assert worker.submit(b"").result(timeout=60) == []
        with open(f"/proc/{worker.process.pid}/cmdline", "rb") as f:
            argv = f.read().split(b"\0")
    finally:
        worker.close()
    assert argv[0] == os.fsencode(sys.executable) and argv[1:3] == [b"-I", b"-S"]
    assert b"from ledger.crypto.sigbatch import serve" in argv[4]


def test_a_worker_imports_only_the_signature_check() -> None:
    """What the worker's launch line loads: no site hooks, none of the ledger beyond the
    check, no logging, threads or subprocesses (it starts in a few hundredths of a second)."""
    probe = (_LAUNCH.split("; from")[0]
             + "; import ledger.crypto.sigbatch; print(sorted(sys.modules))")
    done = subprocess.run([sys.executable, "-I", "-S", "-c", probe, *_PATHS],
                          capture_output=True, text=True, check=True)
    loaded = set(ast.literal_eval(done.stdout))
    assert {"ledger.crypto.sigbatch", "ledger.crypto.ed25519"} <= loaded
    assert not loaded & {"site", "ledger.crypto.keys", "ledger.wire.record", "logging", "threading",
                         "subprocess", "exchange", "api", "typer", "pathlib"}


def test_a_killed_worker_fails_its_tasks_and_refuses_more() -> None:
    worker = Worker()
    try:
        assert worker.submit(b"").result(timeout=60) == []
        os.kill(worker.process.pid, signal.SIGKILL)
        worker.process.wait()
        worker._reader.join(timeout=10)
        assert worker.broken
        with pytest.raises(RuntimeError, match="gone"):
            worker.submit(packed(1, set()))
    finally:
        worker.close()


def test_the_verifier_checks_in_process_what_a_dead_worker_took() -> None:
    checker = SignatureChecker(workers=1)
    try:
        for worker in checker._pool:
            worker.submit(b"").result(timeout=60)
            os.kill(worker.process.pid, signal.SIGKILL)
            worker.process.wait()
            worker._reader.join(timeout=10)
        checker.add_records(RecordSigs(7, "node-0", ["a", "b", "c"]), packed(3, {2}))
        failure = checker.finish()
    finally:
        checker.close()
    assert failure is not None
    assert (failure.what, failure.height, failure.record) == ("bad_signature", 7, "c")


def test_the_verifier_sends_past_a_dead_worker_to_a_live_one() -> None:
    checker = SignatureChecker(workers=2)
    try:
        dead, live = checker._pool
        dead.submit(b"").result(timeout=60)
        os.kill(dead.process.pid, signal.SIGKILL)
        dead.process.wait()
        dead._reader.join(timeout=10)
        sent: list[bytes] = []
        submit = live.submit
        live.submit = lambda data: sent.append(data) or submit(data)  # type: ignore[method-assign]
        count = 2000
        checker.add_records(RecordSigs(3, "node-0", [f"r{i}" for i in range(count)]),
                            packed(count, {0}))
        failure = checker.finish()
    finally:
        checker.close()
    assert failure is not None
    assert (failure.what, failure.height, failure.record) == ("bad_signature", 3, "r0")
    # the live worker took the block in whole tasks, but this process's first share (it
    # times itself) and the last partial task (too little to be worth sending)
    sent_count = sum(len(data) for data in sent) // 128
    assert sent_count == (count - verify_sigs.share_probe) // verify_sigs.sigs_per_task * 256
    assert checker.checked_here == count - sent_count


@pytest.mark.parametrize(("earlier", "bad"), [
    (0, set()), (0, {0}), (0, {5, 700}), (0, {1999}), (1000, set()), (1000, {1200, 1500}),
    (1000, {3, 1700})])
def test_the_last_block_is_shared_out_in_pieces_and_judged_in_order(earlier: int,
                                                                    bad: set[int]) -> None:
    """The last block's signatures go in pieces to whichever process is free first, also
    while the worker still clears an ``earlier`` block: every signature is checked exactly
    once, and the first bad one (by height, then index) is the one reported."""
    checker = SignatureChecker(workers=1)
    count = 2000
    sigs = packed(earlier + count, bad)
    try:
        (worker,) = checker._pool
        sent: list[bytes] = []
        submit = worker.submit
        worker.submit = lambda data: sent.append(data) or submit(data)  # type: ignore[method-assign]
        if earlier:
            checker._sig_s = checker._record_s = 1e-3  # timed: the worker takes it all
            checker.add_records(RecordSigs(8, "node-0", [f"e{i}" for i in range(earlier)]),
                                sigs[:earlier * 128])
        checker.add_records(RecordSigs(9, "node-0", [f"r{i}" for i in range(count)]),
                            sigs[earlier * 128:], last=True)
        failure = checker.finish()
    finally:
        checker.close()
    pieces = [data for data in sent if len(data) <= verify_sigs.tail_piece * 128]
    # this process took pieces, and so did the worker (at once, when it had no backlog)
    assert checker.checked_here > 0 and (pieces or earlier)
    assert sum(len(data) for data in sent) // 128 + checker.checked_here == earlier + count
    if not bad:
        assert failure is None
    else:
        first = min(bad)
        record = f"e{first}" if first < earlier else f"r{first - earlier}"
        assert failure is not None
        assert (failure.what, failure.height, failure.record) == (
            "bad_signature", 8 if first < earlier else 9, record)

def test_this_process_takes_the_share_that_keeps_everyone_busy() -> None:
    """With its own timings known, the verifier keeps what it can check while the workers
    clear their backlog and the rest of the block, so that each still holds a margin when
    the next block comes; never less than nothing, never more than the block."""
    checker = SignatureChecker(workers=0)
    try:
        checker._pool = [type("Live", (), {"broken": False})()]  # type: ignore[list-item]
        assert checker._share(2000) == verify_sigs.share_probe  # not timed yet: a sample
        checker._sig_s, checker._record_s = 100e-6, 40e-6  # a signature costs 2.5 records
        # the other work of 2000 records = 800 signatures; (0 + 2000 - 800 - 512) / 2
        assert checker._share(2000) == (2000 - 800 - verify_sigs.share_margin) // 2
        checker._record_s = 1.0  # far slower than the workers: they take everything
        assert checker._share(2000) == 0
        checker._record_s = 0.0  # free: at most the whole block
        assert checker._share(10) <= 10
        checker._pool = [type("Dead", (), {"broken": True})()]  # type: ignore[list-item]
        assert checker._share(2000) == 2000  # no live worker: all of it here
    finally:
        checker._pool = []
        checker.close()
