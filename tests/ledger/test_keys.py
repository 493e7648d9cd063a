"""Tests of ledger.crypto.keys: RFC 8032 and Wycheproof vectors, PEM files, key ids."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, rsa

from ledger.crypto.keys import SigningKey, is_public_key_hex, key_id, verify
from ledger.errors import KeyFileError

from .vectors import VECTORS_DIR, absent

WYCHEPROOF = VECTORS_DIR / "wycheproof" / "ed25519_test.json"
RFC8032_JSON = VECTORS_DIR / "ed25519" / "rfc8032_7_1.json"

# Seed 0x01 * 32: the first validator of every test chain and of docs/PROTOCOL.md.
SEED_1_PUBLIC = "8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c"
SEED_1_KEY_ID = "34750f98bd59fcfc"


def _wycheproof_cases() -> list[Any]:
    if not WYCHEPROOF.is_file():
        return absent("wycheproof", WYCHEPROOF)
    data = json.loads(WYCHEPROOF.read_text())
    return [pytest.param((group["publicKey"]["pk"], test), id=f"tc{test['tcId']}")
            for group in data["testGroups"] for test in group["tests"]]


def _rfc8032_cases() -> list[Any]:
    if not RFC8032_JSON.is_file():
        return absent("rfc8032", RFC8032_JSON)
    vectors = json.loads(RFC8032_JSON.read_text())["vectors"]
    return [pytest.param(v, id=v["name"].replace(" ", "_")) for v in vectors]


def _boringssl_vectors(text: str) -> list[dict[str, bytes]]:
    """The PRIV/PUB/MESSAGE/SIG blocks of ed25519_tests.txt, as bytes."""
    vectors, current = [], {}
    for line in text.splitlines():
        if line.startswith("#") or ":" not in line:
            continue
        field, _, value = line.partition(":")
        current[field.strip()] = bytes.fromhex(value.strip())
        if field.strip() == "SIG":
            vectors.append(current)
            current = {}
    return vectors


# --- 1. conformance vectors ----------------------------------------------------------------


@pytest.mark.parametrize("case", _wycheproof_cases())
def test_wycheproof_ed25519_verify(case: tuple[str, dict[str, Any]]) -> None:
    public_hex, test = case
    assert test["result"] in {"valid", "invalid"}
    accepted = verify(bytes.fromhex(public_hex), bytes.fromhex(test["sig"]),
                      bytes.fromhex(test["msg"]))
    assert accepted is (test["result"] == "valid"), test["comment"]


def test_wycheproof_counts(vectors_dir: Path) -> None:
    data = json.loads((vectors_dir / "wycheproof" / "ed25519_test.json").read_text())
    results = [t["result"] for g in data["testGroups"] for t in g["tests"]]
    assert len(results) == data["numberOfTests"] == 151
    assert results.count("valid") == 88 and results.count("invalid") == 63


@pytest.mark.parametrize("vector", _rfc8032_cases())
def test_rfc8032_section_7_1_sign_from_seed(vector: dict[str, str]) -> None:
    key = SigningKey.from_seed(bytes.fromhex(vector["secret_key"]))
    message = bytes.fromhex(vector["message"])
    assert key.public_hex == vector["public_key"]
    assert key.sign(message).hex() == vector["signature"]
    assert verify(key.public, bytes.fromhex(vector["signature"]), message)
    assert not verify(key.public, bytes.fromhex(vector["signature"]), message + b"\x00")


def test_all_514_boringssl_vectors_sign_and_verify(vectors_dir: Path) -> None:
    vectors = _boringssl_vectors((vectors_dir / "ed25519" / "ed25519_tests.txt").read_text())
    assert len(vectors) == 514
    failures = []
    for n, v in enumerate(vectors):
        key = SigningKey.from_seed(v["PRIV"][:32])
        ok = (key.public == v["PUB"] == v["PRIV"][32:]
              and key.sign(v["MESSAGE"]) == v["SIG"]
              and verify(v["PUB"], v["SIG"], v["MESSAGE"]))
        if not ok:
            failures.append(n)
    assert failures == []


def test_rfc8032_json_agrees_with_the_text_file(vectors_dir: Path) -> None:
    text = _boringssl_vectors((vectors_dir / "ed25519" / "ed25519_tests.txt").read_text())
    by_public = {v["PUB"].hex(): v for v in text}
    vectors = json.loads((vectors_dir / "ed25519" / "rfc8032_7_1.json").read_text())["vectors"]
    assert len(vectors) == 5
    for v in vectors:
        assert by_public[v["public_key"]]["SIG"].hex() == v["signature"]


# --- 2. signing and verifying ----------------------------------------------------------------


def test_seed_key_is_deterministic_and_key_id_is_stable() -> None:
    key = SigningKey.from_seed(b"\x01" * 32)
    assert key.public_hex == SEED_1_PUBLIC
    assert key.key_id == key_id(SEED_1_PUBLIC) == SEED_1_KEY_ID
    assert key_id(SEED_1_PUBLIC) == hashlib.sha256(bytes.fromhex(SEED_1_PUBLIC)).hexdigest()[:16]
    assert SigningKey.from_seed(b"\x01" * 32).key_id == SEED_1_KEY_ID
    assert key.seed() == b"\x01" * 32


def test_signatures_are_deterministic_64_bytes() -> None:
    key = SigningKey.from_seed(b"\x02" * 32)
    assert key.sign(b"m") == key.sign(b"m")
    assert len(key.sign(b"m")) == 64
    assert key.sign(b"m") != key.sign(b"n")


@pytest.mark.parametrize("length", [0, 31, 33, 64])
def test_from_seed_refuses_wrong_length(length: int) -> None:
    with pytest.raises(KeyFileError):
        SigningKey.from_seed(b"\x01" * length)


def test_verify_refuses_bad_lengths_and_bad_keys() -> None:
    key = SigningKey.from_seed(b"\x03" * 32)
    sig = key.sign(b"msg")
    assert verify(key.public, sig, b"msg")
    assert not verify(key.public, sig[:63], b"msg")
    assert not verify(key.public, sig + b"\x00", b"msg")
    assert not verify(key.public[:31], sig, b"msg")
    assert not verify(b"\xff" * 32, sig, b"msg")  # not a point on the curve
    assert not verify(SigningKey.from_seed(b"\x04" * 32).public, sig, b"msg")


def test_generated_keys_differ() -> None:
    assert SigningKey.generate().public != SigningKey.generate().public


@pytest.mark.parametrize(("text", "ok"), [
    (SEED_1_PUBLIC, True),
    (SEED_1_PUBLIC.upper(), False),
    (SEED_1_PUBLIC[:-1], False),
    (SEED_1_PUBLIC + "0", False),
    ("g" * 64, False),
    (b"a" * 64, False),
    (None, False),
])
def test_is_public_key_hex(text: object, ok: bool) -> None:
    assert is_public_key_hex(text) is ok


# --- 3. PEM files ------------------------------------------------------------------------------


def test_pem_round_trip_without_passphrase(tmp_path: Path) -> None:
    key = SigningKey.from_seed(b"\x05" * 32)
    pem = key.to_pem()
    assert pem.startswith(b"-----BEGIN PRIVATE KEY-----")
    assert SigningKey.from_pem(pem).seed() == key.seed()
    key.save(tmp_path / "k" / "key.pem")
    assert (tmp_path / "k" / "key.pem").stat().st_mode & 0o777 == 0o600
    assert SigningKey.load(tmp_path / "k" / "key.pem").public == key.public


def test_pem_round_trip_with_passphrase(tmp_path: Path) -> None:
    key = SigningKey.from_seed(b"\x06" * 32)
    pem = key.to_pem("correct horse 积分")
    assert pem.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    assert key.seed() not in pem
    assert SigningKey.from_pem(pem, "correct horse 积分").seed() == key.seed()
    key.save(tmp_path / "key.pem", "pw")
    assert SigningKey.load(tmp_path / "key.pem", "pw").key_id == key.key_id


def test_wrong_passphrase_is_refused_with_a_code() -> None:
    pem = SigningKey.from_seed(b"\x07" * 32).to_pem("right")
    with pytest.raises(KeyFileError) as caught:
        SigningKey.from_pem(pem, "wrong")
    assert caught.value.code == "key_file_unreadable"


def test_missing_passphrase_is_refused_with_a_code() -> None:
    pem = SigningKey.from_seed(b"\x07" * 32).to_pem("right")
    with pytest.raises(KeyFileError) as caught:
        SigningKey.from_pem(pem)
    assert caught.value.code == "key_passphrase_required"


def test_passphrase_for_an_unencrypted_key_is_refused_with_a_code() -> None:
    pem = SigningKey.from_seed(b"\x07" * 32).to_pem()
    with pytest.raises(KeyFileError) as caught:
        SigningKey.from_pem(pem, "unexpected")
    assert caught.value.code == "key_passphrase_required"


def _pem_of(private: Any) -> bytes:
    return bytes(private.private_bytes(serialization.Encoding.PEM,
                                       serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))


@pytest.mark.parametrize("make", [
    pytest.param(lambda: ec.generate_private_key(ec.SECP256R1()), id="p256"),
    pytest.param(lambda: ed448.Ed448PrivateKey.generate(), id="ed448"),
    pytest.param(lambda: rsa.generate_private_key(65537, 1024), id="rsa"),
])
def test_non_ed25519_pem_key_is_refused(make: Any) -> None:
    with pytest.raises(KeyFileError) as caught:
        SigningKey.from_pem(_pem_of(make()))
    assert caught.value.code == "key_not_ed25519"


@pytest.mark.parametrize("data", [
    b"",
    b"not a key",
    b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
    pytest.param(SigningKey.from_seed(b"\x08" * 32).private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo),
        id="public-key-pem"),
])
def test_unreadable_pem_is_refused_with_a_code(data: bytes) -> None:
    with pytest.raises(KeyFileError) as caught:
        SigningKey.from_pem(data)
    assert caught.value.code == "key_file_unreadable"


def test_missing_key_file_is_refused_with_a_code(tmp_path: Path) -> None:
    with pytest.raises(KeyFileError) as caught:
        SigningKey.load(tmp_path / "absent.pem")
    assert caught.value.code == "key_file_missing"
