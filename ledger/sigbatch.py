"""Batches of Ed25519 signatures as plain bytes, checked on worker processes.

Every signature the chain holds is over a 32-byte message (record id, header hash or
checkpoint digest) by a 32-byte key, so a batch is ``key || signature || message`` per
signature, 128 bytes each: cheap to send to another process. The chain verifier checks a
whole chain's signatures this way on a process pool.
"""

from __future__ import annotations

from .keys import verify

PACKED_BYTES = 128


def pack(key_hex: str, signature: bytes, message: bytes) -> bytes | None:
    """128 packed bytes, or None when the key or signature cannot be a valid one."""
    if len(signature) != 64 or len(message) != 32:
        return None
    try:
        key = bytes.fromhex(key_hex)
    except (ValueError, TypeError):
        return None
    return key + signature + message if len(key) == 32 else None


def verify_packed(packed: bytes) -> list[int]:
    """Indexes of the signatures in ``packed`` (key, signature, message) that do not verify."""
    bad = []
    view = memoryview(packed)
    for n in range(len(packed) // PACKED_BYTES):
        i = n * PACKED_BYTES
        if not verify(bytes(view[i:i + 32]), bytes(view[i + 32:i + 96]),
                      bytes(view[i + 96:i + 128])):
            bad.append(n)
    return bad
