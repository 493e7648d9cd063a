"""The verifier's rules that only they can enforce: each tampering below is made consistent in
everything else (Merkle root recomputed, header re-certified with the validator keys, derived
rows untouched because the replay does not change), so one rule alone must find it."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ledger.chain.block import Header, records_root
from ledger.consensus.consortium import Consortium
from ledger.crypto.keys import SigningKey
from ledger.wire.record import Record, make_body, sign_body

from .chains import build, each_store, read, recertify, verify

Add = Callable[..., Record]


def _bodies(data: Path, height: int) -> list[Record]:
    with sqlite3.connect(data / "node-0.sqlite") as conn:
        rows = conn.execute("SELECT body FROM records WHERE height = ? ORDER BY idx", (height,))
        return [Record(json.loads(b), [], b.encode()) for (b,) in rows]


@pytest.mark.parametrize("replayed", [7, 2], ids=["equal to the previous", "of an earlier block"])
def test_a_replayed_sequence_number_is_found_by_the_sequence_rule_alone(
        make_consortium: Callable[..., Consortium], add: Add, user: SigningKey,
        validator_keys: list[SigningKey], tmp_path: Path, replayed: int) -> None:
    consortium = make_consortium()
    build(consortium, add)  # one signer, sequence numbers 1..12, three per block
    consortium.close()
    data, genesis = tmp_path / "chain", consortium.genesis
    body = json.loads(read(data, "SELECT body FROM records WHERE height = 3 AND idx = 1")[0])
    assert body["seq"] == 8
    # same effect, reused number
    replay = sign_body(make_body(genesis.chain, body["type"], body["signers"], replayed,
                                 body["payload"], expires=body["expires"]), [user])
    each_store(data, "UPDATE records SET id = ?, seq = ?, body = ?, sigs = ? "
               "WHERE height = 3 AND idx = 1", (replay.id, replayed, replay.body_bytes.decode(),
                                                replay.signatures[0].hex()))
    root = records_root(_bodies(data, 3)).hex()
    recertify(data, 3, validator_keys, lambda h: h.update(root=root))

    failure = verify(data, genesis).failure

    assert failure is not None
    assert (failure.what, failure.height, failure.record) == (
        "sequence_not_increasing", 3, replay.id), failure
    assert failure.found == replayed


def test_evidence_that_is_a_vote_for_the_committed_header_is_forged(
        make_consortium: Callable[..., Consortium], add: Add,
        validator_keys: list[SigningKey], tmp_path: Path) -> None:
    """An honest validator's real vote, filed as evidence against it, must not frame it."""
    consortium = make_consortium()
    consortium.replicas[3].byzantine = True  # type: ignore[union-attr]
    build(consortium, add, blocks=2)
    consortium.close()
    data, genesis = tmp_path / "chain", consortium.genesis
    honest = validator_keys[2]
    header, header_hash = read(data, "SELECT header, hash FROM blocks WHERE height = 2")
    each_store(data, "UPDATE evidence SET validator = ?, header = ?, header_hash = ?, sig = ? "
               "WHERE height = 2", (honest.public_hex, header, header_hash,
                                    honest.sign(bytes.fromhex(header_hash)).hex()))

    failure = verify(data, genesis).failure

    assert failure is not None
    assert (failure.what, failure.height, failure.table) == ("evidence_forged", 2, "evidence")
    assert "committed header" in failure.detail


def test_reordered_records_of_one_signer_break_the_sequence(
        make_consortium: Callable[..., Consortium], add: Add, tmp_path: Path) -> None:
    consortium = make_consortium()
    build(consortium, add)
    consortium.close()
    data, genesis = tmp_path / "chain", consortium.genesis
    for a, b in ((0, -1), (1, 0), (-1, 1)):
        each_store(data, "UPDATE records SET idx = ? WHERE height = 3 AND idx = ?", (b, a))
    failure = verify(data, genesis).failure
    assert failure is not None
    assert (failure.what, failure.height) == ("sequence_not_increasing", 3), failure


