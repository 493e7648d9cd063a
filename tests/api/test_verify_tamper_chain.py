"""The tamper suite, on the chain itself (issue 5): a truncated chain, a certificate without
a validator quorum, records reordered inside a block and a record spliced in from another
chain are found in every node file. See docs/VERIFY.md."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from exchange import records as R
from ledger.crypto.keys import SigningKey
from ledger.wire.record import make_body, sign_body
from tests.api.tamper_kit import NODES, failure_of, verify

# -- tampering with the chain itself, in every node file ------------------------------------

def each_store(path: Path, statement: str, params: Any = ()) -> None:
    for file in NODES:
        with sqlite3.connect(path / file) as conn:
            conn.execute(statement, params)


def busiest_block(path: Path) -> int:
    with sqlite3.connect(path / "node-0.sqlite") as conn:
        return int(conn.execute("SELECT height FROM records GROUP BY height "
                                "ORDER BY COUNT(*) DESC, height LIMIT 1").fetchone()[0])


def certificate(path: Path, height: int) -> dict[str, Any]:
    with sqlite3.connect(path / "node-0.sqlite") as conn:
        text = conn.execute("SELECT certificate FROM blocks WHERE height = ?",
                            (height,)).fetchone()[0]
    return json.loads(text)  # type: ignore[no-any-return]


def test_a_truncated_chain_is_found(data: Path, pristine: Path) -> None:
    saved = verify(pristine).checkpoint
    top = verify(data).height
    each_store(data, "DELETE FROM blocks WHERE height = ?", (top,))
    each_store(data, "DELETE FROM records WHERE height = ?", (top,))
    for checkpoint in (None, saved):  # the rows the top block wrote are still there
        failure = failure_of(data, checkpoint=checkpoint)
        assert (failure.what, failure.table, failure.height) == ("row_mismatch", "seqs", None)
    # A whole store rewound, which only a checkpoint refutes: tests/ledger/test_verify.py.


@pytest.mark.parametrize("forge", ["below_quorum", "not_validators"])
def test_a_certificate_without_a_validator_quorum_is_found(data: Path, forge: str) -> None:
    height = busiest_block(data)
    cert = certificate(data, height)
    if forge == "below_quorum":
        cert["signatures"] = cert["signatures"][:1]
    else:
        keys = [SigningKey.from_seed(bytes([200 + i]) * 32) for i in range(4)]
        cert["signatures"] = [{"validator": k.public_hex,
                               "sig": k.sign(bytes.fromhex(cert["header"])).hex()} for k in keys]
    each_store(data, "UPDATE blocks SET certificate = ? WHERE height = ?",
               (json.dumps(cert), height))
    failure = failure_of(data)
    assert (failure.what, failure.height) == ("certificate_below_quorum", height)


def test_records_reordered_inside_a_block_break_the_sequence_rule(data: Path) -> None:
    height = busiest_block(data)
    for a, b in ((0, -1), (1, 0), (-1, 1)):
        each_store(data, "UPDATE records SET idx = ? WHERE height = ? AND idx = ?", (b, height, a))
    failure = failure_of(data)
    assert (failure.what, failure.height) == ("sequence_not_increasing", height), failure


def test_a_record_spliced_in_from_another_chain_is_found(data: Path) -> None:
    key = SigningKey.from_seed(b"s" * 32)
    foreign = sign_body(make_body("another-alliance", R.ISSUE, [key.public_hex], 1, {
        "program": "x", "to": key.public_hex, "amount": 1, "ref": ""},
        expires=1), [key])  # another chain: found before its expiry
    height = busiest_block(data)
    each_store(data, "INSERT INTO records SELECT height, MAX(idx) + 1, ?, ?, ?, 1, ?, ? "
               "FROM records WHERE height = ?", (foreign.id, foreign.type, key.public_hex,
                                                 foreign.body_bytes.decode(),
                                                 foreign.signatures[0].hex(), height))
    failure = failure_of(data)
    assert (failure.what, failure.height, failure.record) == ("other_chain", height, foreign.id)
