"""The wallet backup file in Python (the browser writes and reads the same format)."""

from __future__ import annotations

import base64

import pytest

from api.client.backup import make_backup, open_backup
from ledger.crypto.keys import SigningKey
from ledger.errors import KeyFileError
from ledger.limits import backup_iterations_max

KEY = SigningKey.from_seed(b"\x21" * 32)


def test_a_backup_opens_with_its_passphrase_and_holds_no_plain_key() -> None:
    backup = make_backup(KEY, "芝麻开门")
    assert open_backup(backup, "芝麻开门").public_hex == KEY.public_hex
    assert KEY.seed().hex() not in str(backup) and base64.b64encode(KEY.seed()).decode() \
        not in str(backup)


@pytest.mark.parametrize("change", ["passphrase", "ciphertext", "public_key", "iterations"])
def test_a_wrong_passphrase_or_a_changed_file_is_refused(change: str) -> None:
    backup = make_backup(KEY, "芝麻开门")
    passphrase = "芝麻开门"
    if change == "passphrase":
        passphrase = "芝麻关门"
    elif change == "ciphertext":
        sealed = bytearray(base64.b64decode(backup["ciphertext"]))
        sealed[3] ^= 1
        backup["ciphertext"] = base64.b64encode(bytes(sealed)).decode()
    elif change == "public_key":
        backup["public_key"] = SigningKey.from_seed(b"\x22" * 32).public_hex
    else:
        backup["kdf"]["iterations"] = backup_iterations_max + 1
    with pytest.raises(KeyFileError):
        open_backup(backup, passphrase)
