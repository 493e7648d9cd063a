"""Torn writes for the simulator: a node dies while its commit's WAL frames reach the disk.

The store writes each block in one SQLite transaction, in WAL mode with ``synchronous=FULL``.
An armed store lets its next ``write_block`` run, then takes the image a power cut would
leave: the database file as it was (the simulator turns automatic checkpoints off, so the
commit touched only the WAL) and the WAL cut at a random byte between its length before the
commit and after it, so that the commit's last frame is whole, cut, or missing. The node
then dies (:class:`~ledger.consensus.sim_etcd.SimCrash`) and restarts on that image:
SQLite's recovery must leave whole blocks only, which :func:`store_problems` checks.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ledger.consensus.replica import Replica
from ledger.consensus.sim_etcd import SimCrash
from ledger.errors import StoreError
from ledger.limits import sim_torn_check_blocks


@dataclass
class TornWrite:
    """An armed store; ``image`` is (database bytes, WAL bytes) once the write tore."""

    image: tuple[bytes, bytes] | None = None

    def disarm(self, replica: Replica) -> None:
        vars(replica.store).pop("write_block", None)

    def leave_on_disk(self, path: Path) -> None:
        """Put the torn image where the store lives (after its process died)."""
        if self.image is None:
            return
        database, wal = self.image
        path.write_bytes(database)
        Path(f"{path}-wal").write_bytes(wal)
        Path(f"{path}-shm").unlink(missing_ok=True)


def arm_torn_write(replica: Replica, rng: random.Random) -> TornWrite:
    """Make the replica's next block write tear (see the module docstring)."""
    store, torn = replica.store, TornWrite()
    real: Callable[..., None] = store.write_block
    wal = Path(f"{store.path}-wal")

    def write_block(*args: Any, **kwargs: Any) -> None:
        before = wal.stat().st_size if wal.exists() else 0
        real(*args, **kwargs)
        frames = wal.read_bytes()
        torn.image = (store.path.read_bytes(), frames[:rng.randint(before, len(frames))])
        raise SimCrash("torn write")

    vars(store)["write_block"] = write_block
    return torn


def store_problems(replica: Replica, agreed: dict[int, bytes]) -> list[str]:
    """What is wrong with a (re)opened store: a header off the honest chain, or a block at
    the head whose records do not match its header (a half-written block)."""
    problems = []
    for height, found in enumerate(replica.store.header_hashes(), start=1):
        known = agreed.setdefault(height, found)
        if known != found:
            problems.append(f"height {height} holds {found.hex()[:16]}, the honest chain "
                            f"{known.hex()[:16]}")
    for height in range(max(1, replica.height - sim_torn_check_blocks + 1), replica.height + 1):
        try:
            block, _, _ = replica.store.certified_block(height)
            block.check_contents()
        except StoreError as exc:
            problems.append(str(exc))
    if replica.height and replica.head is not None and replica.state.hex() != replica.head.state:
        problems.append("the committed state is not the head's")
    return problems
