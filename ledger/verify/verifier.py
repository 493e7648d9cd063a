"""Verify a whole chain without trusting the node that stores or serves it.

:func:`verify_chain` reads a :class:`ChainSource` (the stores of a data dir, or a node's
chain API) and checks, block by block from genesis, in this order (docs/VERIFY.md):

1. structure: header hash, chain, height, previous hash, time, validator set, proposer; every
   record's shape, canonical body, chain and sequence number; record count, total and Merkle
   root (``verify_blocks``);
2. signatures: every record signature, and the commit certificate and history checkpoint of
   every block against the validator set in force at that height, in a process pool
   (``verify_sigs``);
3. rules: a replay of every record through a fresh application, the state commitment of every
   block, the application's invariants;
4. stored state: every derived row each node keeps (``verify_state``) equals the replay;
5. an earlier signed checkpoint, when given, is a prefix of this chain.

The first failure (lowest height, then the order above) is returned as a :class:`Failure`,
a plain value that names the node, block, record or row and what was expected and found.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from ledger.application import Application
from ledger.verify.failure import Report
from ledger.verify.source import ChainSource, Progress


def verify_chain(source: ChainSource, app_factory: Callable[[], Application], *,
                 from_height: int | None = None, to_height: int | None = None,
                 checkpoint: Any = None, progress: Progress | None = None,
                 workers: int | list[Any] = 2, sig_cache: set[bytes] | None = None) -> Report:
    """Check everything ``source`` holds against a replay from genesis; see the module doc.

    ``from_height``: signatures of blocks below it are not checked (an earlier run did);
    everything else still is. ``to_height``: stop there (stored rows of nodes above it are
    not compared). ``checkpoint``: a signed checkpoint JSON the chain must extend.
    ``workers``: signature-checking processes to start (0: check in this process), or
    workers started earlier (:func:`ledger.crypto.sigworker.start_workers`). Raises SourceError when
    the source cannot be read at all.
    """
    from ledger.verify.run import Run

    with _collector_tuned():
        return Run(source, app_factory, from_height=from_height, to_height=to_height,
                   checkpoint=checkpoint, progress=progress, workers=workers,
                   sig_cache=sig_cache).run()


#: Young-generation threshold of the collector during a run (CPython's default is 700).
gc_young_max = 1_000_000


@contextmanager
def _collector_tuned() -> Iterator[None]:
    """Fewer, cheaper collections for the run, restored after it.

    A replay allocates a few hundred short-lived, acyclic objects per record (parsed bodies,
    rows, changes) that reference counting frees, while the application's state grows into
    tens of thousands of long-lived objects that every full collection walks again: with the
    defaults the collector took about 15% of the main process's time. What exists before the
    run is frozen out of collections and a young collection waits for a million new
    containers (a replay keeps ~12 per record alive in its state, and each collection walks
    them all: at 50,000 collections took ~8% of the main process); garbage cycles are still
    collected, just later.
    """
    threshold = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(gc_young_max, 20, 100)
    try:
        yield
    finally:
        gc.set_threshold(*threshold)
        gc.unfreeze()

