"""Group admission: concurrent submissions are checked together, in arrival order, and each
caller gets its own record's result."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from api.node.admission import Admission
from api.node.runtime import Node
from ledger.consensus.sigpool import SignaturePool
from ledger.crypto.keys import SigningKey
from ledger.errors import BadSignature, DuplicateRecord, LedgerError, StaleSequence
from ledger.wire.record import Record, make_body, parse_record, sign_body

CHAIN = "counter-test"
EXPIRES = 1_767_225_600_000 + 1_800_000  # the counter node's clock starts at 2026-01-01
USER = SigningKey.from_seed(b"a" * 32)


def counter(seq: int, key: SigningKey = USER) -> Record:
    body = make_body(CHAIN, "counter.add", [key.public_hex], seq, {"name": "n", "by": 1},
                     expires=EXPIRES)
    return parse_record(sign_body(body, [key]).wire_bytes())


def forged(record: Record) -> Record:
    sig = record.signatures[0]
    return Record(record.body, [sig[:-1] + bytes([sig[-1] ^ 1])], record.body_bytes)


class Spy:
    """Counts the groups the admission hands to the node."""

    def __init__(self, node: Node) -> None:
        self.node, self.groups = node, []  # type: list[int]

    def __call__(self, records: Sequence[Record]) -> list[LedgerError | None]:
        self.groups.append(len(records))
        return self.node.submit_many(records)


@pytest.mark.parametrize("workers", [0, 1])
def test_concurrent_singles_are_admitted_in_groups_in_arrival_order(
        counter_node: Node, workers: int) -> None:
    spy = Spy(counter_node)

    async def run() -> list[list[LedgerError | None]]:
        with SignaturePool(workers) as pool:
            admission = Admission(pool, spy)
            # one key, sequence numbers 1..60 sent at once: only arrival order admits them all
            return await asyncio.gather(*(admission.submit([counter(seq)])
                                          for seq in range(1, 61)))

    results = asyncio.run(run())
    assert results == [[None]] * 60
    assert sum(spy.groups) == 60 and len(spy.groups) < 60  # grouped, none lost
    counter_node.produce_now()
    assert counter_node.replica.total == 60


def test_each_caller_gets_its_own_result(counter_node: Node) -> None:
    first = counter(1)
    counter_node.submit(first)
    counter_node.produce_now()
    other = SigningKey.from_seed(b"b" * 32)

    async def run() -> list[list[LedgerError | None]]:
        with SignaturePool(1) as pool:
            admission = Admission(pool, counter_node.submit_many)
            return await asyncio.gather(
                admission.submit([counter(1, other)]),
                admission.submit([forged(counter(2))]),
                admission.submit([parse_record(first.wire_bytes())]),
                admission.submit([counter(3, other), counter(1)]))

    ok, bad, duplicate, mixed = asyncio.run(run())
    assert ok == [None]
    assert isinstance(bad[0], BadSignature)
    assert isinstance(duplicate[0], DuplicateRecord)
    assert mixed[0] is None and isinstance(mixed[1], StaleSequence | DuplicateRecord)


def test_a_failing_node_fails_every_waiter_of_the_group(counter_node: Node) -> None:
    def broken(records: Sequence[Record]) -> list[LedgerError | None]:
        raise RuntimeError("disk on fire")

    async def run() -> list[BaseException | list[LedgerError | None]]:
        admission = Admission(SignaturePool(0), broken)
        return await asyncio.gather(admission.submit([counter(1)]),
                                    admission.submit([counter(2)]), return_exceptions=True)

    assert [str(r) for r in asyncio.run(run())] == ["disk on fire", "disk on fire"]
