"""The signature pool: records checked on a worker process are marked, forgeries are not,
and a node behind a pool accepts and refuses exactly what it would without one."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ledger.chain.genesis import Genesis
from ledger.consensus.clock import ManualClock
from ledger.consensus.consortium import Consortium
from ledger.consensus.sigpool import SignaturePool
from ledger.counter import CounterApp
from ledger.crypto.keys import SigningKey
from ledger.errors import BadSignature
from ledger.wire.record import Record, make_body, parse_record, sign_body

#: ``expires`` of the records built here: half an hour after the tests' genesis time.
EXPIRES = 1_700_000_000_000 + 1_800_000

CHAIN = "test-chain"


@pytest.fixture(scope="module")
def pool() -> Iterator[SignaturePool]:
    with SignaturePool(workers=1) as started:
        yield started


def forged(record: Record) -> Record:
    """The same body with its first signature's last byte flipped (fresh from the wire)."""
    sigs = list(record.signatures)
    sigs[0] = sigs[0][:-1] + bytes([sigs[0][-1] ^ 1])
    return parse_record(Record(record.body, sigs, record.body_bytes).wire_bytes())


def fresh(record: Record) -> Record:
    return parse_record(record.wire_bytes())


def co_signed(keys: list[SigningKey], seq: int = 1) -> Record:
    body = make_body(CHAIN, "counter.add", [k.public_hex for k in keys], seq,
                     {"name": "joint", "by": 1}, expires=EXPIRES)
    return sign_body(body, keys)


@pytest.mark.parametrize("workers", [0, 1])
def test_good_records_are_marked_and_forgeries_are_not(
        workers: int, pool: SignaturePool, add: Callable[..., Record],
        validator_keys: list[SigningKey]) -> None:
    checker = pool if workers else SignaturePool(workers=0)
    good = [fresh(add()) for _ in range(5)]
    bad = forged(fresh(add()))
    half_bad = forged(co_signed(validator_keys[:2]))  # first signature bad, second good
    records = [*good[:2], bad, *good[2:], half_bad]
    assert not any(r.verified for r in records)
    checker.verify(records).result(timeout=60)
    assert [r.verified for r in records] == [True, True, False, True, True, True, False]
    with pytest.raises(BadSignature):
        bad.verify_signatures()  # an unmarked record is checked again, in process


def test_a_signature_that_cannot_be_packed_leaves_its_record_unmarked(
        pool: SignaturePool, add: Callable[..., Record]) -> None:
    record = fresh(add())
    short = Record(record.body, [record.signatures[0][:63]], record.body_bytes)
    pool.verify([short, record]).result(timeout=60)
    assert (short.verified, record.verified) == (False, True)


def test_a_node_behind_the_pool_refuses_the_forgery_with_its_usual_error(
        tmp_path: Path, genesis: Genesis, validator_keys: list[SigningKey],
        pool: SignaturePool, add: Callable[..., Record]) -> None:
    consortium = Consortium(tmp_path, genesis, validator_keys, CounterApp,
                            ManualClock(genesis.time_ms, step_ms=1))
    try:
        good, bad = fresh(add()), forged(fresh(add()))
        pool.verify([good, bad]).result(timeout=60)
        results = consortium.submit_many([good, bad])
        assert results[0] is None
        assert isinstance(results[1], BadSignature)
        assert "does not verify" in str(results[1])
        consortium.run_until_idle()
        assert consortium.gateway().total == 1
    finally:
        consortium.close()


def test_a_dead_worker_falls_back_to_checking_in_process(add: Callable[..., Record]) -> None:
    checker = SignaturePool(workers=1).start()
    try:
        for worker in checker._live:
            assert worker.process.pid is not None
            os.kill(worker.process.pid, signal.SIGKILL)
            worker.process.wait()
        good, bad = fresh(add()), forged(fresh(add()))
        for _ in range(2):  # the first batch may meet the dying pool, the next a broken one
            checker.verify([good, bad]).result(timeout=60)
            if good.verified:
                break
        checker.verify([good, bad]).result(timeout=60)
        assert (good.verified, bad.verified) == (True, False)
        assert checker.workers == 0  # it said so in the log and now checks in process
    finally:
        checker.close()
