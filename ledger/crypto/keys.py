"""Ed25519 keys: generate, save and load as PEM (encrypted with a passphrase), verify.

``verify`` itself lives in :mod:`ledger.crypto.ed25519` (re-exported here).

A public key is identified on the chain by its 32 raw bytes in lowercase hex (64 characters),
so a signer names itself and anyone can check its signatures without a directory. ``key_id``
is a short fingerprint for people and file names.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger.crypto.ed25519 import SIGNATURE_BYTES, verify
from ledger.errors import KeyFileError

_HEX = frozenset("0123456789abcdef")
PUBLIC_KEY_BYTES = 32


def key_id(public_hex: str) -> str:
    """A 16-hex-digit fingerprint of a public key, for display and file names."""
    return hashlib.sha256(bytes.fromhex(public_hex)).hexdigest()[:16]


def is_public_key_hex(text: object) -> bool:
    """True when ``text`` is 64 lowercase hex digits (the on-chain form of a public key)."""
    if not isinstance(text, str):
        return False
    if text in _known:  # the same keys come back record after record
        return True
    if len(text) != 2 * PUBLIC_KEY_BYTES or not _HEX.issuperset(text):
        return False
    if len(_known) >= known_keys_max:
        _known.clear()  # a bounded memo: start again rather than grow
    _known.add(text)
    return True


#: Public keys already seen well formed (a memo, not a state: bounded and thread-safe enough).
_known: set[str] = set()
known_keys_max = 1 << 16


@dataclass(frozen=True, slots=True)
class SigningKey:
    """An Ed25519 private key with its public half."""

    private: Ed25519PrivateKey
    public: bytes

    @classmethod
    def generate(cls) -> SigningKey:
        """A fresh random key."""
        return cls._wrap(Ed25519PrivateKey.generate())

    @classmethod
    def from_seed(cls, seed: bytes) -> SigningKey:
        """The key whose 32-byte RFC 8032 seed is ``seed`` (deterministic demos and tests)."""
        if len(seed) != 32:
            raise KeyFileError(f"an Ed25519 seed is 32 bytes, not {len(seed)}")
        return cls._wrap(Ed25519PrivateKey.from_private_bytes(seed))

    @classmethod
    def _wrap(cls, private: Ed25519PrivateKey) -> SigningKey:
        public = private.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        return cls(private, public)

    @property
    def public_hex(self) -> str:
        """The on-chain name of this key."""
        return self.public.hex()

    @property
    def key_id(self) -> str:
        """Short fingerprint of the public key."""
        return key_id(self.public.hex())

    def sign(self, message: bytes) -> bytes:
        """A 64-byte Ed25519 signature of ``message``."""
        return self.private.sign(message)

    def seed(self) -> bytes:
        """The 32-byte private seed. Handle with care."""
        return self.private.private_bytes(
            serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )

    def to_pem(self, passphrase: str | None = None) -> bytes:
        """PKCS#8 PEM; encrypted (best available scheme) when a passphrase is given."""
        encryption: serialization.KeySerializationEncryption = (
            serialization.BestAvailableEncryption(passphrase.encode("utf-8"))
            if passphrase else serialization.NoEncryption()
        )
        return self.private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
        )

    @classmethod
    def from_pem(cls, data: bytes, passphrase: str | None = None) -> SigningKey:
        """Load a PKCS#8 PEM key; raises KeyFileError on a bad file or wrong passphrase."""
        try:
            private = serialization.load_pem_private_key(
                data, passphrase.encode("utf-8") if passphrase else None
            )
        except TypeError as exc:  # encrypted without passphrase, or the reverse
            raise KeyFileError(f"key file passphrase problem: {exc}",
                               code="key_passphrase_required") from exc
        except (ValueError, UnsupportedAlgorithm) as exc:
            raise KeyFileError("not a readable PEM private key, or the passphrase is wrong",
                               code="key_file_unreadable") from exc
        if not isinstance(private, Ed25519PrivateKey):
            raise KeyFileError("the key file holds a key that is not Ed25519",
                               code="key_not_ed25519")
        return cls._wrap(private)

    def save(self, path: Path, passphrase: str | None = None) -> None:
        """Write the key as PEM, readable by the owner only."""
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(self.to_pem(passphrase))
        path.chmod(0o600)

    @classmethod
    def load(cls, path: Path, passphrase: str | None = None) -> SigningKey:
        """Read a key saved by :meth:`save`."""
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise KeyFileError(f"cannot read key file {path}: {exc.strerror}",
                               code="key_file_missing") from exc
        return cls.from_pem(data, passphrase)


__all__ = ["PUBLIC_KEY_BYTES", "SIGNATURE_BYTES", "SigningKey", "is_public_key_hex", "key_id",
           "verify"]