def test_reordered_records_of_different_signers_break_the_merkle_root(
        make_consortium: Callable[..., Consortium], add: Add, tmp_path: Path) -> None:
    consortium = make_consortium()
    signers = [SigningKey.from_seed(bytes([0x30 + i]) * 32) for i in range(3)]
    for key in signers:
        consortium.submit(add(key=key))
    consortium.produce_block()
    consortium.close()
    data, genesis = tmp_path / "chain", consortium.genesis
    for a, b in ((0, -1), (1, 0), (-1, 1)):
        each_store(data, "UPDATE records SET idx = ? WHERE height = 1 AND idx = ?", (b, a))
    failure = verify(data, genesis).failure
    assert failure is not None
    assert (failure.what, failure.height) == ("merkle_root_mismatch", 1), failure




STRANGER = SigningKey.from_seed(b"\x77" * 32)


def _refiled(header: dict[str, Any], key: SigningKey, **fields: Any) -> tuple[str, str, str, str]:
    """(validator, header text, header hash, sig): ``key``'s valid vote for ``header`` with
    ``fields`` changed, as an evidence row would hold it."""
    new = Header.from_json({**header, **fields})
    return key.public_hex, new.encoded.decode(), new.hash.hex(), key.sign(new.hash).hex()


def _spaced(header: dict[str, Any], key: SigningKey) -> tuple[str, ...]:
    validator, text, hashed, sig = _refiled(header, key)
    return validator, text.replace(",", ", "), hashed, sig


def _hash_of_another(header: dict[str, Any], key: SigningKey) -> tuple[str, ...]:
    validator, text, _, sig = _refiled(header, key)
    return validator, text, "ab" * 32, sig


Forgery = Callable[[dict[str, Any], SigningKey], tuple[str, ...]]
EVIDENCE_FORGERIES: list[tuple[str, Forgery, str]] = [
    ("a vote at another height", lambda h, k: _refiled(h, k, height=3), "another height"),
    ("a vote on another chain", lambda h, k: _refiled(h, k, chain="other-chain"),
     "another height or chain"),
    ("a vote by a stranger", lambda h, k: _refiled(h, STRANGER), "not a validator"),
    ("a header not in canonical form", _spaced, "not canonical"),
    ("a header that is not the one hashed", _hash_of_another, "not the one hashed"),
    ("a row that holds no JSON", lambda h, k: (k.public_hex, "{", "ab" * 32, "00"),
     "does not hold a header"),
    ("a header missing its fields", lambda h, k: (k.public_hex, "{}", "ab" * 32, "00"),
     "malformed block header"),
]


@pytest.mark.parametrize(("forge", "why"),
                         [pytest.param(f, w, id=i) for i, f, w in EVIDENCE_FORGERIES])
def test_evidence_that_is_not_a_conflicting_vote_of_a_validator_is_forged(
        make_consortium: Callable[..., Consortium], add: Add,
        validator_keys: list[SigningKey], tmp_path: Path,
        forge: Forgery, why: str) -> None:
    consortium = make_consortium()
    consortium.replicas[3].byzantine = True  # type: ignore[union-attr]
    build(consortium, add, blocks=2)
    consortium.close()
    data, genesis = tmp_path / "chain", consortium.genesis
    (text,) = read(data, "SELECT header FROM evidence WHERE height = 2")
    row = forge(json.loads(text), validator_keys[3])
    each_store(data, "UPDATE evidence SET validator = ?, header = ?, header_hash = ?, sig = ? "
               "WHERE height = 2", row)

    failure = verify(data, genesis).failure

    assert failure is not None
    assert (failure.what, failure.height, failure.table) == ("evidence_forged", 2, "evidence")
    assert (failure.key, failure.node) == ((2, row[0], row[2]), "node-0.sqlite")
    assert why in failure.detail, failure.detail


