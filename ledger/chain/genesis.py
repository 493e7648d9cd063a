"""The genesis document: what every replica and verifier agrees on before block 1.

It fixes the chain id, the first validator set, the ledger's parameters and an opaque
application section (for the exchange: members, regulator, economic parameters). Its hash,
``SHA-256(0x15 || canonical(genesis))``, is the ``prev`` of block 1 and the trust anchor a
client pins.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ledger.application import ValidatorInfo
from ledger.crypto.keys import is_public_key_hex
from ledger.errors import StoreError
from ledger.limits import (
    block_records_max,
    record_ttl_ms_max_ceiling,
    record_ttl_ms_max_default,
    record_ttl_ms_max_floor,
    validators_max,
)
from ledger.wire.canonical import canonical_bytes, parse_strict
from ledger.wire.hashing import Domain, digest


@dataclass(frozen=True, slots=True)
class LedgerParams:
    """Consensus parameters fixed at genesis.

    ``record_ttl_ms_max``: how far past the block time a record's ``expires`` may lie.
    """

    block_records_max: int = block_records_max
    block_interval_ms: int = 500
    record_ttl_ms_max: int = record_ttl_ms_max_default


@dataclass(frozen=True, slots=True)
class Genesis:
    """The genesis document."""

    chain: str
    time_ms: int
    validators: tuple[ValidatorInfo, ...]
    params: LedgerParams = field(default_factory=LedgerParams)
    app: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        keys = [v.key for v in self.validators]
        if not 0 < len(keys) <= validators_max or len(set(keys)) != len(keys):
            raise StoreError(f"genesis needs 1 to {validators_max} distinct validators")
        if not all(is_public_key_hex(k) for k in keys):
            raise StoreError("validator keys must be 64-hex-digit Ed25519 public keys")
        if not 0 < self.params.block_records_max <= block_records_max:
            raise StoreError(f"block_records_max must be 1..{block_records_max}")
        ttl = self.params.record_ttl_ms_max
        if not record_ttl_ms_max_floor <= ttl <= record_ttl_ms_max_ceiling:
            raise StoreError(f"record_ttl_ms_max must be {record_ttl_ms_max_floor}.."
                             f"{record_ttl_ms_max_ceiling} ms")

    def to_json(self) -> dict[str, Any]:
        """The document as JSON (canonical-able)."""
        return {
            "chain": self.chain,
            "time": self.time_ms,
            "validators": [{"name": v.name, "key": v.key} for v in self.validators],
            "params": {"block_records_max": self.params.block_records_max,
                       "block_interval_ms": self.params.block_interval_ms,
                       "record_ttl_ms_max": self.params.record_ttl_ms_max},
            "app": self.app,
        }

    @classmethod
    def from_json(cls, obj: Any) -> Genesis:
        """Read a document produced by :meth:`to_json`; raises StoreError when malformed."""
        try:
            params = obj["params"]
            return cls(
                chain=str(obj["chain"]),
                time_ms=int(obj["time"]),
                validators=tuple(ValidatorInfo(str(v["name"]), str(v["key"]))
                                 for v in obj["validators"]),
                params=LedgerParams(int(params["block_records_max"]),
                                    int(params["block_interval_ms"]),
                                    int(params["record_ttl_ms_max"])),
                app=dict(obj.get("app", {})),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise StoreError(f"malformed genesis document: {exc!r}") from exc

    @property
    def hash(self) -> bytes:
        """SHA-256(0x15 || canonical genesis)."""
        return digest(Domain.GENESIS, canonical_bytes(self.to_json()))

    def save(self, path: Path) -> None:
        """Write the document as indented JSON."""
        path.write_text(json.dumps(self.to_json(), ensure_ascii=False, indent=2) + "\n")

    @classmethod
    def load(cls, path: Path) -> Genesis:
        """Read a genesis file."""
        try:
            return cls.from_json(parse_strict(path.read_bytes(), depth_max=32))
        except OSError as exc:
            raise StoreError(f"cannot read genesis file {path}: {exc.strerror}") from exc


def validator_set_hash(validators: tuple[ValidatorInfo, ...]) -> bytes:
    """SHA-256(0x13 || canonical list of {name, key} sorted by key)."""
    items = sorted(({"key": v.key, "name": v.name} for v in validators), key=lambda v: v["key"])
    return digest(Domain.VALIDATOR_SET, canonical_bytes(items))
