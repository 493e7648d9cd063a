"""The verifier's fast paths give exactly what the ledger's general code gives.

``fast_record`` (orjson parse of a stored record) must accept only records the strict path
accepts, and build the same record; ``changes_digest``'s C path must give the checked
path's digest and refuse what it refuses. Tampered stores are caught either way, so these are
the tests that would notice a fast path that is more lenient than the protocol.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.application import Change, _changes_digest_checked, changes_digest
from ledger.crypto.keys import SigningKey
from ledger.errors import LedgerError
from ledger.verify.blocks import _strict_record
from ledger.verify.failure import VerifyFailed
from ledger.wire.canonical import canonical_bytes
from ledger.wire.fastparse import fast_block, fast_record

KEY = SigningKey.from_seed(b"\x05" * 32)
SIG = "ab" * 64
SAFE = 2**53 - 1
EXPIRES = 1_700_000_000_000  # bodies are spelled by hand here: the fast paths read text


def _strict(body: str, sigs: str) -> Any:
    try:
        return _strict_record(body, sigs, 1, 0, "node")
    except VerifyFailed:
        return None


def _same(body: str, sigs: str = SIG) -> None:
    fast, strict = fast_record(body, sigs), _strict(body, sigs)
    if fast is not None:
        assert strict is not None, f"fast path accepts what the strict path refuses: {body}"
        assert (fast.id, fast.body, fast.signatures) == (strict.id, strict.body,
                                                         strict.signatures)


def _body(payload: Any, seq: int = 1, kind: str = "x.issue") -> str:
    return canonical_bytes({"chain": "c", "type": kind, "signers": [KEY.public_hex],
                            "seq": seq, "expires": EXPIRES, "payload": payload}).decode()


def test_a_plain_canonical_record_takes_the_fast_path() -> None:
    body = _body({"amount": 5, "to": KEY.public_hex, "ref": "order 1.5e3"})
    record = fast_record(body, SIG)
    assert record is not None and record.id == _strict(body, SIG).id


def test_a_record_at_every_bound_still_takes_the_fast_path() -> None:
    """The largest seq, expires and integers, and the longest chain and type, are plain."""
    body = canonical_bytes({"chain": "c" * 64, "type": "t" * 64, "signers": [KEY.public_hex],
                            "seq": SAFE, "expires": SAFE,
                            "payload": {"n": SAFE, "m": -SAFE}}).decode()
    record = fast_record(body, SIG)
    assert record is not None and record.id == _strict(body, SIG).id
    assert fast_block([(0, None, None, None, None, body, SIG)], "c" * 64) is not None


@pytest.mark.parametrize("body", [
    _body({"a": 1}).replace('"a":1', '"a":1.0'),  # a float that re-encodes the same
    _body({"a": 1}).replace('"a":1', '"a":1.5'),
    _body({"a": 1}).replace('"a":1', f'"a":{SAFE + 1}'),  # beyond the safe integers
    _body({"a": 1}).replace('"a":1', f'"a":[{-SAFE - 1}]'),
    _body({"a": 1}).replace('"a":1', '"a":123456789012345678901234'),  # read as a float
    _body({"a": 1}).replace('"a":1', '"a":1,"a":1'),  # duplicate key
    _body({"a": 1}).replace('"a":1', '"a":"\\u0041"'),  # an escape canonical form lacks
    _body({"a": 1}).replace('"a":1', '"a":"\\ud800"'),  # lone surrogate
    _body({"a": 1}).replace('"a":1', '"a":-0'),
    _body({"a": 1}).replace('"a":1', '"b":1,"a":1'),  # keys out of order
    _body({"a": 1}).replace(",", ", ", 1),
    _body({"a": 1}).replace('"seq":1', f'"seq":{SAFE + 1}'),
    _body({"a": 1}).replace('"seq":1', '"seq":true'),
    _body({"a": 1}).replace(f'"expires":{EXPIRES}', '"expires":0'),
    _body({"a": 1}).replace(f'"expires":{EXPIRES}', f'"expires":{SAFE + 1}'),
    _body({"a": 1}).replace(f'"expires":{EXPIRES}', '"expires":"soon"'),
    _body({"a": 1}).replace(f'"expires":{EXPIRES},', ''),  # the field is required
    _body({"a": 1}, kind="X.bad"),
    _body({"a": 1}).replace(KEY.public_hex, KEY.public_hex.upper()),
])
def test_what_the_protocol_refuses_never_takes_the_fast_path(body: str) -> None:
    assert fast_record(body, SIG) is None


def test_malformed_signatures_never_take_the_fast_path() -> None:
    body = _body({"a": 1})
    for sigs in ("AB" * 64, SIG[:-2], SIG + "," + SIG, "", " " + SIG[1:]):
        assert fast_record(body, sigs) is None


_scalars = st.one_of(st.none(), st.booleans(), st.integers(-SAFE - 5, SAFE + 5),
                     st.floats(allow_nan=False, allow_infinity=False),
                     st.text(max_size=8))
_json = st.recursive(_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=4), inner, max_size=3)),
    max_leaves=8)


@settings(max_examples=300, deadline=None)
@given(payload=st.dictionaries(st.text(max_size=6), _json, max_size=4),
       spelling=st.sampled_from(["canonical", "spaced", "escaped", "python"]))
def test_the_fast_path_agrees_with_the_strict_path(payload: dict[str, Any],
                                                   spelling: str) -> None:
    import json

    body = {"chain": "c", "type": "x.y", "signers": [KEY.public_hex], "seq": 3,
            "expires": EXPIRES, "payload": payload}
    try:
        text = canonical_bytes(body).decode()
    except LedgerError:  # floats and big integers have no canonical form: write them anyway
        text = json.dumps(body, sort_keys=True, separators=(",", ":"))
    if spelling == "spaced":
        text = json.dumps(json.loads(text), sort_keys=True)
    elif spelling == "escaped":
        text = json.dumps(json.loads(text), sort_keys=True, separators=(",", ":"))
    elif spelling == "python":
        text = json.dumps(body, separators=(",", ":"))
    _same(text)


_text = st.text(st.characters(blacklist_categories=()), max_size=6)  # lone surrogates too
_values = st.one_of(st.none(), st.integers(-SAFE - 2, SAFE + 2), _text, st.booleans(),
                    st.floats(allow_nan=False))
_changes = st.lists(st.builds(
    Change, st.sampled_from(["x_a", "x_b", "y"]),
    st.tuples(st.integers(0, 3), st.text(max_size=2)),
    st.one_of(st.none(), st.lists(_values, max_size=4).map(tuple),
              st.dictionaries(st.sampled_from(["k", "v", "w"]), _values))),  # a dict: refused
    max_size=12)


@settings(max_examples=300, deadline=None)
@given(changes=_changes)
def test_the_changes_digest_fast_path_is_the_checked_one(changes: list[Change]) -> None:
    """Same bytes, or the same refusal; duplicate (table, key) pairs keep their order."""
    ordered = sorted(changes, key=lambda c: (c.table, c.key))
    try:
        expected: Any = _changes_digest_checked(ordered)
    except LedgerError as exc:
        expected = (type(exc), exc.code)
    try:
        found: Any = changes_digest(changes)
    except LedgerError as exc:
        found = (type(exc), exc.code)
    assert found == expected


# -- a whole block at once -------------------------------------------------------------------

def _row(idx: int, body: str, sigs: str = SIG, columns: bool = True) -> tuple[Any, ...]:
    record = _strict(body, sigs)
    if not columns or record is None:
        return (idx, None, None, None, None, body, sigs)
    return (idx, record.id, record.type, record.signers[0], record.seq, body, sigs)


def _block_same(rows: list[tuple[Any, ...]], chain: str = "c") -> None:
    """fast_block accepts only blocks whose every record the per-record path accepts, and
    builds the same records, packed signatures and ids."""
    fast = fast_block(rows, chain)
    if fast is None:
        return
    slow = [_strict(row[5], row[6]) for row in rows]
    assert all(r is not None for r in slow), f"fast_block accepts what one record refuses: {rows}"
    assert [(r.id, r.body, r.signatures, r.body_bytes) for r in fast.records] == \
        [(r.id, r.body, r.signatures, r.body_bytes) for r in slow]  # type: ignore[union-attr]
    assert fast.ids == [r.id for r in slow]  # type: ignore[union-attr]
    assert fast.packed == b"".join(KEY.public + bytes.fromhex(row[6]) + r.id_bytes
                                   for row, r in zip(rows, slow, strict=True))  # type: ignore


def test_a_plain_block_takes_the_block_path() -> None:
    rows = [_row(i, _body({"amount": i, "ref": "lunch"}, seq=i + 1)) for i in range(5)]
    assert fast_block(rows, "c") is not None
    _block_same(rows)
    assert fast_block([_row(i, row[5], columns=False) for i, row in enumerate(rows)], "c")


def _plain(idx: int, payload: Any, sigs: str = SIG, body: str | None = None) -> tuple[Any, ...]:
    return (idx, None, None, None, None, _body(payload, seq=idx + 1) if body is None else body,
            sigs)


@pytest.mark.parametrize("spoil", [
    lambda rows: [*rows[:1], (9, *rows[1][1:]), *rows[2:]],  # idx out of sequence
    lambda rows: [*rows[:1], (1, "0" * 64, *rows[1][2:]), *rows[2:]],  # id column edited
    lambda rows: [*rows[:1], (*rows[1][:4], 99, *rows[1][5:]), *rows[2:]],  # seq column
    lambda rows: [*rows[:1], (*rows[1][:2], "x.other", *rows[1][3:]), *rows[2:]],  # type
])
def test_index_columns_that_differ_from_the_bodies_leave_the_block_path(spoil: Any) -> None:
    rows = [_row(i, _body({"amount": i}, seq=i + 1)) for i in range(3)]
    assert fast_block(rows, "c") is not None
    assert fast_block(spoil(rows), "c") is None


@pytest.mark.parametrize("row", [
    _plain(1, {"a": 1}, body=_body({"a": 1}, seq=2).replace('"chain":"c"', '"chain":"d"')),
    _plain(1, {"a": [1]}),  # nested: the per-record path judges it
    _plain(1, {"a": {"b": 1}}),
    _plain(1, {"a": 1}, SIG + "," + SIG),
    _plain(1, {"a": 1}, SIG.upper()),
    _plain(1, {"a": 1}, SIG[:-2]),
    _plain(1, {}, body=_body({"a": 1}, seq=2).replace('"a":1', '"a":1.5')),
    _plain(1, {}, body=_body({"a": 1}, seq=2).replace('"a":1', f'"a":{SAFE + 1}')),
    _plain(1, {}, body=_body({"a": 1}, seq=2).replace('"a":1', '"a":1,"a":1')),
    _plain(1, {}, body=_body({"a": 1}, seq=2).replace('"seq":2', '"seq":0')),
    _plain(1, {}, body=_body({"a": 1}, seq=2).replace(f'"expires":{EXPIRES}', '"expires":-1')),
    _plain(1, {}, body=_body({"a": 1}, seq=2).replace(f'"expires":{EXPIRES}', '"expires":true')),
    _plain(1, {}, body=_body({"a": 1}, seq=2).replace(",", ", ", 1)),
    _plain(1, {"a": "é"}),  # not ASCII
    (1, None, None, None, None, 7, SIG),  # a body that is not text
    (1, None, None, None, None, _body({"a": 1}, seq=2)),  # a short row
])
def test_a_block_with_anything_unusual_leaves_the_block_path(row: tuple[Any, ...]) -> None:
    rows = [_plain(0, {"amount": 1}), _plain(2, {"amount": 2})]
    assert fast_block([rows[0], (1, *rows[1][1:])], "c") is not None
    assert fast_block([rows[0], row], "c") is None


def test_an_empty_block_leaves_the_block_path() -> None:
    assert fast_block([], "c") is None


@settings(max_examples=200, deadline=None)
@given(payloads=st.lists(st.dictionaries(st.text(max_size=6), _json, max_size=4), min_size=1,
                         max_size=4),
       spelling=st.sampled_from(["canonical", "python"]))
def test_the_block_path_agrees_with_the_record_path(payloads: list[dict[str, Any]],
                                                    spelling: str) -> None:
    import json

    rows = []
    for i, payload in enumerate(payloads):
        body = {"chain": "c", "type": "x.y", "signers": [KEY.public_hex], "seq": i + 1,
                "expires": EXPIRES, "payload": payload}
        try:
            text = canonical_bytes(body).decode()
        except LedgerError:
            text = json.dumps(body, sort_keys=True, separators=(",", ":"))
        if spelling == "python":
            text = json.dumps(body, separators=(",", ":"))
        rows.append(_row(i, text))
    _block_same(rows)
