"""Block headers and blocks.

A header commits to everything about its block::

    {"chain", "height", "prev", "time", "records", "total", "root", "state", "validators",
     "proposer"}

``prev`` is the previous header's hash (the genesis hash for height 1), ``time`` milliseconds
since the Unix epoch chosen by the proposer, ``records`` the number of records in the block
and ``total`` the count up to and including it, ``root`` the RFC 9162 Merkle root over the
record ids (as leaves), ``state`` the application state commitment after the block,
``validators`` the hash of the validator set that certifies this block, ``proposer`` the
proposing validator's key. The header hash is ``SHA-256(0x11 || canonical(header))``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from ledger.chain import merkle
from ledger.errors import StoreError
from ledger.wire.canonical import canonical_bytes
from ledger.wire.hashing import Domain, digest
from ledger.wire.record import Record


@dataclass(frozen=True)
class Header:
    """A block header; ``hash`` is what validators sign."""

    chain: str
    height: int
    prev: str
    time_ms: int
    records: int
    total: int
    root: str
    state: str
    validators: str
    proposer: str

    def to_json(self) -> dict[str, Any]:
        return {
            "chain": self.chain, "height": self.height, "prev": self.prev, "time": self.time_ms,
            "records": self.records, "total": self.total, "root": self.root,
            "state": self.state, "validators": self.validators, "proposer": self.proposer,
        }

    @classmethod
    def from_json(cls, obj: Any) -> Header:
        try:
            return cls(
                chain=obj["chain"], height=obj["height"], prev=obj["prev"], time_ms=obj["time"],
                records=obj["records"], total=obj["total"], root=obj["root"],
                state=obj["state"], validators=obj["validators"], proposer=obj["proposer"],
            )
        except (KeyError, TypeError) as exc:
            raise StoreError(f"malformed block header: {exc!r}") from exc

    @cached_property
    def encoded(self) -> bytes:
        """The canonical bytes that are hashed."""
        return canonical_bytes(self.to_json())

    @cached_property
    def hash(self) -> bytes:
        """SHA-256(0x11 || canonical header)."""
        return digest(Domain.HEADER, self.encoded)


@dataclass(frozen=True)
class Block:
    """A header and the records it commits to, in order."""

    header: Header
    records: tuple[Record, ...]

    def check_contents(self) -> None:
        """Raise StoreError unless the records match the header's count and Merkle root."""
        if len(self.records) != self.header.records:
            raise StoreError(f"block {self.header.height} header says {self.header.records} "
                             f"records, the block holds {len(self.records)}")
        root = records_root(self.records).hex()
        if root != self.header.root:
            raise StoreError(f"block {self.header.height} Merkle root {self.header.root} does "
                             f"not match its records ({root})")


def records_root(records: Sequence[Record]) -> bytes:
    """RFC 9162 root over the record ids (each id is a leaf's data)."""
    return merkle.root_from_leaf_hashes(merkle.leaf_hashes([r.id_bytes for r in records]))
