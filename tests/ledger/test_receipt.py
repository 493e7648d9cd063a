"""ledger.verify.receipt.check_receipt on its own: a good receipt checks, and each lie is named.

Each forged receipt below is consistent in everything but the one rule it breaks (a minted
validator set also signs its own certificate; a foreign record gets a root and a certificate
that match it), so only that rule can refuse it.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from ledger.application import BlockContext, Execution, ValidatorInfo
from ledger.chain.block import Header, records_root
from ledger.chain.genesis import Genesis, validator_set_hash
from ledger.consensus.clock import ManualClock
from ledger.consensus.consortium import Consortium
from ledger.counter import CounterApp
from ledger.crypto.keys import SigningKey
from ledger.errors import LedgerError
from ledger.verify.receipt import build_receipt, check_receipt, load_receipt
from ledger.wire.record import Record, make_body, record_from_wire, sign_body

from .conftest import GENESIS_MS

Receipt = dict[str, Any]
STRANGERS = [SigningKey.from_seed(bytes([0x50 + i]) * 32) for i in range(4)]

#: ``expires`` of the records built here (as in conftest: half an hour after genesis).
EXPIRES = 1_700_000_000_000 + 1_800_000


def _resign(receipt: Receipt, keys: list[SigningKey], **header: Any) -> None:
    """Give ``receipt`` the header with ``header`` fields changed, certified by ``keys``."""
    new = Header.from_json({**receipt["header"], **header})
    receipt["header"] = new.to_json()
    receipt["certificate"] = {"height": new.height, "header": new.hash.hex(), "signatures": [
        {"validator": k.public_hex, "sig": k.sign(new.hash).hex()} for k in keys]}


@pytest.fixture
def receipt(make_consortium: Callable[..., Consortium], add: Callable[..., Record]) -> Receipt:
    """The receipt of the second of four records committed in one block."""
    consortium = make_consortium()
    records = [add(by=i + 1) for i in range(4)]
    for record in records:
        consortium.submit(record)
    consortium.produce_block()
    made = build_receipt(consortium.live[0].store, records[1].id)
    assert made is not None and (made["index"], made["tree_size"]) == (1, 4)
    return made


@pytest.fixture
def trusted(validator_keys: list[SigningKey]) -> set[str]:
    return {k.public_hex for k in validator_keys}


def test_a_good_receipt_checks_against_the_trusted_set(receipt: Receipt, trusted: set[str]) -> None:
    checked = check_receipt(receipt, trusted)
    assert (checked.height, checked.index, checked.record_type) == (1, 1, "counter.add")
    assert checked.record_id == record_from_wire(receipt["record"]).id
    assert sorted(checked.signers) == sorted(trusted)


def _untrusted_set(receipt: Receipt, keys: list[SigningKey]) -> None:
    strangers = tuple(ValidatorInfo(f"s{i}", k.public_hex) for i, k in enumerate(STRANGERS))
    receipt["validators"] = [{"name": v.name, "key": v.key} for v in strangers]
    _resign(receipt, STRANGERS, validators=validator_set_hash(strangers).hex())


def _proof_missing(receipt: Receipt, keys: list[SigningKey]) -> None:
    receipt["inclusion_proof"] = []


def _proof_altered(receipt: Receipt, keys: list[SigningKey]) -> None:
    first = bytearray.fromhex(receipt["inclusion_proof"][0])
    first[0] ^= 1
    receipt["inclusion_proof"][0] = first.hex()


def _proof_of_another_index(receipt: Receipt, keys: list[SigningKey]) -> None:
    receipt["index"] = 0


def _below_quorum(receipt: Receipt, keys: list[SigningKey]) -> None:
    receipt["certificate"]["signatures"] = receipt["certificate"]["signatures"][:2]


def _vote_by_a_stranger(receipt: Receipt, keys: list[SigningKey]) -> None:
    header = Header.from_json(receipt["header"])
    receipt["certificate"]["signatures"][2:] = [
        {"validator": STRANGERS[0].public_hex, "sig": STRANGERS[0].sign(header.hash).hex()}]


def _record_of_another_chain(receipt: Receipt, keys: list[SigningKey]) -> None:
    """A block holding one foreign record, and a certificate for it (validators' keys)."""
    user = SigningKey.from_seed(b"u" * 32)
    foreign = sign_body(make_body("other-chain", "counter.add", [user.public_hex], 1,
                                  {"name": "a", "by": 1}, expires=EXPIRES), [user])
    receipt.update(record=foreign.to_wire(), index=0, tree_size=1, inclusion_proof=[])
    header = receipt["header"]
    _resign(receipt, keys, records=1, total=1, root=records_root([foreign]).hex())
    assert receipt["header"]["chain"] == header["chain"] == "test-chain"


def _validators_not_the_headers(receipt: Receipt, keys: list[SigningKey]) -> None:
    receipt["validators"] = receipt["validators"][:3]  # 3 of 3 signed: a quorum of the rest


def _tree_size_not_the_headers(receipt: Receipt, keys: list[SigningKey]) -> None:
    receipt["tree_size"] = 5


def _record_signature_forged(receipt: Receipt, keys: list[SigningKey]) -> None:
    record = record_from_wire(receipt["record"])
    receipt["record"]["signatures"] = [STRANGERS[0].sign(record.id_bytes).hex()]


def _certificate_of_another_height(receipt: Receipt, keys: list[SigningKey]) -> None:
    receipt["certificate"]["height"] = 2


LIES: list[tuple[str, Callable[..., None], str, str]] = [
    ("untrusted validator set", _untrusted_set, "receipt_untrusted_validator",
     f"validator {STRANGERS[0].public_hex[:16]}… is not one you trust"),
    ("inclusion proof missing", _proof_missing, "proof_malformed", "proof too short"),
    ("inclusion proof altered", _proof_altered, "root_mismatch", "root mismatch"),
    ("proof of another index", _proof_of_another_index, "root_mismatch", "root mismatch"),
    ("certificate short of quorum", _below_quorum, "certificate_below_quorum", "3 needed"),
    ("a stranger's vote for the quorum", _vote_by_a_stranger, "certificate_below_quorum",
     "2 valid validator signatures of 4"),
    ("record of another chain", _record_of_another_chain, "receipt_chain_mismatch",
     "the record names another chain than the header"),
    ("validator list not the header's", _validators_not_the_headers,
     "receipt_validators_mismatch", "validator set is not the one the header names"),
    ("tree size not the header's", _tree_size_not_the_headers, "receipt_size_mismatch",
     "the block holds 5 records, the header 4"),
    ("record signature forged", _record_signature_forged, "bad_signature", "does not verify"),
    ("certificate of another height", _certificate_of_another_height,
     "certificate_wrong_header", "certificate height differs from the header's"),
]


@pytest.mark.parametrize(("lie", "code", "says"),
                         [pytest.param(f, c, m, id=i) for i, f, c, m in LIES])
def test_a_forged_receipt_is_refused_with_the_rule_it_breaks(
        receipt: Receipt, trusted: set[str], validator_keys: list[SigningKey],
        lie: Callable[..., None], code: str, says: str) -> None:
    """Each refusal has the rule's code and a message saying what is wrong."""
    forged = copy.deepcopy(receipt)
    lie(forged, validator_keys)
    with pytest.raises(LedgerError) as caught:
        check_receipt(forged, trusted)
    assert caught.value.code == code, caught.value
    assert says in str(caught.value), caught.value


def test_without_a_trusted_set_a_minted_validator_set_is_believed(
        receipt: Receipt, trusted: set[str]) -> None:
    """Why the trusted set matters: a receipt whose strangers certify themselves checks."""
    _untrusted_set(receipt, [])
    assert sorted(check_receipt(receipt).signers) == sorted(k.public_hex for k in STRANGERS)
    with pytest.raises(LedgerError) as caught:
        check_receipt(receipt, trusted)
    assert caught.value.code == "receipt_untrusted_validator"



@pytest.mark.parametrize(("edit", "code", "says"), [
    ({"version": 2}, "receipt_version", "unknown receipt version 2"),
    ({"version": None}, "receipt_version", "unknown receipt version None"),
    ({"inclusion_proof": ["zz"]}, "receipt_malformed", "malformed receipt"),
    ({"index": "one"}, "receipt_malformed", "malformed receipt"),
    ({"header": "a header"}, "receipt_malformed", "malformed block header"),
    ({"certificate": {"height": 1}}, "certificate_malformed", "malformed"),
], ids=["version 2", "no version", "proof not hex", "index not a number", "header not an object",
        "certificate without votes"])
def test_a_receipt_of_another_version_or_shape_is_refused_with_its_code(
        receipt: Receipt, trusted: set[str], edit: dict[str, Any], code: str,
        says: str) -> None:
    with pytest.raises(LedgerError) as caught:
        check_receipt({**receipt, **edit}, trusted)
    assert caught.value.code == code
    assert says in str(caught.value)


def test_a_receipt_names_its_chain_genesis_and_validators(
        receipt: Receipt, make_consortium: Callable[..., Consortium],
        validator_keys: list[SigningKey]) -> None:
    genesis = make_consortium(data_dir=None).genesis
    assert (receipt["version"], receipt["chain"], receipt["genesis"]) == (
        1, "test-chain", genesis.hash.hex())
    assert receipt["validators"] == [{"name": f"v{i}", "key": k.public_hex}
                                     for i, k in enumerate(validator_keys)]
    checked = check_receipt(receipt)
    assert (checked.chain, checked.header_hash) == (
        "test-chain", Header.from_json(receipt["header"]).hash.hex())


def test_the_receipts_of_one_block_read_it_once(make_consortium: Callable[..., Consortium],
                                                add: Callable[..., Record],
                                                monkeypatch: pytest.MonkeyPatch,
                                                trusted: set[str]) -> None:
    consortium = make_consortium()
    records = [add(by=i + 1) for i in range(5)]
    for record in records:
        consortium.submit(record)
    consortium.produce_block()
    store = consortium.live[0].store
    reads: list[int] = []
    certified_block = store.certified_block
    monkeypatch.setattr(store, "certified_block",
                        lambda height: reads.append(height) or certified_block(height))
    receipts = [build_receipt(store, r.id) for r in records]
    assert reads == [1]  # one read for five waiters of block 1
    for index, made in enumerate(receipts):
        assert made is not None and made["index"] == index
        assert check_receipt(made, trusted).height == 1


def test_a_receipt_file_is_read_as_json_and_garbage_is_malformed(
        receipt: Receipt, trusted: set[str]) -> None:
    text = json.dumps(receipt)
    assert check_receipt(load_receipt(text), trusted) == check_receipt(receipt, trusted)
    assert load_receipt(text.encode()) == receipt
    with pytest.raises(LedgerError) as caught:
        load_receipt(text[:-1])
    assert caught.value.code == "receipt_malformed"
    assert "receipt is not JSON" in str(caught.value)



class _ShrinkingApp(CounterApp):
    """Counters, plus: a record adding to the counter "shrink" installs ``shrunk``."""

    def __init__(self, shrunk: tuple[ValidatorInfo, ...]) -> None:
        super().__init__()
        self.shrunk = shrunk

    def execute(self, ctx: BlockContext, records: Sequence[Record]) -> Execution:
        execution = super().execute(ctx, records)
        if any(r.payload.get("name") == "shrink" for r in records):
            execution.validators = self.shrunk
        return execution


def test_a_receipt_of_the_first_block_after_a_validator_change_names_the_new_set(
        tmp_path: Path, genesis: Genesis, validator_keys: list[SigningKey],
        add: Callable[..., Record]) -> None:
    three = genesis.validators[:3]
    consortium = Consortium(tmp_path / "shrink", genesis, validator_keys,
                            lambda: _ShrinkingApp(three),
                            ManualClock(GENESIS_MS, 1))
    try:
        for record in (add(name="shrink"), add()):
            consortium.submit(record)
            assert consortium.produce_block() is not None
        made = build_receipt(consortium.live[0].store, record.id)
    finally:
        consortium.close()
    assert made is not None and made["height"] == 2
    assert made["validators"] == [{"name": v.name, "key": v.key} for v in three]
    checked = check_receipt(made, {v.key for v in three})
    assert sorted(checked.signers) == sorted(v.key for v in three)
