"""The simulated consortium's validators: byzantine votes never commit and are kept as
evidence, nor stand in for a missing honest vote; a validator set change takes effect from
the next block."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from ledger.chain.block import Header
from ledger.chain.certificate import verify_certificate
from ledger.chain.genesis import Genesis, validator_set_hash
from ledger.consensus.clock import ManualClock
from ledger.consensus.consortium import Consortium, conflicting
from ledger.crypto.keys import SigningKey, verify
from ledger.errors import ConsensusError

from .conftest import GENESIS_MS
from .consortium_kit import Add, Headers, Make, RotatingApp, Snapshot, assert_all_agree, commit

# --- byzantine validators ----------------------------------------------------------------------


def test_byzantine_votes_never_commit_and_are_kept_as_evidence(
        make_consortium: Make, add: Add, headers: Headers) -> None:
    consortium = make_consortium()
    byzantine = consortium.replicas[1]
    assert byzantine is not None and byzantine.key is not None
    byzantine.byzantine = True
    bad_key = byzantine.key.public_hex
    for _ in range(6):  # includes heights where the byzantine replica proposes
        commit(consortium, add())
    assert_all_agree(consortium, headers, 6)
    validators = consortium.genesis.validators
    for replica in consortium.live:
        store = replica.store
        evidence = store.evidence()
        assert [e["height"] for e in evidence] == [1, 2, 3, 4, 5, 6]
        for item in evidence:
            block, cert, _ = store.certified_block(item["height"])
            committed = block.header
            assert bad_key not in [v.validator for v in cert.votes]
            verify_certificate(cert, committed.hash, validators)
            signed = Header.from_json(json.loads(item["header"]))
            assert item["validator"] == bad_key
            assert signed.hash.hex() == item["header_hash"]
            assert hashlib.sha256(b"\x11" + item["header"].encode()).hexdigest() == \
                item["header_hash"]
            assert item["header_hash"] != committed.hash.hex()
            assert conflicting(signed, committed)
            assert verify(bytes.fromhex(bad_key), bytes.fromhex(item["sig"]), signed.hash)
            assert not verify(bytes.fromhex(bad_key), bytes.fromhex(item["sig"]), committed.hash)


def test_byzantine_vote_cannot_stand_in_for_a_missing_honest_one(
        make_consortium: Make, add: Add, snapshot: Snapshot) -> None:
    consortium = make_consortium()
    commit(consortium, add())
    consortium.replicas[1].byzantine = True  # type: ignore[union-attr]
    consortium.stop(2)
    consortium.submit(add())
    before = snapshot(consortium)
    with pytest.raises(ConsensusError) as caught:
        consortium.produce_block()
    assert caught.value.code == "no_quorum"
    assert snapshot(consortium) == before


# --- validator set changes ---------------------------------------------------------------------


def test_validator_set_change_takes_effect_from_the_next_block(
        tmp_path: Path, validator_keys: list[SigningKey], genesis: Genesis, add: Add) -> None:
    three = genesis.validators[:3]
    consortium = Consortium(tmp_path / "rot", genesis, validator_keys,
                            lambda: RotatingApp(three), ManualClock(GENESIS_MS, 1))
    try:
        commit(consortium, add(name="rotate"))
        commit(consortium, add())
        store = consortium.live[0].store
        first, second = store.certified_block(1), store.certified_block(2)
        assert first[0].header.validators == validator_set_hash(genesis.validators).hex()
        assert second[0].header.validators == validator_set_hash(three).hex()
        verify_certificate(second[1], second[0].header.hash, three)
        assert [h for h, _ in store.validator_sets()] == [0, 2]
        consortium.stop(3)  # no longer a validator: its absence costs nothing
        commit(consortium, add())
        consortium.stop(2)  # one of three down: 2 votes < quorum(3)
        consortium.submit(add())
        with pytest.raises(ConsensusError):
            consortium.produce_block()
    finally:
        consortium.close()
