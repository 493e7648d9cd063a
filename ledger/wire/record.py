"""Signed records: a canonical JSON body plus one Ed25519 signature per named signer.

Body (every field required, nothing else allowed)::

    {"chain": str, "type": str, "signers": [public key hex, ...], "seq": int,
     "expires": int, "payload": {...}}

The record id is ``SHA-256(0x10 || canonical(body))``; each signer signs the 32 id bytes.
The wire form is ``{"body": {...}, "signatures": [hex, ...]}`` with signatures in the order
of ``signers``. ``seq`` is the first signer's sequence number: it must exceed the last one
committed for that key, so a record cannot be replayed; ``chain`` stops replays elsewhere.
``expires`` (Unix ms of block time) is the last block time at which the record may commit,
at most the genesis ``record_ttl_ms_max`` ahead (see :mod:`ledger.chain.record_expiry`).

This module is the one record parser. Its public surface: :func:`parse_record` (wire bytes),
:func:`parse_records` (a batch's items), :func:`record_from_wire` (an object already parsed),
and, for stored rows, :func:`parse_stored` and :func:`parse_stored_block`. Stored rows take a
fast route first (orjson, for plainly canonical bodies), private to this parser in
``ledger.wire._fast``; anything it does not take goes the strict route, which says what is
wrong. The routes give the same records (tests/ledger/test_record_routes.py).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from ledger.crypto.keys import SIGNATURE_BYTES, SigningKey, is_public_key_hex, verify
from ledger.errors import (
    BadSignature,
    EncodingError,
    LedgerError,
    MalformedRecord,
    NonCanonicalBody,
)
from ledger.limits import (
    json_int_max,
    record_bytes_max,
    record_depth_max,
    record_signers_max,
    record_type_chars_max,
    string_chars_max,
)
from ledger.wire import _fast
from ledger.wire.canonical import (
    canonical_bytes,
    canonical_bytes_parsed,
    canonical_bytes_plain,
    parse_strict,
    plain_text,
)
from ledger.wire.hashing import Domain, digest
from ledger.wire.shape import BODY_FIELDS, BODY_KEYS, TYPE_RE

_HEX = frozenset("0123456789abcdef")


class Record:
    """A signed record. Immutable by convention; ``id`` is the hex record id.

    The body's fields are also attributes (``chain``, ``type``, ``signers``, ``seq``,
    ``expires``, ``payload``): the rules read them several times per record.
    ``verified`` is set once every signature has been checked (here or by a
    :class:`~ledger.consensus.sigpool.SignaturePool`), so the check is not repeated in this process.
    """

    __slots__ = ("body", "body_bytes", "chain", "expires", "id", "id_bytes", "payload", "seq",
                 "signatures", "signers", "type", "verified")

    body: dict[str, Any]
    chain: str
    type: str
    signers: list[str]
    seq: int
    expires: int
    payload: dict[str, Any]

    def __init__(self, body: dict[str, Any], signatures: Sequence[bytes],
                 body_bytes: bytes) -> None:
        self.signatures = tuple(signatures)
        self.body_bytes = body_bytes
        self.id_bytes = digest(Domain.RECORD, body_bytes)
        self.id = self.id_bytes.hex()
        self.verified = False
        self._fields(body)

    @classmethod
    def hashed(cls, body: dict[str, Any], signatures: tuple[bytes, ...], body_bytes: bytes,
               id_bytes: bytes, id_hex: str | None = None) -> Record:
        """A record whose id the caller computed as ``digest(Domain.RECORD, body_bytes)``
        (and ``id_hex``, its hex: a batch parser hashes a whole block's bodies at once)."""
        record = cls.__new__(cls)
        record.signatures, record.body_bytes, record.verified = signatures, body_bytes, False
        record.id_bytes, record.id = id_bytes, id_bytes.hex() if id_hex is None else id_hex
        record._fields(body)
        return record

    def _fields(self, body: dict[str, Any]) -> None:
        self.body = body
        (self.chain, self.type, self.signers, self.seq, self.expires,
         self.payload) = BODY_FIELDS(body)

    def to_wire(self) -> dict[str, Any]:
        """The JSON object sent to a node."""
        return {"body": self.body, "signatures": [s.hex() for s in self.signatures]}

    def wire_bytes(self) -> bytes:
        """The wire form as compact UTF-8 JSON (body canonical)."""
        sigs = ",".join(f'"{s.hex()}"' for s in self.signatures)
        return b'{"body":' + self.body_bytes + b',"signatures":[' + sigs.encode() + b"]}"

    def verify_signatures(self) -> None:
        """Raise BadSignature unless every signer's signature over the id verifies."""
        if self.verified:
            return
        pairs = zip(self.signers, self.signatures, strict=True)
        for index, (signer, signature) in enumerate(pairs):
            if not verify(bytes.fromhex(signer), signature, self.id_bytes):
                raise BadSignature(f"signature {index} (signer {signer[:16]}…) does not verify")
        self.verified = True

    def __repr__(self) -> str:
        return f"Record(id={self.id[:16]}…, type={self.type!r}, seq={self.seq})"

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, Record) and other.id == self.id
                and other.signatures == self.signatures)

    def __hash__(self) -> int:
        return hash(self.id)


