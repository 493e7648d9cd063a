"""Tests of ledger.wire.record: ids, signatures, the wire form, shape checks and limits."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.crypto.keys import SigningKey, verify
from ledger.errors import BadSignature, EncodingError, LedgerError, MalformedRecord
from ledger.limits import (
    json_int_max,
    record_bytes_max,
    record_depth_max,
    record_signers_max,
    record_type_chars_max,
    string_chars_max,
)
from ledger.wire.canonical import canonical_bytes, parse_strict
from ledger.wire.record import (
    Record,
    add_signature,
    dumps,
    key_bytes,
    make_body,
    parse_record,
    parse_records,
    record_from_wire,
    sign_body,
    unsigned,
)

#: ``expires`` of the records built here: half an hour after the tests' genesis time.
EXPIRES = 1_700_000_000_000 + 1_800_000

CHAIN = "test-chain"
ALICE, BOB, CAROL = (SigningKey.from_seed(bytes([n]) * 32) for n in (0xA1, 0xB0, 0xC0))


def _record(payload: dict[str, Any] | None = None, seq: int = 7) -> Record:
    body = make_body(CHAIN, "counter.add", [ALICE.public_hex], seq,
                     payload if payload is not None else {"name": "a", "by": 5}, expires=EXPIRES)
    return sign_body(body, [ALICE])


def _multi() -> Record:
    body = make_body(CHAIN, "member.admit", [k.public_hex for k in (ALICE, BOB, CAROL)], 3,
                     {"member": "noodle-shop"}, expires=EXPIRES)
    return sign_body(body, [ALICE, BOB, CAROL])


# --- 1. id, signature, wire form ---------------------------------------------------------


def test_record_id_is_sha256_of_0x10_and_canonical_body() -> None:
    record = _record()
    assert record.body_bytes == canonical_bytes(record.body)
    assert record.id_bytes == hashlib.sha256(b"\x10" + record.body_bytes).digest()
    assert record.id == record.id_bytes.hex()
    assert record.signers == [ALICE.public_hex] and record.seq == 7 and record.chain == CHAIN


def test_each_signer_signs_the_32_id_bytes() -> None:
    record = _record()
    (signature,) = record.signatures
    assert verify(ALICE.public, signature, record.id_bytes)
    assert not verify(ALICE.public, signature, record.body_bytes)
    parsed = parse_record(record.wire_bytes())
    assert not parsed.verified
    parsed.verify_signatures()
    assert parsed.verified  # checked once: a pool or a second call need not check again


def test_sign_and_parse_round_trip() -> None:
    record = _record({"name": "积分", "by": -3, "memo": ["\U0001f600", None, True]})
    wire = record.wire_bytes()
    assert wire == canonical_bytes(record.to_wire())
    parsed = parse_record(wire)
    parsed.verify_signatures()
    assert parsed == record and hash(parsed) == hash(record)
    assert parsed.id == record.id and parsed.body == record.body
    assert parsed.signatures == record.signatures and parsed.body_bytes == record.body_bytes
    assert parse_record(wire.decode()) == record
    assert record_from_wire(json.loads(wire)) == record


def test_non_canonical_wire_spelling_gives_the_same_record() -> None:
    """Whitespace and key order on the wire do not matter: the id is over the canonical body."""
    record = _record()
    loose = json.dumps({"signatures": [s.hex() for s in record.signatures],
                        "body": dict(reversed(list(record.body.items())))}, indent=2)
    parsed = parse_record(loose)
    assert parsed.id == record.id
    parsed.verify_signatures()


def test_escaped_non_bmp_keys_on_the_wire_give_the_same_id() -> None:
    """json.dumps escapes non-ASCII by default: U+1F600 arrives as a surrogate-pair escape and
    must still sort before U+FB01 (UTF-16 order), or the id changes and the signature fails."""
    record = _record({"\ufb01": 1, "\U0001f600": 2, "name": "\u00e9"})
    for ensure_ascii in (True, False):
        wire = json.dumps(record.to_wire(), ensure_ascii=ensure_ascii)
        for data in (wire, wire.encode()):
            parsed = parse_record(data)
            assert parsed.body_bytes == record.body_bytes
            parsed.verify_signatures()


_payloads = st.dictionaries(
    st.text(max_size=5) | st.text("a\u00e9\uffff\ufb01\U0001f600", max_size=3),
    st.none() | st.booleans() | st.integers(-json_int_max, json_int_max) | st.text(max_size=8),
    max_size=5,
)


@settings(max_examples=150, deadline=None)
@given(payload=_payloads, ensure_ascii=st.booleans(), indent=st.sampled_from([None, 1]))
def test_any_json_spelling_of_a_record_gives_the_same_id_property(
        payload: dict[str, Any], ensure_ascii: bool, indent: int | None) -> None:
    record = _record(payload)
    wire = json.dumps(record.to_wire(), ensure_ascii=ensure_ascii, indent=indent)
    parsed = parse_record(wire.encode())
    assert parsed.id == record.id
    parsed.verify_signatures()


def _mutations(wire: bytes, xor: int) -> list[tuple[int, bytes]]:
    return [(i, wire[:i] + bytes([wire[i] ^ xor]) + wire[i + 1:]) for i in range(len(wire))]


def _assert_caught(original: Record, mutated: bytes) -> None:
    """A mutated wire form must fail to parse, or parse into a record that fails to verify."""
    try:
        record = parse_record(mutated)
    except (EncodingError, MalformedRecord):
        return
    assert (record.id, record.signatures) != (original.id, original.signatures)
    with pytest.raises(BadSignature):
        record.verify_signatures()


@pytest.mark.parametrize("xor", [0x01, 0x02, 0x20, 0x80])
@pytest.mark.parametrize("make", [_record, _multi], ids=["one-signer", "three-signers"])
def test_every_flipped_byte_is_caught(make: Callable[[], Record], xor: int) -> None:
    record = make()
    wire = record.wire_bytes()
    for _, mutated in _mutations(wire, xor):
        _assert_caught(record, mutated)


@settings(max_examples=300, deadline=None)
@given(position=st.integers(0, 10_000), xor=st.integers(1, 255))
def test_any_flipped_byte_is_caught_property(position: int, xor: int) -> None:
    record = _multi()
    wire = record.wire_bytes()
    i = position % len(wire)
    _assert_caught(record, wire[:i] + bytes([wire[i] ^ xor]) + wire[i + 1:])


def test_signature_from_another_key_is_refused() -> None:
    record = _record()
    forged = Record(record.body, [BOB.sign(record.id_bytes)], record.body_bytes)
    with pytest.raises(BadSignature) as caught:
        forged.verify_signatures()
    assert caught.value.code == "bad_signature"


# --- 2. shape checks -----------------------------------------------------------------------


# The refusals of a malformed body, code and words, are in test_record_edges.py.


def test_wire_that_is_not_an_object_is_malformed() -> None:
    for value in ([], "x", 1, None):
        with pytest.raises(MalformedRecord):
            record_from_wire(value)


def test_payload_at_the_depth_limit_is_accepted() -> None:
    deepest: Any = 1
    for _ in range(record_depth_max - 1):
        deepest = [deepest]
    record = _record({"a": deepest})
    assert parse_record(record.wire_bytes()) == record
    assert unsigned(record.body).id == record.id  # the co-signing draft takes it too


def test_each_field_may_reach_its_bound() -> None:
    """A 64-character chain and type, and seq and expires of 2^53-1, are a valid record."""
    body = make_body("c" * record_type_chars_max, "t" * record_type_chars_max,
                     [ALICE.public_hex], json_int_max, {"name": "x" * string_chars_max},
                     expires=json_int_max)
    record = sign_body(body, [ALICE])
    assert record_from_wire(record.to_wire()) == record
    assert parse_record(record.wire_bytes()) == record


def test_make_body_checks_the_shape() -> None:
    with pytest.raises(MalformedRecord):
        make_body(CHAIN, "Bad Type", [ALICE.public_hex], 1, {}, expires=EXPIRES)
    with pytest.raises(MalformedRecord):
        make_body(CHAIN, "counter.add", [ALICE.public_hex] * (record_signers_max + 1), 1, {},
                  expires=EXPIRES)


@pytest.mark.parametrize(("raw", "code"), [
    (b'{"body":{"chain":"c","type":"t","signers":[],"seq":1.0,"payload":{}},"signatures":[]}',
     "float_not_allowed"),
    (b'{"body":{"chain":"c","chain":"c","type":"t","signers":[],"seq":1,"payload":{}},'
     b'"signatures":[]}', "duplicate_key"),
    (b'{"body":{},"signatures":[],"body":{}}', "duplicate_key"),
    (b'{"body":{"payload":{"n":-0}}}', "negative_zero"),
    (b'{"body":"\xff"}', "invalid_utf8"),
    (b'{"body":', "malformed_json"),
])
def test_non_canonical_json_is_refused_by_parse_record(raw: bytes, code: str) -> None:
    with pytest.raises(EncodingError) as caught:
        parse_record(raw)
    assert caught.value.code == code


# --- 3. size limit ---------------------------------------------------------------------------


SIXTEEN = [SigningKey.from_seed(bytes([0x20 + n]) * 32) for n in range(record_signers_max)]


def _padded(wire_bytes: int, keys: list[SigningKey]) -> Record:
    """A record signed by ``keys`` whose wire form is exactly ``wire_bytes`` long."""
    fill = string_chars_max
    signers = [k.public_hex for k in keys]

    def make(payload: dict[str, str]) -> Record:
        return sign_body(make_body(CHAIN, "counter.add", signers, 7, payload,
                                   expires=EXPIRES), keys)

    payload = {"pad": ""}
    while (short := wire_bytes - len(make(payload).wire_bytes())) > fill:
        payload[f"f{len(payload)}"] = "x" * min(fill, short - 16)
    assert short >= 0
    record = make({**payload, "pad": "x" * short})
    assert len(record.wire_bytes()) == wire_bytes
    return record


@pytest.mark.parametrize("keys", [[ALICE], SIXTEEN], ids=["one-signer", "sixteen-signers"])
def test_record_of_exactly_the_size_limit_is_accepted(keys: list[SigningKey]) -> None:
    record = _padded(record_bytes_max, keys)
    assert len(record.wire_bytes()) == record_bytes_max
    assert parse_record(record.wire_bytes()) == record
    assert record_from_wire(record.to_wire()) == record


@pytest.mark.parametrize("keys", [[ALICE], SIXTEEN], ids=["one-signer", "sixteen-signers"])
def test_oversize_record_is_refused(keys: list[SigningKey]) -> None:
    """One byte over the limit is refused from bytes and from a parsed object alike."""
    record = _padded(record_bytes_max + 1, keys)
    with pytest.raises(MalformedRecord) as caught:
        parse_record(record.wire_bytes())
    assert caught.value.code == "record_too_large"
    with pytest.raises(MalformedRecord) as again:
        record_from_wire(record.to_wire())
    assert again.value.code == "record_too_large"


def test_oversize_input_is_refused_before_parsing() -> None:
    with pytest.raises(MalformedRecord) as caught:
        parse_record(b"[" * (record_bytes_max + 1))
    assert caught.value.code == "record_too_large"
    assert str(caught.value) == (f"record is {record_bytes_max + 1} bytes, over the limit of "
                                 f"{record_bytes_max}")


def test_records_are_equal_when_their_ids_and_signatures_are() -> None:
    record = _record()
    again = parse_record(record.wire_bytes())
    assert record == again and hash(record) == hash(again) and len({record, again}) == 1
    assert record != _record(seq=8)  # another body
    assert record != add_signature(record, {ALICE.public_hex: b"\x00" * 64})  # same id
    other = add_signature(unsigned(_record(seq=8).body), {ALICE.public_hex: record.signatures[0]})
    assert other.signatures == record.signatures and record != other  # same signatures
    assert record != record.id
    assert repr(record) == f"Record(id={record.id[:16]}…, type='counter.add', seq=7)"


def test_a_batch_gives_each_item_its_record_or_its_error() -> None:
    first, second = _record(), _record(seq=8)
    text = f'[{first.wire_bytes().decode()}, {{"body": {{}}}}, {second.wire_bytes().decode()}]'
    parsed = parse_records(parse_strict(text), text)
    assert parsed[0] == first and parsed[2] == second
    assert isinstance(parsed[1], MalformedRecord) and len(parsed) == 3


def test_key_bytes_are_the_signer_key_decoded() -> None:
    assert key_bytes(ALICE.public_hex) == ALICE.public
    never_parsed = "e7" * 32
    assert key_bytes(never_parsed) == bytes.fromhex(never_parsed)


def test_dumps_is_compact_json_that_keeps_its_characters() -> None:
    assert dumps({"b": "积分", "a": [1, None]}) == '{"b":"积分","a":[1,null]}'


# --- 4. several signers ----------------------------------------------------------------------


def test_multi_signer_record_verifies_and_round_trips() -> None:
    record = _multi()
    record.verify_signatures()
    assert len(record.signatures) == 3
    for key, signature in zip((ALICE, BOB, CAROL), record.signatures, strict=True):
        assert verify(key.public, signature, record.id_bytes)
    assert parse_record(record.wire_bytes()) == record
    assert record.seq == 3  # the first signer's sequence number


def test_signer_order_matters() -> None:
    record = _multi()
    with pytest.raises(MalformedRecord, match=r"^keys do not match the body's signers, in order$"):
        sign_body(record.body, [BOB, ALICE, CAROL])  # keys not in the body's order
    swapped = record.to_wire()
    swapped["signatures"][0], swapped["signatures"][1] = (swapped["signatures"][1],
                                                          swapped["signatures"][0])
    with pytest.raises(BadSignature):
        record_from_wire(swapped).verify_signatures()
    reordered = make_body(CHAIN, "member.admit", [k.public_hex for k in (BOB, ALICE, CAROL)], 3,
                          {"member": "noodle-shop"}, expires=EXPIRES)
    assert sign_body(reordered, [BOB, ALICE, CAROL]).id != record.id


def test_co_signatures_collected_one_at_a_time() -> None:
    record = _multi()
    draft = unsigned(record.body)
    assert (draft.id, draft.signatures) == (record.id, (b"", b"", b""))  # none given yet
    with pytest.raises(BadSignature):
        draft.verify_signatures()
    for key in (CAROL, ALICE, BOB):
        draft = add_signature(draft, {key.public_hex: key.sign(draft.id_bytes)})
    draft.verify_signatures()
    assert draft == record


def test_missing_co_signature_is_refused() -> None:
    record = _multi()
    partial = add_signature(unsigned(record.body), {ALICE.public_hex: record.signatures[0],
                                                    BOB.public_hex: record.signatures[1]})
    with pytest.raises(BadSignature) as caught:
        partial.verify_signatures()
    assert str(caught.value) == f"signature 2 (signer {CAROL.public_hex[:16]}…) does not verify"
    with pytest.raises(MalformedRecord):  # an empty signature cannot even be sent
        record_from_wire(partial.to_wire())


def test_rejections_are_ledger_errors_with_a_repr() -> None:
    with pytest.raises(LedgerError) as caught:
        record_from_wire({})
    assert "MalformedRecord(code='malformed_record'" in repr(caught.value)
