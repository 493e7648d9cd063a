"""Domain-separated SHA-256: every kind of hashed object has its own one-byte prefix.

The prefixes form a prefix-free set, so the hash of one kind of object can never be passed
off as the hash of another. 0x00 and 0x01 are RFC 9162's Merkle leaf and node prefixes.
"""

from __future__ import annotations

import hashlib
from enum import IntEnum


class Domain(IntEnum):
    """The first byte hashed for each kind of object (see docs/PROTOCOL.md)."""

    MERKLE_LEAF = 0x00
    MERKLE_NODE = 0x01
    RECORD = 0x10
    HEADER = 0x11
    STATE = 0x12
    VALIDATOR_SET = 0x13
    CHECKPOINT = 0x14
    GENESIS = 0x15
    CHANGES = 0x16
    REFUSAL = 0x17


_PREFIX = {domain: bytes([domain]) for domain in Domain}


def digest(domain: Domain, data: bytes) -> bytes:
    """SHA-256 over ``domain`` byte followed by ``data``."""
    h = hashlib.sha256(_PREFIX[domain])
    h.update(data)
    return h.digest()