def test_records_off_the_fast_path_are_verified_by_the_strict_path(
        make_consortium: Callable[..., Consortium], add: Add, tmp_path: Path) -> None:
    """Non-ASCII bodies are not taken by the fast paths: the strict parse must accept them."""
    consortium = make_consortium()
    for name in ("咖啡", "茶"):
        consortium.submit(add(name=name))
    consortium.produce_block()
    consortium.close()
    data, genesis = tmp_path / "chain", consortium.genesis
    assert verify(data, genesis).valid
    (body,) = read(data, "SELECT body FROM records WHERE height = 1 AND idx = 1")
    each_store(data, "UPDATE records SET body = ? WHERE height = 1 AND idx = 1",
               (body.replace('"by":1', '"by":01'),))

    failure = verify(data, genesis).failure

    assert failure is not None
    assert (failure.what, failure.height, failure.table, failure.key) == (
        "malformed_record", 1, None, (1, 1))
    assert failure.node == "node-0.sqlite" and failure.detail


def _built(make_consortium: Callable[..., Consortium], add: Add,
           tmp_path: Path) -> tuple[Path, Any]:
    consortium = make_consortium()
    build(consortium, add)
    consortium.close()
    return tmp_path / "chain", consortium.genesis


@pytest.mark.parametrize(("column", "text"), [("certificate", "{"), ("certificate", "{}"),
                                              ("checkpoint", "{"), ("checkpoint", "{}")],
                         ids=["certificate not JSON", "certificate of no shape",
                              "checkpoint not JSON", "checkpoint of no shape"])
def test_an_unreadable_seal_is_named_with_its_code_height_and_node(
        make_consortium: Callable[..., Consortium], add: Add, tmp_path: Path, column: str,
        text: str) -> None:
    data, genesis = _built(make_consortium, add, tmp_path)
    with sqlite3.connect(data / "node-1.sqlite") as conn:
        conn.execute(f"UPDATE blocks SET {column} = ? WHERE height = 2", (text,))

    failure = verify(data, genesis).failure

    assert failure is not None
    assert (failure.what, failure.height, failure.node) == (
        f"malformed_{column}", 2, "node-1.sqlite"), failure


@pytest.mark.parametrize("column", ["certificate", "checkpoint"])
def test_a_seal_not_in_its_written_form_is_named_with_both_forms(
        make_consortium: Callable[..., Consortium], add: Add, tmp_path: Path,
        column: str) -> None:
    data, genesis = _built(make_consortium, add, tmp_path)
    written = read(data, f"SELECT {column} FROM blocks WHERE height = 2")[0]
    spaced = json.dumps(json.loads(written), indent=1)  # the same seal, spelled apart
    each_store(data, f"UPDATE blocks SET {column} = ? WHERE height = 2", (spaced,))

    failure = verify(data, genesis).failure

    assert failure is not None
    assert (failure.what, failure.height, failure.expected, failure.found) == (
        f"malformed_{column}", 2, written, spaced), failure


def test_a_checkpoint_of_another_history_is_named_with_both(
        make_consortium: Callable[..., Consortium], add: Add, tmp_path: Path) -> None:
    data, genesis = _built(make_consortium, add, tmp_path)
    each_store(data, "UPDATE blocks SET checkpoint = (SELECT checkpoint FROM blocks "
               "WHERE height = 1) WHERE height = 2")
    stored = json.loads(read(data, "SELECT checkpoint FROM blocks WHERE height = 2")[0])
    first = {k: stored[k] for k in ("chain", "tree_size", "root_hash")}  # block 1's

    failure = verify(data, genesis).failure

    assert failure is not None
    assert (failure.what, failure.height, failure.found, failure.detail) == (
        "checkpoint_mismatch", 2, first,
        "the checkpoint is not the history of the verified headers"), failure
    assert failure.expected["tree_size"] == first["tree_size"] + 1
