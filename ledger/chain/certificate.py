"""Commit certificates: more than two thirds of a validator set signing one header hash.

A vote is a validator's Ed25519 signature over the 32-byte header hash. A certificate is
valid for a validator set of n when it holds valid votes from more than 2n/3 distinct
members of that set (``quorum(n) = floor(2n/3) + 1``). Votes from keys outside the set,
duplicates and invalid signatures never count.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ledger.application import ValidatorInfo
from ledger.crypto.keys import verify
from ledger.errors import ConsensusError


def quorum(validator_count: int) -> int:
    """The smallest number of votes that is more than two thirds of ``validator_count``."""
    return validator_count * 2 // 3 + 1


def faults_tolerated(validator_count: int) -> int:
    """f = floor((n - 1) / 3): validators that may be down while blocks still commit."""
    return (validator_count - 1) // 3


@dataclass(frozen=True, slots=True)
class Vote:
    """One validator's signature over a header hash."""

    validator: str  # public key hex
    signature: bytes

    def to_json(self) -> dict[str, str]:
        return {"validator": self.validator, "sig": self.signature.hex()}

    @classmethod
    def from_json(cls, obj: Any) -> Vote:
        try:
            return cls(str(obj["validator"]), bytes.fromhex(obj["sig"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise ConsensusError(f"malformed vote: {exc!r}", code="certificate_malformed") from exc


@dataclass(frozen=True, slots=True)
class CommitCertificate:
    """The votes that committed the block at ``height`` with header hash ``header_hash``."""

    height: int
    header_hash: bytes
    votes: tuple[Vote, ...]

    def to_json(self) -> dict[str, Any]:
        return {"height": self.height, "header": self.header_hash.hex(),
                "signatures": [v.to_json() for v in self.votes]}

    @classmethod
    def from_json(cls, obj: Any) -> CommitCertificate:
        try:
            return cls(int(obj["height"]), bytes.fromhex(obj["header"]),
                       tuple(Vote.from_json(v) for v in obj["signatures"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise ConsensusError(f"malformed certificate: {exc!r}",
                                 code="certificate_malformed") from exc


def valid_signers(message: bytes, votes: Iterable[Vote],
                  validators: Sequence[ValidatorInfo]) -> list[str]:
    """Distinct keys of ``validators`` whose vote over ``message`` verifies, in set order."""
    members = {v.key for v in validators}
    good: set[str] = set()
    for vote in votes:
        if vote.validator in members and vote.validator not in good and verify(
            bytes.fromhex(vote.validator), vote.signature, message
        ):
            good.add(vote.validator)
    return [v.key for v in validators if v.key in good]


def check_quorum(message: bytes, votes: Iterable[Vote], validators: Sequence[ValidatorInfo],
                 what: str) -> list[str]:
    """Raise ConsensusError unless more than 2/3 of ``validators`` signed ``message``."""
    signers = valid_signers(message, votes, validators)
    need = quorum(len(validators))
    if len(signers) < need:
        raise ConsensusError(f"{what}: {len(signers)} valid validator signatures of "
                             f"{len(validators)}, {need} needed", code="certificate_below_quorum")
    return signers


def verify_certificate(cert: CommitCertificate, header_hash: bytes,
                       validators: Sequence[ValidatorInfo]) -> list[str]:
    """Check ``cert`` commits ``header_hash`` under ``validators``; returns the signers."""
    if cert.header_hash != header_hash:
        raise ConsensusError(f"certificate at height {cert.height} is for header "
                             f"{cert.header_hash.hex()}, not {header_hash.hex()}",
                             code="certificate_wrong_header")
    return check_quorum(header_hash, cert.votes, validators, f"certificate at height {cert.height}")
