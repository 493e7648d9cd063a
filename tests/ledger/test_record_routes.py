"""The record parser's two routes for stored rows give the same records and the same errors.

:func:`~ledger.wire.record.parse_stored` tries a private fast route (orjson, for plainly
canonical bodies) before the strict one; :func:`~ledger.wire.record.parse_stored_block`
takes a whole block on the fast route or hands it back. The fast route must accept only
what the strict route accepts and build the same record; these are the tests that would
notice a fast route more lenient than the protocol. Bodies are spelled by hand here, with
the ``expires`` the builders set, because the routes read stored text, floats and all.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.crypto.keys import SigningKey
from ledger.errors import BadSignature, LedgerError
from ledger.limits import record_signers_max, string_chars_max
from ledger.wire import record as record_module
from ledger.wire.canonical import canonical_bytes
from ledger.wire.hashing import Domain, digest
from ledger.wire.record import Record, make_body, parse_stored, parse_stored_block, sign_body

KEY = SigningKey.from_seed(b"\x05" * 32)
OTHER = SigningKey.from_seed(b"\x06" * 32)
SIG = "ab" * 64
SAFE = 2**53 - 1
EXPIRES = 1_700_000_000_000


def _outcome(body: Any, sigs: Any, fast: bool) -> Any:
    """What a route makes of a row: the record's parts, or the error's type, code and words."""
    try:
        r = parse_stored(body, sigs, fast=fast)
    except LedgerError as exc:
        return (type(exc), exc.code, str(exc))
    return (r.id, r.body, r.signatures, r.body_bytes)


def _same(body: Any, sigs: Any = SIG) -> None:
    assert _outcome(body, sigs, fast=True) == _outcome(body, sigs, fast=False), body


def _strict(body: str, sigs: str = SIG) -> Record | None:
    try:
        return parse_stored(body, sigs, fast=False)
    except LedgerError:
        return None


def _body(payload: Any, seq: int = 1, kind: str = "x.issue") -> str:
    return canonical_bytes(make_body("c", kind, [KEY.public_hex], seq, payload,
                                     expires=EXPIRES)).decode()


@pytest.fixture
def strict_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """The strict route cannot run: whatever still parses took the fast route."""
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the strict route was taken")
    monkeypatch.setattr(record_module, "parse_strict", refuse)


def test_a_plain_canonical_record_takes_the_fast_route(strict_refused: None) -> None:
    body = _body({"amount": 5, "to": KEY.public_hex, "ref": "order 1.5e3", "paid": True,
                  "note": None})
    record = parse_stored(body, SIG)
    assert record.body_bytes == body.encode()
    assert record.id == digest(Domain.RECORD, body.encode()).hex()
    assert record.body == json.loads(body) and record.signatures == (bytes.fromhex(SIG),)
    nested = _body({"items": [1, {"b": "c"}]})  # shallow nesting is plain too
    assert parse_stored(nested, SIG).body_bytes == nested.encode()
    brackets = _body({"a": json.loads("[" * 5 + "1" + "]" * 5)})  # 8 with the body and signers
    assert parse_stored(brackets, SIG).body_bytes == brackets.encode()
    keys = [SigningKey.from_seed(bytes([i + 1]) * 32).public_hex
            for i in range(record_signers_max)]  # the most signers a record may have
    many = canonical_bytes(make_body("c", "x.issue", keys, 1, {}, expires=EXPIRES)).decode()
    assert parse_stored(many, ",".join([SIG] * len(keys))).signers == keys


def test_a_record_at_every_bound_still_takes_the_fast_route(strict_refused: None) -> None:
    """The largest seq, expires and integers, and the longest chain and type, are plain."""
    body = canonical_bytes({"chain": "c" * 64, "type": "t" * 64, "signers": [KEY.public_hex],
                            "seq": SAFE, "expires": SAFE,
                            "payload": {"n": SAFE, "m": -SAFE}}).decode()
    record = parse_stored(body, SIG)
    assert record.seq == SAFE and record.body["expires"] == SAFE
    assert parse_stored_block([(0, None, None, None, None, body, SIG)], "c" * 64) is not None
    smallest = canonical_bytes(make_body("c", "t", [KEY.public_hex], 1, {}, expires=1)).decode()
    assert parse_stored(smallest, SIG).expires == 1
    assert parse_stored_block([(0, None, None, None, None, smallest, SIG)], "c") is not None
    padded = _body({"p": "x" * (string_chars_max - len(_body({"p": ""})))})
    assert len(padded) == string_chars_max  # the longest body either fast route takes
    assert parse_stored(padded, SIG).body_bytes == padded.encode()
    assert parse_stored_block([(0, None, None, None, None, padded, SIG)], "c") is not None


@settings(max_examples=10, deadline=None)
@given(seeds=st.lists(st.binary(min_size=32, max_size=32), min_size=2, max_size=2, unique=True),
       kinds=st.tuples(st.from_regex(r"[a-z][a-z0-9_.]{0,63}", fullmatch=True),
                       st.from_regex(r"[a-z][a-z0-9_.]{63}", fullmatch=True)))
def test_a_signer_and_a_type_seen_for_the_first_time_take_the_fast_routes(
        seeds: list[bytes], kinds: tuple[str, str]) -> None:
    """The fast routes remember the keys and types they have checked; new ones are checked,
    not sent to the strict route, up to the longest type (64 characters)."""
    block_key, one_key = map(SigningKey.from_seed, seeds)
    in_block = canonical_bytes(make_body("c", kinds[0], [block_key.public_hex], 1, {"a": 1},
                                         expires=EXPIRES)).decode()
    alone = canonical_bytes(make_body("c", kinds[1], [one_key.public_hex], 1, {"a": 1},
                                      expires=EXPIRES)).decode()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(record_module, "parse_strict", _refuse_strict)
        block = parse_stored_block([(0, None, None, None, None, in_block, SIG)], "c")
        assert block is not None and block.packed[:32] == block_key.public
        assert parse_stored(alone, SIG).type == kinds[1]


def _refuse_strict(*args: Any, **kwargs: Any) -> Any:
    raise AssertionError("the strict route was taken")


def test_a_signer_named_twice_is_refused_by_both_routes() -> None:
    twice = f'["{KEY.public_hex}","{KEY.public_hex}"]'
    body = _body({"a": 1}).replace(f'["{KEY.public_hex}"]', twice)
    _same(body, f"{SIG},{SIG}")
    with pytest.raises(LedgerError, match="distinct"):
        parse_stored(body, f"{SIG},{SIG}")


def test_a_nested_or_odd_record_takes_the_strict_route(strict_refused: None) -> None:
    with pytest.raises(AssertionError, match="strict route"):
        parse_stored(_body({"a": 1}).replace('"a":1', '"a":1.5'), SIG)


def test_the_stored_routes_are_one_record_of_the_signed_one() -> None:
    record = sign_body(make_body("c", "x.issue", [KEY.public_hex, OTHER.public_hex], 4,
                                 {"amount": 3, "tags": ["a", {"b": None}]}, expires=EXPIRES),
                       [KEY, OTHER])
    sigs = ",".join(s.hex() for s in record.signatures)
    for fast in (True, False):
        assert parse_stored(record.body_bytes.decode(), sigs, fast=fast) == record


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
    _body({"a": 1}).replace('"x.issue"', '"X.bad"'),
    _body({"a": 1}).replace('"x.issue"', '7'),  # a type that is not text
    _body({"a": 1}).replace('"a":1', '"a":' + "[" * 8 + "1" + "]" * 8),  # short, too deep
    _body({"a": 1}).replace('"a":1', '"a":"' + "x" * 2049 + '"'),  # a string too long
    _body({"a": "x", "b": 1}).replace('"b":1', '"b":1.5'),  # a float after a string
    _body({"a": 1}).replace('"a":1', '"a":' + '{"a":' * 8 + "1" + "}" * 8),  # objects too
    _body({"a": 1}).replace(f'["{KEY.public_hex}"]', f'{{"{KEY.public_hex}":1}}'),
    _body({"a": 1}).replace('"chain":"c"', '"chain":""'),
    _body({"a": 1}).replace('"seq":1', '"seq":0'),
    _body({"a": 1}).replace(KEY.public_hex, KEY.public_hex.upper()),
])
def test_what_the_protocol_refuses_is_refused_by_both_routes(body: str) -> None:
    _same(body)
    with pytest.raises(LedgerError):
        parse_stored(body, SIG)


@pytest.mark.parametrize(("body", "sigs"), [
    (_body({"a": 1}), s) for s in ("AB" * 64, SIG[:-2], SIG + "," + SIG, "", " " + SIG[1:])
] + [(7, SIG), (_body({"a": 1}), None), (_body({"a": 1}).encode(), SIG)])
def test_malformed_signatures_and_columns_are_refused_by_both_routes(body: Any,
                                                                     sigs: Any) -> None:
    _same(body, sigs)
    with pytest.raises(LedgerError):
        parse_stored(body, sigs)


_scalars = st.one_of(st.none(), st.booleans(), st.integers(-SAFE - 5, SAFE + 5),
                     st.floats(allow_nan=False, allow_infinity=False),
                     st.text(max_size=8))
_json = st.recursive(_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=4), inner, max_size=3)),
    max_leaves=8)


def _spelled(payload: dict[str, Any], spelling: str, seq: int = 3) -> str:
    body = {"chain": "c", "type": "x.y", "signers": [KEY.public_hex], "seq": seq,
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
    return text


@settings(max_examples=300, deadline=None)
@given(payload=st.dictionaries(st.text(max_size=6), _json, max_size=4),
       spelling=st.sampled_from(["canonical", "spaced", "escaped", "python"]))
def test_the_routes_agree_on_random_records(payload: dict[str, Any], spelling: str) -> None:
    _same(_spelled(payload, spelling))


@settings(max_examples=500, deadline=None)
@given(payload=st.dictionaries(st.text(max_size=6), _json, max_size=3),
       edits=st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 2),
                                st.sampled_from(list('{}[]",:0123456789-.eE \\uabtrn'))),
                      min_size=1, max_size=3),
       sig_edit=st.integers(-1, 127))
def test_the_routes_agree_on_mutated_records(payload: dict[str, Any],
                                             edits: list[tuple[int, int, str]],
                                             sig_edit: int) -> None:
    """A record's stored text with characters replaced, inserted or deleted, and perhaps a
    signature digit changed: both routes give the same record, or the same error."""
    text = _spelled(payload, "canonical")
    for position, action, char in edits:
        at = position % (len(text) + 1)
        if action == 0:
            text = text[:at] + char + text[at + 1:]
        elif action == 1:
            text = text[:at] + char + text[at:]
        else:
            text = text[:at] + text[at + 1:]
    sigs = SIG if sig_edit < 0 else SIG[:sig_edit] + "G" + SIG[sig_edit + 1:]
    _same(text, sigs)


# -- a whole block at once -------------------------------------------------------------------

def _row(idx: int, body: str, sigs: str = SIG, columns: bool = True) -> tuple[Any, ...]:
    record = _strict(body, sigs)
    if not columns or record is None:
        return (idx, None, None, None, None, body, sigs)
    return (idx, record.id, record.type, record.signers[0], record.seq, body, sigs)


def _block_same(rows: list[tuple[Any, ...]], chain: str = "c") -> None:
    """The block route takes only blocks whose every row the strict route takes, and
    builds the same records, packed signatures and ids."""
    block = parse_stored_block(rows, chain)
    if block is None:
        return
    slow = [_strict(row[5], row[6]) for row in rows]
    found = [r for r in slow if r is not None]
    assert len(found) == len(rows), f"the block route takes what one record refuses: {rows}"
    assert [(r.id, r.body, r.signatures, r.body_bytes) for r in block.records] == \
        [(r.id, r.body, r.signatures, r.body_bytes) for r in found]
    assert block.ids == [r.id for r in found]
    assert block.packed == b"".join(KEY.public + bytes.fromhex(row[6]) + r.id_bytes
                                    for row, r in zip(rows, found, strict=True))


def test_a_plain_block_takes_the_block_route() -> None:
    rows = [_row(i, _body({"amount": i, "ref": "lunch"}, seq=i + 1)) for i in range(5)]
    block = parse_stored_block(rows, "c")
    assert block is not None
    _block_same(rows)
    with pytest.raises(BadSignature):  # parsed, not yet verified: SIG signs nothing
        block.records[0].verify_signatures()
    assert parse_stored_block([_row(i, row[5], columns=False) for i, row in enumerate(rows)],
                              "c")


def test_a_record_hashed_by_its_caller_is_the_record_of_its_body() -> None:
    text = _body({"a": 1})
    body_bytes, signature = text.encode(), bytes.fromhex(SIG)
    hashed = Record.hashed(json.loads(text), (signature,), body_bytes,
                           digest(Domain.RECORD, body_bytes))  # its hex left to compute
    record = Record(json.loads(text), [signature], body_bytes)
    assert hashed == record and hashed.id == record.id and not hashed.verified


def _plain(idx: int, payload: Any, sigs: str = SIG, body: str | None = None) -> tuple[Any, ...]:
    return (idx, None, None, None, None, _body(payload, seq=idx + 1) if body is None else body,
            sigs)


@pytest.mark.parametrize("spoil", [
    lambda rows: [*rows[:1], (9, *rows[1][1:]), *rows[2:]],  # idx out of sequence
    lambda rows: [*rows[:1], (1, "0" * 64, *rows[1][2:]), *rows[2:]],  # id column edited
    lambda rows: [*rows[:1], (*rows[1][:4], 99, *rows[1][5:]), *rows[2:]],  # seq column
    lambda rows: [*rows[:1], (*rows[1][:2], "x.other", *rows[1][3:]), *rows[2:]],  # type
])
def test_index_columns_that_differ_from_the_bodies_leave_the_block_route(spoil: Any) -> None:
    rows = [_row(i, _body({"amount": i}, seq=i + 1)) for i in range(3)]
    assert parse_stored_block(rows, "c") is not None
    assert parse_stored_block(spoil(rows), "c") is None


@pytest.mark.parametrize("row", [
    _plain(1, {"a": 1}, body=_body({"a": 1}, seq=2).replace('"chain":"c"', '"chain":"d"')),
    _plain(1, {"a": [1]}),  # nested: the per-record route judges it
    _plain(1, {"a": {"b": 1}}),
    _plain(1, {"a": 1}, SIG + "," + SIG),
    _plain(1, {"a": 1}, SIG.upper()),
    _plain(1, {"a": 1}, SIG[:-2]),
    _plain(1, {}, body=_body({"a": 1}, seq=2).replace('"a":1', '"a":1.5')),
    _plain(1, {}, body=_body({"a": 1}, seq=2).replace('"a":1', f'"a":{SAFE + 1}')),
    _plain(1, {}, body=_body({"a": 1}, seq=2).replace('"a":1', '"a":1,"a":1')),
    _plain(1, {}, body=_body({"a": 1}, seq=2).replace('"seq":2', '"seq":0')),
    _plain(1, {}, body=_body({"a": 1}, seq=2).replace(f'"expires":{EXPIRES}', '"expires":-1')),
    _plain(1, {}, body=_body({"a": 1}, seq=2).replace(f'"expires":{EXPIRES}', '"expires":0')),
    _plain(1, {}, body=_body({"a": 1}, seq=2).replace(f'"expires":{EXPIRES}', '"expires":true')),
    _plain(1, {}, body=_body({"a": 1}, seq=2).replace(",", ", ", 1)),
    _plain(1, {"a": "é"}),  # not ASCII
    _plain(1, {}, body=_body({"a": 1}, seq=2).replace('"x.issue"', '"X.issue"')),  # type
    (1, None, None, None, None, 7, SIG),  # a body that is not text
    (1, None, None, None, None, _body({"a": 1}, seq=2)),  # a short row
    (*_plain(1, {"a": 1}), "extra"),  # a long row
    _plain(1, {}, body=_body({"a": "x"}, seq=2).replace(  # a string over the limit
        '"x"', '"' + "x" * (string_chars_max + 1) + '"')),
])
def test_a_block_with_anything_unusual_leaves_the_block_route(row: tuple[Any, ...]) -> None:
    rows = [_plain(0, {"amount": 1}), _plain(2, {"amount": 2})]
    assert parse_stored_block([rows[0], (1, *rows[1][1:])], "c") is not None
    assert parse_stored_block([rows[0], row], "c") is None


def test_an_empty_block_leaves_the_block_route() -> None:
    assert parse_stored_block([], "c") is None


@settings(max_examples=200, deadline=None)
@given(payloads=st.lists(st.dictionaries(st.text(max_size=6), _json, max_size=4), min_size=1,
                         max_size=4),
       spelling=st.sampled_from(["canonical", "python"]))
def test_the_block_route_agrees_with_the_strict_route(payloads: list[dict[str, Any]],
                                                      spelling: str) -> None:
    _block_same([_row(i, _spelled(p, spelling, seq=i + 1)) for i, p in enumerate(payloads)])
