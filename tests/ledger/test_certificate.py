"""Tests of ledger.chain.certificate and the validator-set hash: the more-than-two-thirds rule."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable

import pytest

from ledger.application import ValidatorInfo
from ledger.chain.certificate import (
    CommitCertificate,
    Vote,
    check_quorum,
    faults_tolerated,
    quorum,
    valid_signers,
    verify_certificate,
)
from ledger.chain.genesis import validator_set_hash
from ledger.consensus.consortium import Consortium
from ledger.crypto.keys import SigningKey
from ledger.errors import ConsensusError
from ledger.wire.canonical import canonical_bytes
from ledger.wire.record import Record

KEYS = [SigningKey.from_seed(bytes([n]) * 32) for n in (1, 2, 3, 4)]
STRANGERS = [SigningKey.from_seed(bytes([n]) * 32) for n in (0x51, 0x52, 0x53)]
VALIDATORS = tuple(ValidatorInfo(f"v{i}", k.public_hex) for i, k in enumerate(KEYS))
HEADER = hashlib.sha256(b"a header").digest()
OTHER = hashlib.sha256(b"another header").digest()


def _votes(keys: list[SigningKey], message: bytes = HEADER) -> tuple[Vote, ...]:
    return tuple(Vote(k.public_hex, k.sign(message)) for k in keys)


def _cert(votes: tuple[Vote, ...], header: bytes = HEADER) -> CommitCertificate:
    return CommitCertificate(7, header, votes)


# --- quorum ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("n", "q", "f"), [
    (1, 1, 0), (2, 2, 0), (3, 3, 0), (4, 3, 1), (5, 4, 1),
    (6, 5, 1), (7, 5, 2), (8, 6, 2), (9, 7, 2), (10, 7, 3),
])
def test_quorum_is_more_than_two_thirds(n: int, q: int, f: int) -> None:
    assert quorum(n) == q
    assert faults_tolerated(n) == f
    assert 3 * quorum(n) > 2 * n >= 3 * (quorum(n) - 1)  # the smallest count above 2n/3
    assert n - quorum(n) == faults_tolerated(n)  # f down still leaves a quorum


def test_two_quorums_always_share_an_honest_validator() -> None:
    for n in range(1, 65):
        assert 2 * quorum(n) - n > faults_tolerated(n)


# --- validator set hash -------------------------------------------------------------------


def test_validator_set_hash_is_sha256_of_0x13_and_sorted_canonical_list() -> None:
    items = sorted(({"key": v.key, "name": v.name} for v in VALIDATORS), key=lambda v: v["key"])
    expected = hashlib.sha256(b"\x13" + canonical_bytes(items)).digest()
    assert validator_set_hash(VALIDATORS) == expected


def test_validator_set_hash_ignores_order_but_not_names_or_members() -> None:
    h = validator_set_hash(VALIDATORS)
    assert validator_set_hash(tuple(reversed(VALIDATORS))) == h
    renamed = (ValidatorInfo("someone", KEYS[0].public_hex), *VALIDATORS[1:])
    assert validator_set_hash(renamed) != h
    assert validator_set_hash(VALIDATORS[:3]) != h


# --- verify_certificate --------------------------------------------------------------------


@pytest.mark.parametrize("signers", [[0, 1, 2], [1, 2, 3], [0, 1, 2, 3], [3, 0, 2]])
def test_certificate_with_a_quorum_of_validators_verifies(signers: list[int]) -> None:
    cert = _cert(_votes([KEYS[i] for i in signers]))
    got = verify_certificate(cert, HEADER, VALIDATORS)
    assert got == [KEYS[i].public_hex for i in sorted(signers)]  # in set order


def _below_quorum() -> tuple[Vote, ...]:
    return _votes(KEYS[:2])


def _with_strangers() -> tuple[Vote, ...]:
    return _votes(KEYS[:2] + STRANGERS)


def _with_duplicates() -> tuple[Vote, ...]:
    return _votes([KEYS[0], KEYS[1], KEYS[1], KEYS[0]])


def _with_a_bad_signature() -> tuple[Vote, ...]:
    good = _votes(KEYS[:3])
    bad = Vote(good[2].validator, bytes([good[2].signature[0] ^ 1]) + good[2].signature[1:])
    return (*good[:2], bad)


def _votes_over_another_header() -> tuple[Vote, ...]:
    return _votes(KEYS[:2]) + _votes(KEYS[2:], OTHER)


def _validator_signing_as_another() -> tuple[Vote, ...]:
    return (*_votes(KEYS[:2]), Vote(KEYS[2].public_hex, KEYS[3].sign(HEADER)))


@pytest.mark.parametrize("make", [
    _below_quorum, _with_strangers, _with_duplicates, _with_a_bad_signature,
    _votes_over_another_header, _validator_signing_as_another,
], ids=lambda f: f.__name__.strip("_"))
def test_certificate_without_a_quorum_of_valid_votes_fails(
        make: Callable[[], tuple[Vote, ...]]) -> None:
    with pytest.raises(ConsensusError) as caught:
        verify_certificate(_cert(make()), HEADER, VALIDATORS)
    assert caught.value.code == "certificate_below_quorum"


def test_strangers_alone_never_make_a_quorum() -> None:
    strangers = tuple(ValidatorInfo(f"s{i}", k.public_hex) for i, k in enumerate(STRANGERS))
    votes = _votes(STRANGERS)
    assert verify_certificate(_cert(votes), HEADER, strangers)  # valid for their own set
    with pytest.raises(ConsensusError):
        verify_certificate(_cert(votes), HEADER, VALIDATORS)


def test_forged_certificate_over_another_header_fails() -> None:
    cert = _cert(_votes(KEYS, OTHER), header=OTHER)  # genuine votes for another header
    assert verify_certificate(cert, OTHER, VALIDATORS)
    with pytest.raises(ConsensusError) as caught:
        verify_certificate(cert, HEADER, VALIDATORS)
    assert caught.value.code == "certificate_wrong_header"
    relabelled = _cert(_votes(KEYS, OTHER), header=HEADER)  # claims HEADER, votes sign OTHER
    with pytest.raises(ConsensusError) as again:
        verify_certificate(relabelled, HEADER, VALIDATORS)
    assert again.value.code == "certificate_below_quorum"


def test_valid_signers_counts_each_validator_once() -> None:
    votes = _with_duplicates() + _with_strangers()
    assert valid_signers(HEADER, votes, VALIDATORS) == [KEYS[0].public_hex, KEYS[1].public_hex]
    with pytest.raises(ConsensusError):
        check_quorum(HEADER, votes, VALIDATORS, "test")


def test_certificate_json_round_trip() -> None:
    cert = _cert(_votes(KEYS[:3]))
    obj = json.loads(json.dumps(cert.to_json()))
    assert obj["header"] == HEADER.hex() and obj["height"] == 7
    assert obj["signatures"][0] == {"validator": KEYS[0].public_hex,
                                    "sig": KEYS[0].sign(HEADER).hex()}
    assert CommitCertificate.from_json(obj) == cert


@pytest.mark.parametrize("obj", [
    {}, {"height": 1, "header": "zz", "signatures": []},
    {"height": 1, "header": "00", "signatures": [{"validator": "a"}]},
    {"height": 1, "header": "00", "signatures": [{"validator": "a", "sig": "xyz"}]},
    {"height": "x", "header": "00", "signatures": []},
])
def test_malformed_certificate_is_refused(obj: object) -> None:
    with pytest.raises(ConsensusError) as caught:
        CommitCertificate.from_json(obj)
    assert caught.value.code == "certificate_malformed"


# --- certificates the consortium stores ------------------------------------------------------


def test_stored_certificates_verify_against_the_genesis_set(
        make_consortium: Callable[..., Consortium], add: Callable[..., Record]) -> None:
    consortium = make_consortium()
    for _ in range(5):
        consortium.submit(add())
        consortium.produce_block()
    store = consortium.replicas[0].store
    for height in range(1, 6):
        block, cert, _ = store.certified_block(height)
        assert cert.height == height and cert.header_hash == block.header.hash
        assert block.header.validators == validator_set_hash(VALIDATORS).hex()
        signers = verify_certificate(cert, block.header.hash, VALIDATORS)
        assert len(signers) >= quorum(4)
        with pytest.raises(ConsensusError):
            verify_certificate(cert, block.header.hash, VALIDATORS[:1] + tuple(
                ValidatorInfo(f"s{i}", k.public_hex) for i, k in enumerate(STRANGERS)))
