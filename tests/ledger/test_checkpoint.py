"""Tests of ledger.chain.checkpoint: signed history checkpoints and their consistency proofs."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable

import pytest

from ledger.chain import merkle
from ledger.chain.certificate import Vote
from ledger.chain.checkpoint import Checkpoint, SignedCheckpoint, verify_extension
from ledger.consensus.consortium import Consortium
from ledger.errors import ConsensusError, ProofError
from ledger.store import Store
from ledger.wire.canonical import canonical_bytes
from ledger.wire.record import Record

HEIGHT = 9


@pytest.fixture
def store(make_consortium: Callable[..., Consortium], add: Callable[..., Record]) -> Store:
    """Replica 0's store after HEIGHT blocks of one to three records each."""
    consortium = make_consortium()
    for height in range(1, HEIGHT + 1):
        for _ in range(height % 3 + 1):
            consortium.submit(add())
        consortium.produce_block()
    replica = consortium.replicas[0]
    assert replica is not None and replica.height == HEIGHT
    return replica.store


def _leaves(store: Store) -> list[bytes]:
    return [merkle.leaf_hash(h) for h in store.header_hashes()]


def _checkpoint(store: Store, height: int) -> SignedCheckpoint:
    return store.certified_block(height)[2]


def test_checkpoint_message_is_sha256_of_0x14_and_canonical_checkpoint() -> None:
    cp = Checkpoint("test-chain", 3, b"\xaa" * 32)
    obj = {"chain": "test-chain", "tree_size": 3, "root_hash": "aa" * 32}
    assert cp.to_json() == obj
    assert cp.message() == hashlib.sha256(b"\x14" + canonical_bytes(obj)).digest()


def test_stored_checkpoint_at_each_height_verifies(store: Store) -> None:
    validators = store.validator_sets()[0][1]
    leaves = _leaves(store)
    for height in range(1, HEIGHT + 1):
        signed = _checkpoint(store, height)
        assert signed.checkpoint.chain == "test-chain"
        assert signed.checkpoint.tree_size == height
        assert signed.checkpoint.root_hash == merkle.root_from_leaf_hashes(leaves[:height])
        assert len(signed.verify(validators)) >= 3


def test_consistency_proof_between_any_two_checkpoints_verifies(store: Store) -> None:
    leaves = _leaves(store)
    for a in range(1, HEIGHT + 1):
        for b in range(a, HEIGHT + 1):
            old, new = _checkpoint(store, a).checkpoint, _checkpoint(store, b).checkpoint
            verify_extension(old, new, merkle.consistency_proof(leaves[:b], a))


def test_rewritten_history_fails_the_consistency_proof(store: Store) -> None:
    leaves = _leaves(store)
    forged = list(leaves)
    forged[2] = merkle.leaf_hash(hashlib.sha256(b"a rewritten block 3").digest())
    old_forged = Checkpoint("test-chain", 5, merkle.root_from_leaf_hashes(forged[:5]))
    new = _checkpoint(store, HEIGHT).checkpoint
    with pytest.raises(ProofError):
        verify_extension(old_forged, new, merkle.consistency_proof(leaves, 5))
    with pytest.raises(ProofError):
        verify_extension(old_forged, new, merkle.consistency_proof(forged, 5))
    real_old = _checkpoint(store, 5).checkpoint
    forged_new = Checkpoint("test-chain", HEIGHT, merkle.root_from_leaf_hashes(forged))
    with pytest.raises(ProofError):
        verify_extension(real_old, forged_new, merkle.consistency_proof(forged, 5))


def test_two_checkpoints_of_one_size_with_different_roots_are_a_fork(store: Store) -> None:
    real = _checkpoint(store, 4).checkpoint
    verify_extension(real, real, [])
    other = Checkpoint("test-chain", 4, hashlib.sha256(b"fork").digest())
    with pytest.raises(ConsensusError) as caught:
        verify_extension(real, other, [])
    assert caught.value.code == "checkpoint_fork"


def test_checkpoint_of_another_chain_cannot_extend(store: Store) -> None:
    old = _checkpoint(store, 2).checkpoint
    new = _checkpoint(store, 6).checkpoint
    elsewhere = Checkpoint("other-chain", new.tree_size, new.root_hash)
    with pytest.raises(ConsensusError) as caught:
        verify_extension(old, elsewhere, merkle.consistency_proof(_leaves(store)[:6], 2))
    assert caught.value.code == "checkpoint_other_chain"


def test_altered_checkpoint_no_longer_verifies(store: Store) -> None:
    validators = store.validator_sets()[0][1]
    signed = _checkpoint(store, 5)
    bigger = Checkpoint(signed.checkpoint.chain, 6, signed.checkpoint.root_hash)
    with pytest.raises(ConsensusError) as caught:
        SignedCheckpoint(bigger, signed.votes).verify(validators)
    assert caught.value.code == "certificate_below_quorum"
    stranger = SignedCheckpoint(signed.checkpoint, tuple(
        Vote(v.validator, b"\x00" * 64) for v in signed.votes))
    with pytest.raises(ConsensusError):
        stranger.verify(validators)


def test_signed_checkpoint_json_round_trip(store: Store) -> None:
    signed = _checkpoint(store, 3)
    obj = json.loads(json.dumps(signed.to_json()))
    assert set(obj) == {"chain", "tree_size", "root_hash", "signatures"}
    assert SignedCheckpoint.from_json(obj) == signed
    with pytest.raises(ConsensusError) as caught:
        SignedCheckpoint.from_json({**obj, "root_hash": "not hex"})
    assert caught.value.code == "checkpoint_malformed"
