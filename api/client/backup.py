"""The wallet's backup file, in Python: the same format the browser writes (docs/WALLET.md).

A backup is JSON: the key's PKCS#8 bytes sealed with AES-256-GCM under a key derived from
the passphrase by PBKDF2-HMAC-SHA-256 (600,000 iterations, 16-byte salt), with the public
key as associated data. ``jifentong keys export-wallet`` turns a ``jifentong keys new`` file
into one, so the browser can restore it; :func:`open_backup` reads one the browser made.
"""

from __future__ import annotations

import base64
import os
import unicodedata
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

from ledger.crypto.keys import SigningKey
from ledger.errors import KeyFileError
from ledger.limits import backup_iterations_max

FORMAT = "jifentong-wallet-backup"
#: PBKDF2 iterations of a new backup (OWASP's 2023 figure for PBKDF2-HMAC-SHA-256).
ITERATIONS = 600_000


def _derive(passphrase: str, salt: bytes, iterations: int) -> bytes:
    text = unicodedata.normalize("NFC", passphrase).encode("utf-8")
    return PBKDF2HMAC(hashes.SHA256(), 32, salt, iterations).derive(text)


def make_backup(key: SigningKey, passphrase: str, label: str = "") -> dict[str, Any]:
    """The backup JSON of ``key`` under ``passphrase``."""
    salt, iv = os.urandom(16), os.urandom(12)
    der = key.private.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
    sealed = AESGCM(_derive(passphrase, salt, ITERATIONS)).encrypt(
        iv, der, key.public_hex.encode())
    b64 = base64.b64encode
    return {"format": FORMAT, "version": 1, "label": label, "public_key": key.public_hex,
            "kdf": {"name": "PBKDF2-SHA-256", "iterations": ITERATIONS,
                    "salt": b64(salt).decode()},
            "cipher": {"name": "AES-256-GCM", "iv": b64(iv).decode()},
            "ciphertext": b64(sealed).decode()}


def open_backup(backup: Any, passphrase: str) -> SigningKey:
    """The key in ``backup``; KeyFileError when it is not a backup or will not open."""
    try:
        if backup["format"] != FORMAT or backup["version"] != 1:
            raise KeyFileError("not a Jifentong wallet backup", code="key_file_unreadable")
        iterations = int(backup["kdf"]["iterations"])
        if not 0 < iterations <= backup_iterations_max:
            raise KeyFileError("backup asks for too many iterations", code="key_file_unreadable")
        salt = base64.b64decode(backup["kdf"]["salt"], validate=True)
        iv = base64.b64decode(backup["cipher"]["iv"], validate=True)
        sealed = base64.b64decode(backup["ciphertext"], validate=True)
        public = str(backup["public_key"])
    except (KeyError, TypeError, ValueError) as exc:
        raise KeyFileError(f"malformed backup: {exc!r}", code="key_file_unreadable") from exc
    try:
        der = AESGCM(_derive(passphrase, salt, iterations)).decrypt(iv, sealed, public.encode())
    except InvalidTag as exc:
        raise KeyFileError("wrong passphrase, or the backup was changed",
                           code="key_file_unreadable") from exc
    private = serialization.load_der_private_key(der, None)
    key = SigningKey.from_seed(private.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
        serialization.NoEncryption()))
    if key.public_hex != public:
        raise KeyFileError("the backup's key is not its public key", code="key_file_unreadable")
    return key
