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
import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from ledger.chain.genesis import Genesis
from ledger.errors import LedgerError

#: Failure codes by stage; a failure of an earlier stage at the same height is reported first.
STAGES: tuple[tuple[str, ...], ...] = (
    ("genesis_mismatch", "table_missing", "table_unexpected", "table_mismatch",
     "malformed_header",
     "header_hash_mismatch", "header_not_canonical", "other_chain", "height_mismatch",
     "prev_hash_mismatch", "time_not_increasing", "validator_set_mismatch", "bad_proposer",
     "malformed_record", "sequence_not_increasing", "record_count_mismatch", "total_mismatch",
     "merkle_root_mismatch", "row_missing", "row_unexpected", "row_mismatch",
     "record_expired", "expiry_too_far"),
    ("bad_signature", "malformed_certificate", "certificate_wrong_header",
     "certificate_below_quorum", "certificate_bad_vote", "malformed_checkpoint",
     "checkpoint_mismatch", "checkpoint_below_quorum", "checkpoint_bad_vote"),
    ("record_rejected", "replay_error", "state_mismatch", "invariant_violated"),
    ("checkpoint_invalid", "checkpoint_inconsistent", "chain_truncated", "evidence_forged",
     "nodes_disagree"),
)
#: Stored rows compared at a node's head (any code) come after everything at that height.
STAGE_STORED = len(STAGES)
_STAGE_OF = {code: i for i, codes in enumerate(STAGES) for code in codes}


@dataclass(frozen=True, slots=True)
class Failure:
    """The first thing found wrong: where it is and what was expected and found."""

    what: str  # a stable code, see STAGES
    height: int | None = None
    node: str | None = None  # store file name or URL
    record: str | None = None  # record id
    table: str | None = None
    key: tuple[Any, ...] | None = None
    expected: Any = None
    found: Any = None
    detail: str = ""

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["key"] = None if self.key is None else list(self.key)
        return out

    def describe(self) -> str:
        """One line for people: where, what, expected vs found."""
        where = [f"block {self.height}" if self.height is not None else "",
                 f"record {self.record}" if self.record else "",
                 f"table {self.table} key {json.dumps(list(self.key or ()))}" if self.table
                 else "", f"in {self.node}" if self.node else ""]
        text = f"{self.what}: " + ", ".join(w for w in where if w)
        if self.detail:
            text += f": {self.detail}"
        if self.expected is not None or self.found is not None:
            text += f"; expected {_short(self.expected)}, found {_short(self.found)}"
        return text


def _short(value: Any, chars_max: int = 400) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= chars_max else text[:chars_max] + "…"


class VerifyFailed(Exception):
    """Raised inside the verifier to stop at a failure; ``at`` orders failures."""

    def __init__(self, failure: Failure, checked_at: int | None = None,
                 stage: int | None = None) -> None:
        super().__init__(failure.describe())
        self.failure = failure
        height = failure.height if checked_at is None else checked_at
        self.at = (height if height is not None else 0,
                   _STAGE_OF.get(failure.what, 0) if stage is None else stage)


def fail(what: str, height: int | None, node: str | None = None, **fields: Any) -> VerifyFailed:
    """The exception to raise for a failure (``raise fail(...)``)."""
    return VerifyFailed(Failure(what, height, node, **fields))


class StateMoved(Exception):
    """A live node committed blocks while its rows were read; they cannot be compared."""


class SourceError(LedgerError):
    """The source cannot be read at all (no such dir, not a store, node unreachable)."""

    code = "source_unreadable"


@dataclass(slots=True)
class RawBlock:
    """A block as a source holds it, before any check.

    ``header``, ``certificate`` and ``checkpoint`` are stored text (a store) or parsed JSON
    (an API). ``rows`` are the records in order: ``(idx, id, type, signer, seq, body, sigs)``
    with ``body`` the JSON text and ``sigs`` comma-joined hex; ``id``..``seq`` are the
    store's index columns, None when the source has none.
    """

    height: int
    hash: str | None
    header: Any
    certificate: Any
    checkpoint: Any
    rows: list[tuple[Any, ...]]


class StoredState(Protocol):
    """The derived rows one node keeps; methods return None when the source lacks them."""

    def table_columns(self) -> dict[str, list[str]] | None:
        """Every table the node keeps and its columns."""
        ...

    def rows(self, table: str, columns: Sequence[str],
             pk: Sequence[str]) -> Iterator[tuple[Any, ...]] | None:
        """Every row of ``table`` as a tuple in ``columns`` order, sorted by ``pk`` (in any
        order when ``pk`` is empty)."""
        ...


class NodeView(Protocol):
    """One node's copy of the chain."""

    name: str

    def head(self) -> tuple[int, int]:
        """(height, records claimed by the head header) at the start of the run."""
        ...

    def blocks(self) -> Iterator[RawBlock]:
        """Blocks 1..height in order; raises VerifyFailed for missing or stray rows."""
        ...

    def state(self) -> StoredState | None: ...


class ChainSource(Protocol):
    """What the verifier reads: a trusted genesis and one or more nodes' copies."""

    target: str

    def genesis(self) -> Genesis: ...

    def nodes(self) -> Sequence[NodeView]: ...

    def pending(self) -> Iterator[tuple[Any, ...]] | None:
        """Rows ``(n, id, wire)`` of the pending-record journal, or None."""
        ...

    def close(self) -> None: ...


@dataclass(slots=True)
class Report:
    """The outcome of a run. ``valid`` is False exactly when ``failure`` is set."""

    target: str
    chain: str = ""
    height: int = 0
    blocks: int = 0  # blocks whose signatures were checked (all in [from, to])
    blocks_replayed: int = 0
    records: int = 0
    signatures: int = 0
    invariants_checked: int = 0
    rows_checked: int = 0
    nodes: list[str] = field(default_factory=list)
    table_rows: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    checkpoint: dict[str, Any] | None = None  # the latest signed checkpoint verified
    seconds: float = 0.0
    failure: Failure | None = None

    @property
    def valid(self) -> bool:
        return self.failure is None

    def to_json(self) -> dict[str, Any]:
        out = {k: getattr(self, k) for k in self.__slots__ if k != "failure"}  # type: ignore
        out["valid"] = self.valid
        out["seconds"] = round(self.seconds, 3)
        out["failure"] = None if self.failure is None else self.failure.to_json()
        return out


#: ``progress(height, height_max, records, records_max)`` is called after each block.
Progress = Callable[[int, int, int, int], None]


def verify_chain(source: ChainSource, app_factory: Callable[[], Any], *,
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

