"""What the consortium tests share: their fixtures' types, the node files of a consortium, a
check that every store holds the same blocks, and committing records in one call."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from ledger.consensus.consortium import Consortium
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