def make_body(chain: str, type: str, signers: Sequence[str], seq: int,
              payload: Mapping[str, Any], *, expires: int) -> dict[str, Any]:
    """A record body, validated as :func:`parse_record` would validate it.

    ``expires``: the last block time (Unix ms) at which the record may commit."""
    body = {"chain": chain, "type": type, "signers": list(signers), "seq": seq,
            "expires": expires, "payload": dict(payload)}
    _check_body(body)
    return body


def sign_body(body: dict[str, Any], keys: Sequence[SigningKey]) -> Record:
    """Sign ``body`` with ``keys`` (one per signer, in order) and return the record."""
    _check_body(body)
    if [k.public_hex for k in keys] != body["signers"]:
        raise MalformedRecord("keys do not match the body's signers, in order")
    body_bytes = canonical_bytes(body, depth_max=record_depth_max + 2)
    record = Record(body, [b""] * len(keys), body_bytes)
    record.signatures = tuple(k.sign(record.id_bytes) for k in keys)
    return record


def add_signature(record: Record, signatures: Mapping[str, bytes]) -> Record:
    """A copy of ``record`` with signatures filled in from ``{signer hex: signature}``."""
    sigs = [signatures.get(signer, old) for signer, old in zip(record.signers, record.signatures,
                                                               strict=True)]
    return Record(record.body, sigs, record.body_bytes)


def unsigned(body: dict[str, Any]) -> Record:
    """A record with empty signatures, for collecting co-signatures one at a time."""
    _check_body(body)
    body_bytes = canonical_bytes(body, depth_max=record_depth_max + 2)
    return Record(body, [b""] * len(body["signers"]), body_bytes)


def parse_record(data: bytes | str) -> Record:
    """Parse and shape-check one record from its wire bytes (signatures not yet verified)."""
    if len(data) > record_bytes_max:
        raise MalformedRecord(f"record is {len(data)} bytes, over the limit of {record_bytes_max}",
                              code="record_too_large")
    text = data.decode("utf-8") if isinstance(data, bytes | bytearray) and data.isascii() else data
    return record_from_wire(parse_strict(text), text if isinstance(text, str) else None)


def parse_records(items: list[Any], text: str) -> list[Record | LedgerError]:
    """Records (or the error for each) from the items of a batch ``text`` that
    :func:`~ledger.wire.canonical.parse_strict` parsed: the text's checks are made once."""
    plain = plain_text(text)
    out: list[Record | LedgerError] = []
    for item in items:
        try:
            out.append(record_from_wire(item, parsed_plain=plain))
        except LedgerError as exc:
            out.append(exc)
    return out


def record_from_wire(wire: Any, parsed_from: str | None = None, *,
                     parsed_plain: bool = False) -> Record:
    """Shape-check a parsed wire object and build the record (signatures not yet verified).

    ``parsed_from``: the text parse_strict read ``wire`` from; ``parsed_plain``: parse_strict
    read it from a text for which :func:`~ledger.wire.canonical.plain_text` holds. Either lets
    the canonical encoding skip the data-model walk that parse_strict already made."""
    if not isinstance(wire, dict) or set(wire) != {"body", "signatures"}:
        raise MalformedRecord('a record is {"body": {...}, "signatures": [...]} and nothing else')
    body, sigs = wire["body"], wire["signatures"]
    _check_body(body, _small(parsed_from))
    if not isinstance(sigs, list) or len(sigs) != len(body["signers"]):
        raise MalformedRecord("there must be exactly one signature per signer")
    signatures = []
    for sig in sigs:
        if not isinstance(sig, str) or len(sig) != 2 * SIGNATURE_BYTES or not _HEX.issuperset(sig):
            raise MalformedRecord("a signature is 128 lowercase hex digits")
        signatures.append(bytes.fromhex(sig))
    try:
        if parsed_from is not None:  # fresh from parse_strict: already validated
            body_bytes = canonical_bytes_parsed(body, parsed_from)
        elif parsed_plain:
            body_bytes = canonical_bytes_plain(body)
        else:
            body_bytes = canonical_bytes(body, depth_max=record_depth_max + 2)
    except EncodingError as exc:
        raise MalformedRecord(str(exc), code=exc.code) from exc
    # Exact length of wire_bytes(): '{"body":' body ',"signatures":[' n*130 hex, n-1 commas ']}'
    if len(body_bytes) + 24 + 131 * len(signatures) > record_bytes_max:
        raise MalformedRecord("record is over the size limit", code="record_too_large")
    return Record(body, signatures, body_bytes)


