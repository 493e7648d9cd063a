"""What the verifier reads: a chain source (stores or a node's chain API) and its blocks.

A :class:`ChainSource` hands out the genesis, the nodes (each a :class:`NodeView` with its
head, blocks and stored rows) and :class:`RawBlock` values, unchecked: the verifier trusts
none of it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from ledger.chain.genesis import Genesis


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


#: ``progress(height, height_max, records, records_max)`` is called after each block.
Progress = Callable[[int, int, int, int], None]
