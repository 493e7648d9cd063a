"""What the consortium tests share: their fixtures' types, the node files of a consortium, a
check that every store holds the same blocks, committing records in one call, and an
application that changes the validator set."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ledger.application import BlockContext, Execution, ValidatorInfo
from ledger.consensus.consortium import Consortium
from ledger.counter import CounterApp
from ledger.wire.record import Record

Headers = Callable[[Path], list[tuple[int, str, str]]]
Snapshot = Callable[[Consortium], Any]
Add = Callable[..., Record]
Make = Callable[..., Consortium]


def files(consortium: Consortium) -> list[Path]:
    return [consortium.data_dir / f"node-{i}.sqlite" for i in range(len(consortium.replicas))]


def assert_all_agree(consortium: Consortium, headers: Headers, height: int) -> None:
    """Every store holds the same ``height`` blocks, byte for byte."""
    stored = [headers(f) for f in files(consortium)]
    assert [len(s) for s in stored] == [height] * len(stored)
    assert all(s == stored[0] for s in stored)
    assert consortium.heights() == [height] * len(stored)


def commit(consortium: Consortium, *records: Record) -> int:
    for record in records:
        consortium.submit(record)
    return consortium.run_until_idle()


class RotatingApp(CounterApp):
    """Counters, plus: a record adding to the counter "rotate" installs ``next_set``."""

    def __init__(self, next_set: tuple[ValidatorInfo, ...]) -> None:
        super().__init__()
        self.next_set = next_set

    def execute(self, ctx: BlockContext, records: Sequence[Record]) -> Execution:
        execution = super().execute(ctx, records)
        if any(r.payload.get("name") == "rotate" for r in records):
            execution.validators = self.next_set
        return execution
