"""Canonical JSON (PROTOCOL.md §2), hash domains (§3), Ed25519 (§4) and Merkle roots (§7)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

RECORD = b"\x10"
HEADER = b"\x11"
STATE = b"\x12"
VALIDATORS = b"\x13"
CHECKPOINT = b"\x14"
GENESIS = b"\x15"
CHANGES = b"\x16"
LEAF = b"\x00"
NODE = b"\x01"


def sha(data: bytes) -> bytes:
    """H(x): SHA-256."""
    return hashlib.sha256(data).digest()


def canonical(value: Any) -> bytes:
    """RFC 8785 over the restricted model: keys sorted by UTF-16 code units, no whitespace."""
    if isinstance(value, dict):
        items = sorted(value.items(), key=lambda kv: kv[0].encode("utf-16-be"))
        inner = b",".join(canonical(k) + b":" + canonical(v) for k, v in items)
        return b"{" + inner + b"}"
    if isinstance(value, list | tuple):
        return b"[" + b",".join(canonical(v) for v in value) + b"]"
    if isinstance(value, float):
        raise ValueError("floats are outside the model")
    return json.dumps(value, ensure_ascii=False).encode()


def domain_hash(prefix: bytes, value: Any) -> bytes:
    """H(prefix ‖ canonical(value))."""
    return sha(prefix + canonical(value))


def signature_ok(key_hex: str, sig_hex: str, message: bytes) -> bool:
    """Pure Ed25519 over the 32 message bytes; anything malformed is simply not valid."""
    try:
        key = Ed25519PublicKey.from_public_bytes(bytes.fromhex(key_hex))
        key.verify(bytes.fromhex(sig_hex), message)
    except (ValueError, InvalidSignature):
        return False
    return True


def merkle_root(leaves: Sequence[bytes]) -> bytes:
    """RFC 9162 MTH over leaf data (record ids or header hashes)."""
    if not leaves:
        return sha(b"")
    if len(leaves) == 1:
        return sha(LEAF + leaves[0])
    split = 1
    while split * 2 < len(leaves):
        split *= 2
    return sha(NODE + merkle_root(leaves[:split]) + merkle_root(leaves[split:]))


def validator_set_hash(validators: Sequence[dict[str, str]]) -> str:
    """PROTOCOL.md §10: the {key, name} list sorted by key, hashed with 0x13."""
    items = sorted(({"key": v["key"], "name": v["name"]} for v in validators),
                   key=lambda v: v["key"])
    return domain_hash(VALIDATORS, items).hex()


def quorum(n: int) -> int:
    """⌊2n/3⌋ + 1 votes."""
    return 2 * n // 3 + 1