class StoredBlock(NamedTuple):
    """A block's records, their signatures packed for the workers, and their ids in hex."""

    records: list[Record]
    packed: bytes
    ids: list[str]


def parse_stored_block(rows: Sequence[tuple[Any, ...]], chain_id: str) -> StoredBlock | None:
    """The records of a block's stored rows ``(idx, id, type, signer, seq, body, sigs)`` at
    once, when every one is plainly valid, canonical, of ``chain_id``, single-signed with a
    flat payload, and the index columns (when present) match the bodies; else None, and the
    caller parses the rows one by one with :func:`parse_stored` (which says what is wrong).

    Gives the records :func:`parse_stored` gives. Sequence numbers are left to the caller.
    """
    block = _fast.block(rows, chain_id)
    if block is None:
        return None
    records = list(map(Record.hashed, block.bodies, map(_one, block.signatures),
                       block.encoded, block.ids, block.hexes))
    return StoredBlock(records, block.packed, block.hexes)


def _one(signature: bytes) -> tuple[bytes]:
    return (signature,)


def parse_stored(body: Any, sigs: Any, *, fast: bool = True) -> Record:
    """The record of a stored row: its canonical body text and its signatures as
    comma-separated hex (signatures not yet verified).

    Raises MalformedRecord when the row holds no record, NonCanonicalBody when the body is a
    record not written canonically. ``fast``: try the private fast route first (it takes
    only what the strict route takes, and builds the same record); False: the strict route
    alone, which the fast one is tested against.
    """
    if fast:
        parsed = _fast.one(body, sigs)
        if parsed is not None:
            return Record(parsed.body, parsed.signatures, parsed.encoded)
    if not isinstance(body, str) or not isinstance(sigs, str):
        raise MalformedRecord("a stored record is its body's text and its signatures' hex")
    try:
        record = record_from_wire({"body": parse_strict(body),
                                   "signatures": sigs.split(",") if sigs else []}, body)
    except EncodingError as exc:
        raise MalformedRecord(str(exc), code=exc.code) from exc
    if record.body_bytes != body.encode():
        raise NonCanonicalBody(record.id, record.body_bytes.decode())
    return record


def key_bytes(key: str) -> bytes:
    """The 32 bytes of a signer's public key in hex, as a parsed record names it
    (remembered by the fast route, so a block's keys are decoded once)."""
    return _fast.key_bytes(key)


def _small(text: str | None) -> bool:
    """True when ``text`` is too short to hold an over-long string and has too few brackets
    to nest too deep, so the payload walk can be skipped (the usual case)."""
    return (text is not None and len(text) <= string_chars_max
            and text.count("{") + text.count("[") <= record_depth_max)


def _check_body(body: Any, small: bool = False) -> None:
    if not isinstance(body, dict) or body.keys() != BODY_KEYS:
        raise MalformedRecord(f"a body has exactly the fields {sorted(BODY_KEYS)}")
    chain, type_, signers, seq = body["chain"], body["type"], body["signers"], body["seq"]
    if not isinstance(chain, str) or not 0 < len(chain) <= record_type_chars_max:
        raise MalformedRecord("chain must be a non-empty string of at most 64 characters")
    if (not isinstance(type_, str) or len(type_) > record_type_chars_max
            or not TYPE_RE.match(type_)):
        raise MalformedRecord("type must be lowercase letters, digits, '_' and '.'")
    if not isinstance(signers, list) or not 0 < len(signers) <= record_signers_max:
        raise MalformedRecord(f"signers must list 1 to {record_signers_max} public keys")
    if not all(is_public_key_hex(s) for s in signers) or len(set(signers)) != len(signers):
        raise MalformedRecord("signers must be distinct 64-hex-digit Ed25519 public keys")
    if type(seq) is not int or not 0 < seq <= json_int_max:
        raise MalformedRecord("seq must be a positive integer")
    expires = body["expires"]
    if type(expires) is not int or not 0 < expires <= json_int_max:
        raise MalformedRecord("expires must be a positive integer (Unix ms of block time)")
    if not isinstance(body["payload"], dict):
        raise MalformedRecord("payload must be an object")
    if not small:
        _check_strings(body["payload"], record_depth_max)


def _check_strings(value: Any, depth_left: int) -> None:
    if depth_left < 0:
        raise MalformedRecord(f"payload nested deeper than {record_depth_max}", code="too_deep")
    if isinstance(value, str):
        if len(value) > string_chars_max:
            raise MalformedRecord(f"a string is over {string_chars_max} characters")
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_strings(key, depth_left)
            _check_strings(item, depth_left - 1)
    elif isinstance(value, list):
        for item in value:
            _check_strings(item, depth_left - 1)


def dumps(value: Any) -> str:
    """Compact JSON for storage (not canonical; use canonical_bytes for anything hashed)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
