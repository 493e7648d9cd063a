"""Ed25519 signature verification, the one primitive every node and verifier runs most.

Kept apart from :mod:`ledger.crypto.keys` (key files, PEM, signing) so that a signature worker
process imports only this and ``cryptography``'s Ed25519 module: it starts in a fraction of
the time.
"""

from __future__ import annotations

from functools import lru_cache

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

SIGNATURE_BYTES = 64


@lru_cache(maxsize=65536)
def _public_key(public: bytes) -> Ed25519PublicKey | None:
    try:
        return Ed25519PublicKey.from_public_bytes(public)
    except ValueError:
        return None


def verify(public: bytes, signature: bytes, message: bytes) -> bool:
    """True when ``signature`` is a valid Ed25519 signature of ``message`` by ``public``."""
    if len(signature) != SIGNATURE_BYTES:
        return False
    key = _public_key(public)
    if key is None:
        return False
    try:
        key.verify(signature, message)
    except InvalidSignature:
        return False
    return True
