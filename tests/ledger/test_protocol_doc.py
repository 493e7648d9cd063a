"""docs/PROTOCOL.md is tested: its worked example is rebuilt here with the ledger code, every
value it quotes must match, and its by-hand receipt checker must accept a real receipt and
refuse tampered ones."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest

from ledger.application import (
    BlockContext,
    ValidatorInfo,
    changes_digest,
    next_state,
    ordered_changes,
)
from ledger.chain import merkle
from ledger.chain.genesis import Genesis, validator_set_hash
from ledger.consensus.clock import ManualClock
from ledger.consensus.consortium import Consortium
from ledger.counter import CounterApp
from ledger.crypto.keys import SigningKey
from ledger.verify.receipt import build_receipt
from ledger.wire.canonical import canonical_bytes
from ledger.wire.record import Record, make_body, sign_body

PROTOCOL = Path(__file__).resolve().parents[2] / "docs" / "PROTOCOL.md"
CHAIN = "example-chain"
T0 = 1_700_000_000_000


@pytest.fixture(scope="module")
def doc() -> str:
    return PROTOCOL.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The chain of section 15: four validators, two blocks, four counter records."""
    validator_keys = [SigningKey.from_seed(bytes([n]) * 32) for n in (1, 2, 3, 4)]
    alice, bob = SigningKey.from_seed(b"\x05" * 32), SigningKey.from_seed(b"\x06" * 32)
    validators = tuple(ValidatorInfo(f"v{n}", k.public_hex)
                       for n, k in zip((1, 2, 3, 4), validator_keys, strict=True))
    genesis = Genesis(CHAIN, T0, validators, app={"counters": {"coffee": 10}})
    clock = ManualClock(T0 + 60_000)
    consortium = Consortium(tmp_path_factory.mktemp("example"), genesis, validator_keys,
                            CounterApp, clock)

    def rec(key: SigningKey, seq: int, name: str, by: int) -> Record:
        return sign_body(make_body(CHAIN, "counter.add", [key.public_hex], seq,
                                   {"name": name, "by": by}, expires=T0 + 600_000), [key])

    records = [rec(alice, 1, "coffee", 5), rec(bob, 1, "tea", 3), rec(alice, 2, "coffee", -2)]
    for record in records:
        consortium.submit(record)
    consortium.produce_block()
    clock.set(T0 + 120_000)
    records.append(rec(bob, 2, "tea", 1))
    consortium.submit(records[-1])
    consortium.produce_block()
    store = consortium.replicas[0].store  # type: ignore[union-attr]
    out = {
        "keys": [k.public_hex for k in (*validator_keys, alice, bob)],
        "genesis": genesis, "records": records, "store": store,
        "blocks": [store.certified_block(1), store.certified_block(2)],
        "receipt": build_receipt(store, records[2].id),
        "validators": validators,
    }
    yield out
    consortium.close()


def test_quoted_keys_and_genesis_values_match(doc: str, example: Any) -> None:
    genesis: Genesis = example["genesis"]
    for key in example["keys"]:
        assert key in doc
    assert genesis.hash.hex() in doc
    assert validator_set_hash(example["validators"]).hex() in doc
    assert example["store"].meta("genesis_state") in doc


def test_quoted_records_match(doc: str, example: Any) -> None:
    first: Record = example["records"][0]
    assert first.body_bytes.decode() in doc
    assert first.wire_bytes().decode() in doc
    assert f"canonical(body)`, {len(first.body_bytes)} bytes" in doc
    dumped = " ".join(f"{b:02x}" for b in b"\x10" + first.body_bytes)
    quoted = re.search(r"```\n(10 7b [0-9a-f \n]+)```", doc)
    assert quoted is not None and " ".join(quoted.group(1).split()) == dumped
    for record in example["records"]:
        assert record.id in doc
        assert record.signatures[0].hex() in doc


def test_quoted_blocks_certificates_and_checkpoints_match(doc: str, example: Any) -> None:
    for block, cert, checkpoint in example["blocks"]:
        header = block.header
        assert header.encoded.decode() in doc
        assert header.hash.hex() in doc
        assert header.root in doc and header.state in doc
        for vote in cert.votes if header.height == 1 else ():
            assert vote.signature.hex() in doc
        assert checkpoint.checkpoint.message().hex() in doc
        assert checkpoint.checkpoint.root_hash.hex() in doc
    block1 = example["blocks"][0][0]
    leaves = [merkle.leaf_hash(r.id_bytes) for r in block1.records]
    for leaf in leaves:
        assert leaf.hex() in doc
    for proof in (merkle.inclusion_proof(leaves, 0), merkle.inclusion_proof(leaves, 2)):
        assert all(p.hex() in doc for p in proof)
    history = [merkle.leaf_hash(b[0].header.hash) for b in example["blocks"]]
    assert merkle.consistency_proof(history, 1)[0].hex() in doc


