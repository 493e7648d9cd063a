"""Tests of ledger.wire.record's refusals: each malformed record is refused with its code and
the words that say what is wrong (a client reads them in the problem's ``detail``), by the
wire parser and by the stored-row parser alike; and the edges a parsed object reaches."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest

from ledger.crypto.keys import SigningKey
from ledger.errors import LedgerError, MalformedRecord, NonCanonicalBody
from ledger.limits import json_int_max, record_depth_max, string_chars_max
from ledger.wire.canonical import canonical_bytes
from ledger.wire.record import Record, make_body, parse_stored, record_from_wire, sign_body

#: ``expires`` of the records built here: half an hour after the tests' genesis time.
EXPIRES = 1_700_000_000_000 + 1_800_000
CHAIN = "test-chain"
ALICE = SigningKey.from_seed(bytes([0xA1]) * 32)
A_SIG = "00" * 64


def _record(payload: dict[str, Any] | None = None) -> Record:
    body = make_body(CHAIN, "counter.add", [ALICE.public_hex], 7,
                     payload if payload is not None else {"name": "a", "by": 5}, expires=EXPIRES)
    return sign_body(body, [ALICE])


def _wire() -> dict[str, Any]:
    return copy.deepcopy(_record().to_wire())


_DELETE = object()


def _set(*changes: tuple[str, Any]) -> Callable[[dict[str, Any]], None]:
    """A change to a wire object: each ``(dotted path, value)`` set, or deleted."""
    def apply(wire: dict[str, Any]) -> None:
        for path, value in changes:
            *parents, last = path.split(".")
            target = wire
            for key in parents:
                target = target[key]
            if value is _DELETE:
                del target[last]
            else:
                target[last] = value
    return apply


WHOLE = 'a record is {"body": {...}, "signatures": [...]} and nothing else'
FIELDS = "a body has exactly the fields ['chain', 'expires', 'payload', 'seq', 'signers', 'type']"
CHAIN_WORDS = "chain must be a non-empty string of at most 64 characters"
TYPE_WORDS = "type must be lowercase letters, digits, '_' and '.'"
SIGNERS = "signers must list 1 to 16 public keys"
KEYS = "signers must be distinct 64-hex-digit Ed25519 public keys"
SEQ = "seq must be a positive integer"
EXPIRES_WORDS = "expires must be a positive integer (Unix ms of block time)"
PER_SIGNER = "there must be exactly one signature per signer"
SIGNATURE = "a signature is 128 lowercase hex digits"
LONG = f"a string is over {string_chars_max} characters"
M = "malformed_record"

MALFORMED: list[tuple[str, Callable[[dict[str, Any]], None], str, str]] = [
    ("extra top-level field", _set(("extra", 1)), M, WHOLE),
    ("no signatures field", _set(("signatures", _DELETE)), M, WHOLE),
    ("body not an object", _set(("body", [])), M, FIELDS),
    ("body field missing", _set(("body.seq", _DELETE)), M, FIELDS),
    ("body extra field", _set(("body.memo", "x")), M, FIELDS),
    ("chain empty", _set(("body.chain", "")), M, CHAIN_WORDS),
    ("chain too long", _set(("body.chain", "c" * 65)), M, CHAIN_WORDS),
    ("chain not a string", _set(("body.chain", 1)), M, CHAIN_WORDS),
    ("type uppercase", _set(("body.type", "Counter.Add")), M, TYPE_WORDS),
    ("type starts with digit", _set(("body.type", "1counter")), M, TYPE_WORDS),
    ("type with dash", _set(("body.type", "counter-add")), M, TYPE_WORDS),
    ("type too long", _set(("body.type", "t" * 65)), M, TYPE_WORDS),
    ("signers empty", _set(("body.signers", [])), M, SIGNERS),
    ("signers and signatures empty", _set(("body.signers", []), ("signatures", [])), M, SIGNERS),
    ("signers too many", _set(("body.signers", [f"{i:064x}" for i in range(17)])), M, SIGNERS),
    ("signer uppercase hex", _set(("body.signers", [ALICE.public_hex.upper()])), M, KEYS),
    ("signer too short", _set(("body.signers", [ALICE.public_hex[:-2]])), M, KEYS),
    ("signers duplicated", _set(("body.signers", [ALICE.public_hex] * 2)), M, KEYS),
    ("seq zero", _set(("body.seq", 0)), M, SEQ),
    ("seq negative", _set(("body.seq", -1)), M, SEQ),
    ("seq boolean", _set(("body.seq", True)), M, SEQ),
    ("seq string", _set(("body.seq", "7")), M, SEQ),
    ("seq beyond 2^53-1", _set(("body.seq", json_int_max + 1)), M, SEQ),
    ("expires zero", _set(("body.expires", 0)), M, EXPIRES_WORDS),
    ("expires negative", _set(("body.expires", -1)), M, EXPIRES_WORDS),
    ("expires boolean", _set(("body.expires", True)), M, EXPIRES_WORDS),
    ("expires string", _set(("body.expires", "1700000000000")), M, EXPIRES_WORDS),
    ("expires beyond 2^53-1", _set(("body.expires", json_int_max + 1)), M, EXPIRES_WORDS),
    ("expires missing", _set(("body.expires", _DELETE)), M, FIELDS),
    ("payload a list", _set(("body.payload", [])), M, "payload must be an object"),
    ("payload too deep", _set(("body.payload", {"a": json.loads("[" * 9 + "]" * 9)})),
     "too_deep", f"payload nested deeper than {record_depth_max}"),
    ("payload string too long", _set(("body.payload.name", "x" * (string_chars_max + 1))), M,
     LONG),
    ("payload key too long", _set(("body.payload." + "k" * (string_chars_max + 1), 1)), M, LONG),
    ("payload float", _set(("body.payload.by", 1.5)), "float_not_allowed",
     "floats are not allowed; use integers in the smallest unit"),
    ("payload big int", _set(("body.payload.by", 2**60)), "integer_out_of_range",
     "integer 1152921504606846976 is outside +-(2**53-1)"),
    ("payload lone surrogate", _set(("body.payload.name", "\ud800")), "invalid_unicode",
     "cannot encode canonically: str is not valid UTF-8: surrogates not allowed"),
    ("payload over the record size", _set(("body.payload", {f"s{i}": "x" * 2000
                                                            for i in range(5)})),
     "record_too_large", "record is over the size limit"),
    ("two signatures for one signer", _set(("signatures", [A_SIG, A_SIG])), M, PER_SIGNER),
    ("signatures not a list", _set(("signatures", A_SIG)), M, PER_SIGNER),
    ("signature uppercase", _set(("signatures", ["AB" * 64])), M, SIGNATURE),
    ("signature short", _set(("signatures", ["ab" * 63])), M, SIGNATURE),
    ("signature not a string", _set(("signatures", [1])), M, SIGNATURE),
]


@pytest.mark.parametrize(("mutate", "code", "words"),
                         [pytest.param(m, c, w, id=i) for i, m, c, w in MALFORMED])
def test_malformed_record_is_refused_with_its_code_and_words(
        mutate: Callable[[dict[str, Any]], None], code: str, words: str) -> None:
    wire = _wire()
    mutate(wire)
    with pytest.raises(MalformedRecord) as caught:
        record_from_wire(wire)
    assert (caught.value.code, str(caught.value)) == (code, words)


def test_make_body_refuses_a_payload_the_protocol_refuses() -> None:
    """The builder walks the payload as the parser does: no long string, no deep nesting."""
    with pytest.raises(MalformedRecord, match=f"^{LONG}$"):
        make_body(CHAIN, "counter.add", [ALICE.public_hex], 1,
                  {"note": "x" * (string_chars_max + 1)}, expires=EXPIRES)
    with pytest.raises(MalformedRecord, match=f"^payload nested deeper than {record_depth_max}$"):
        make_body(CHAIN, "counter.add", [ALICE.public_hex], 1,
                  {"a": json.loads("[" * 9 + "1" + "]" * 9)}, expires=EXPIRES)


def test_a_record_object_read_back_may_nest_its_payload_to_the_limit() -> None:
    """An object parsed elsewhere (a record read back from the log) is encoded to the same
    depth the wire text may reach."""
    deepest: Any = 1
    for _ in range(record_depth_max - 1):
        deepest = [deepest]
    record = _record({"a": deepest})
    assert record_from_wire(json.loads(record.wire_bytes())) == record


# --- stored rows ----------------------------------------------------------------------------

SIG = "ab" * 64


def _outcome(body: Any, sigs: Any) -> tuple[type, str, str]:
    with pytest.raises(LedgerError) as caught:
        parse_stored(body, sigs)
    return type(caught.value), caught.value.code, str(caught.value)


def test_a_stored_row_that_holds_no_record_says_what_is_wrong() -> None:
    text = _record().body_bytes.decode()
    assert _outcome(7, SIG) == (
        MalformedRecord, M, "a stored record is its body's text and its signatures' hex")
    assert _outcome(text, "") == (MalformedRecord, M, PER_SIGNER)
    assert _outcome(text.replace('"by":5', '"by":1.5'), SIG) == (
        MalformedRecord, "float_not_allowed",
        "number 1.5 is not an integer; floats are not allowed")
    kind, code, words = _outcome(text[:-1], SIG)
    assert (kind, code) == (MalformedRecord, "malformed_json")
    assert words.startswith("malformed JSON: ")


def test_a_stored_body_not_in_canonical_form_names_the_record_and_its_canonical_text() -> None:
    record = _record()
    spaced = json.dumps(record.body)  # ", " and ": ": the same body, not canonical
    assert spaced.encode() != record.body_bytes
    with pytest.raises(NonCanonicalBody) as caught:
        parse_stored(spaced, SIG)
    assert caught.value.code == "not_canonical"
    assert caught.value.record_id == record.id
    assert caught.value.canonical == record.body_bytes.decode()
    assert canonical_bytes(json.loads(spaced)) == record.body_bytes
