"""Signed checkpoints: a tiny value a client keeps to hold the chain to its history.

The chain's history log is an RFC 9162 Merkle tree whose leaves are the block header hashes of
heights 1..tree_size. A checkpoint ``{"chain", "tree_size", "root_hash"}`` is signed by the
validators (the same more-than-two-thirds rule as a commit certificate) over
``SHA-256(0x14 || canonical(checkpoint))``. A client holding an old checkpoint asks for a
consistency proof to the newest one and so learns that no block it saw was rewritten.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ledger.application import ValidatorInfo
from ledger.chain import merkle
from ledger.chain.certificate import Vote, check_quorum
from ledger.errors import ConsensusError
from ledger.wire.canonical import canonical_bytes
from ledger.wire.hashing import Domain, digest


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """The history tree's size and root for one chain."""

    chain: str
    tree_size: int
    root_hash: bytes

    def to_json(self) -> dict[str, Any]:
        return {"chain": self.chain, "tree_size": self.tree_size, "root_hash": self.root_hash.hex()}

    def message(self) -> bytes:
        """What validators sign: SHA-256(0x14 || canonical checkpoint)."""
        return digest(Domain.CHECKPOINT, canonical_bytes(self.to_json()))


@dataclass(frozen=True, slots=True)
class SignedCheckpoint:
    """A checkpoint and the validators' signatures over it."""

    checkpoint: Checkpoint
    votes: tuple[Vote, ...]

    def to_json(self) -> dict[str, Any]:
        return {**self.checkpoint.to_json(), "signatures": [v.to_json() for v in self.votes]}

    @classmethod
    def from_json(cls, obj: Any) -> SignedCheckpoint:
        try:
            cp = Checkpoint(str(obj["chain"]), int(obj["tree_size"]),
                            bytes.fromhex(obj["root_hash"]))
            return cls(cp, tuple(Vote.from_json(v) for v in obj["signatures"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise ConsensusError(f"malformed checkpoint: {exc!r}",
                                 code="checkpoint_malformed") from exc

    def verify(self, validators: Sequence[ValidatorInfo]) -> list[str]:
        """Raise ConsensusError unless a quorum of ``validators`` signed it."""
        return check_quorum(self.checkpoint.message(), self.votes, validators,
                            f"checkpoint of size {self.checkpoint.tree_size}")


def verify_extension(old: Checkpoint, new: Checkpoint, proof: Sequence[bytes]) -> None:
    """Raise ProofError/ConsensusError unless ``new`` extends ``old`` (same chain)."""
    if old.chain != new.chain:
        raise ConsensusError(f"checkpoint of chain {old.chain!r} cannot be extended by one of "
                             f"{new.chain!r}", code="checkpoint_other_chain")
    if old.tree_size == new.tree_size:
        if old.root_hash != new.root_hash:
            raise ConsensusError("two checkpoints of the same size have different roots: the "
                                 "history was rewritten", code="checkpoint_fork")
        return
    merkle.verify_consistency(old.tree_size, new.tree_size, proof, old.root_hash, new.root_hash)
