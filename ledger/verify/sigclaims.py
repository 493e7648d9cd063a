"""What a batch of signatures stands for: a block's records, or the votes of a certificate or
checkpoint, judged once the batch's failing indexes are known (:mod:`ledger.verify.sigs`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ledger.chain.certificate import quorum
from ledger.crypto.sigbatch import pack
from ledger.verify.failure import Failure


@dataclass(slots=True)
class RecordSigs:
    """The record signatures of one block: ``owners[i]`` is the record id of signature i."""

    height: int
    node: str
    owners: list[str]

    def judge(self, bad: list[int]) -> Failure | None:
        if not bad:
            return None
        record = self.owners[bad[0]]
        return Failure("bad_signature", self.height, self.node, record=record,
                       detail="a signature of the record does not verify over its id")


@dataclass(slots=True)
class QuorumSigs:
    """The votes of a certificate or checkpoint (``what``) and the set that must sign it.

    ``slots[i]`` is the validator of vote i and whether its signature was sent (False for a
    vote that cannot verify: malformed key or signature).
    """

    height: int
    node: str
    what: str
    validators: tuple[str, ...]
    slots: list[tuple[str, bool]]

    @property
    def count(self) -> int:
        return sum(1 for _, sent in self.slots if sent)

    def judge(self, bad: list[int]) -> Failure | None:
        members, good, strangers = set(self.validators), set(), []
        index = 0
        for validator, sent in self.slots:
            ok = sent and index not in bad
            index += sent
            if ok and validator in members and validator not in good:
                good.add(validator)
            else:
                strangers.append(validator)
        need = quorum(len(self.validators))
        if len(good) < need:
            return Failure(f"{self.what}_below_quorum", self.height, self.node,
                           expected=f"{need} of {len(self.validators)} validators",
                           found=f"{len(good)} valid validator signatures",
                           detail=f"the {self.what} is not signed by a quorum")
        if strangers:
            return Failure(f"{self.what}_bad_vote", self.height, self.node,
                           found=strangers[0][:64], detail=f"the {self.what} holds a vote that "
                           "is not a valid, distinct validator signature")
        return None


Claim = RecordSigs | QuorumSigs


def pack_votes(votes: Sequence[tuple[Any, bytes]], message: bytes) -> tuple[list[tuple[str, bool]],
                                                                            bytes]:
    """Slots and packed bytes for ``(validator, signature)`` votes over ``message``."""
    slots, packed = [], bytearray()
    for validator, signature in votes:
        item = pack(validator, signature, message) if isinstance(validator, str) else None
        slots.append((str(validator), item is not None))
        if item is not None:
            packed += item
    return slots, bytes(packed)