def test_quoted_changes_and_their_digests_match(doc: str, example: Any) -> None:
    """Section 8 on the example: each block's sorted changes, their canonical bytes and the
    changes digest, folded into the state the headers carry."""
    app = CounterApp()
    executions = [app.init_chain(CHAIN, T0, example["genesis"].app)]
    app.commit()
    for block, _, _ in example["blocks"]:
        header = block.header
        executions.append(app.execute(BlockContext(CHAIN, header.height, header.time_ms),
                                      list(block.records)))
        app.commit()
    state = example["genesis"].hash
    for execution, quoted_state in zip(executions, [example["store"].meta("genesis_state"),
                                                    *(b[0].header.state for b in
                                                      example["blocks"])], strict=True):
        ordered = ordered_changes(execution.changes)
        text = canonical_bytes([[c.table, list(c.key), None if c.row is None else list(c.row)]
                                for c in ordered]).decode()
        assert text in doc
        assert changes_digest(ordered).hex() in doc
        state = next_state(state, ordered)
        assert state.hex() == quoted_state


def _by_hand_checker(doc: str) -> Any:
    section = doc[doc.index("## 16."):doc.index("## 17.")]
    code = re.search(r"```python\n(.*?)```", section, re.S)
    assert code is not None
    namespace: dict[str, Any] = {}
    exec(compile(code.group(1), "PROTOCOL.md section 16", "exec"), namespace)
    return namespace["check"]


def test_by_hand_receipt_check_accepts_the_example_receipt(doc: str, example: Any) -> None:
    check = _by_hand_checker(doc)
    trusted = [v.key for v in example["validators"]]
    check(example["receipt"], trusted)
    for record in example["records"]:
        check(build_receipt(example["store"], record.id), trusted)


def _tamper(receipt: dict[str, Any], where: str) -> dict[str, Any]:
    bad = copy.deepcopy(receipt)
    if where == "payload":
        bad["record"]["body"]["payload"]["by"] = -3
    elif where == "signature":
        bad["record"]["signatures"][0] = "00" * 64
    elif where == "index":
        bad["index"] = 1
    elif where == "proof":
        bad["inclusion_proof"][0] = "11" * 32
    elif where == "header":
        bad["header"]["time"] += 1
    elif where == "validators":
        bad["validators"] = bad["validators"][:2]
    elif where == "votes":
        bad["certificate"]["signatures"] = bad["certificate"]["signatures"][:2]
    return bad


@pytest.mark.parametrize("where", ["payload", "signature", "index", "proof", "header",
                                   "validators", "votes"])
def test_by_hand_receipt_check_refuses_a_tampered_receipt(doc: str, example: Any,
                                                          where: str) -> None:
    check = _by_hand_checker(doc)
    trusted = [v.key for v in example["validators"]]
    with pytest.raises(AssertionError):
        check(_tamper(example["receipt"], where), trusted)


def test_by_hand_receipt_check_refuses_untrusted_validators(doc: str, example: Any) -> None:
    check = _by_hand_checker(doc)
    with pytest.raises(AssertionError):
        check(example["receipt"], [v.key for v in example["validators"][:3]])


def test_section_16_quotes_the_values_section_15_computes(doc: str, example: Any) -> None:
    """The by-hand walk through r3's receipt abbreviates the values of block 1 (issue 20:
    it once quoted a header hash that no block has)."""
    walk = doc[doc.index("## 16."):doc.index("## 17.")]
    header = example["blocks"][0][0].header
    quoted = set(re.findall(r"([0-9a-f]{8})…([0-9a-f]{4})", walk))
    assert (header.hash.hex()[:8], header.hash.hex()[-4:]) in quoted
    assert (header.root[:8], header.root[-4:]) in quoted
    known = {(v[:8], v[-4:]) for v in (header.hash.hex(), header.root,
                                       validator_set_hash(example["validators"]).hex())}
    leaves = [merkle.leaf_hash(r.id_bytes) for r in example["blocks"][0][0].records]
    values = [*leaves, *merkle.inclusion_proof(leaves, 2)]
    known |= {(v.hex()[:8], v.hex()[-4:]) for v in values}
    assert quoted <= known, f"section 16 quotes values no block has: {quoted - known}"
