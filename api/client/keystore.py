"""A customer's keystore: encrypted PEM key files under ``$JIFENTONG_HOME/keys`` (or a path).

Keys never leave the machine; the node only ever sees signatures. A passphrase comes from
``--passphrase-env VAR`` (the name of an environment variable), ``JIFENTONG_PASSPHRASE``, or
an interactive prompt. An empty passphrase is refused (``passphrase_empty``) unless the caller
asks for a plain, unencrypted key file on purpose (``plaintext=True``, the CLI's
``--insecure-plaintext``, which also warns on stderr).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from ledger.crypto.keys import SigningKey
from ledger.errors import KeyFileError

_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}\Z")


def home() -> Path:
    return Path(os.environ.get("JIFENTONG_HOME", Path.home() / ".jifentong"))


def key_path(name_or_path: str) -> Path:
    """A key name in the keystore, or a path to a PEM file."""
    if "/" in name_or_path or name_or_path.endswith(".pem"):
        return Path(name_or_path)
    if not _NAME.match(name_or_path):
        raise KeyFileError(f"{name_or_path!r} is not a key name (letters, digits, . _ -)",
                           code="key_name_invalid")
    return home() / "keys" / f"{name_or_path}.pem"


def create(name_or_path: str, passphrase: str | None, *, overwrite: bool = False,
           plaintext: bool = False) -> SigningKey:
    """Generate a key and save it: encrypted with ``passphrase``, or, only when ``plaintext``
    is asked for explicitly, unencrypted (then ``passphrase`` must be empty)."""
    if plaintext and passphrase:
        raise KeyFileError("a plaintext key file takes no passphrase", code="passphrase_conflict")
    if not plaintext and not passphrase:
        raise KeyFileError("an empty passphrase would store the key unencrypted; choose a "
                           "passphrase, or ask for an unencrypted file with "
                           "--insecure-plaintext", code="passphrase_empty")
    path = key_path(name_or_path)
    if path.exists() and not overwrite:
        raise KeyFileError(f"{path} exists already; choose another name", code="key_exists")
    key = SigningKey.generate()
    key.save(path, passphrase or None)
    return key


def load(name_or_path: str, passphrase: str | None) -> SigningKey:
    """Read a key from the keystore or a path."""
    return SigningKey.load(key_path(name_or_path), passphrase)


def is_encrypted(name_or_path: str) -> bool:
    try:
        return b"ENCRYPTED" in key_path(name_or_path).read_bytes()[:64]
    except OSError:
        return False
