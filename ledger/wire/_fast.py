"""The record parser's fast route for stored records: orjson, for the plainly canonical ones.

Private to :mod:`ledger.wire.record`, the one parser: only it imports this module
(tests/ledger/test_record_routes.py holds that), and it builds the records from what this
module hands back. Nearly every stored record is short ASCII canonical JSON with one signer
and a flat payload. :func:`block` accepts a whole block of those at once, each check a
C-level pass over the block (no Python call per record); :func:`one` accepts one record in a
fraction of the strict route's time. Both hand back None for anything else, which then takes
the strict route (that also says what is wrong). Property tests hold the routes to the same
records.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from functools import partial
from itertools import chain
from operator import itemgetter, methodcaller
from typing import Any, NamedTuple

import orjson

from ledger.crypto.keys import is_public_key_hex
from ledger.limits import (
    json_int_max,
    record_bytes_max,
    record_depth_max,
    record_signers_max,
    record_type_chars_max,
    string_chars_max,
)
from ledger.wire.hashing import Domain
from ledger.wire.shape import BODY_FIELDS, BODY_KEYS, TYPE_RE

_ONLY_STR, _ONLY_INT = frozenset((str,)), frozenset((int,))
_ONLY_DICT, _ONLY_LIST = frozenset((dict,)), frozenset((list,))
#: Payload values block takes without a walk: no float, no nesting (the canonical
#: re-encoding with OPT_STRICT_INTEGER has refused integers beyond +-(2**53-1)).
_FLAT = frozenset((str, int, bool, type(None)))
_encode_sorted = partial(orjson.dumps, option=orjson.OPT_SORT_KEYS | orjson.OPT_STRICT_INTEGER)
_digest = methodcaller("digest")
_RECORD = bytes([Domain.RECORD])
_first = itemgetter(0)

_SIG_RE = re.compile(r"[0-9a-f]{128}\Z")
_SORTED = orjson.OPT_SORT_KEYS
#: Record types and signer keys already seen well formed (bounded: a hint, not a state).
_types_ok: set[str] = set()
_keys_ok: dict[str, bytes] = {}
keys_ok_max = 1 << 16


class Block(NamedTuple):
    """A block's parsed records, column by column: bodies, signatures, body bytes, ids (as
    bytes and hex), and every (key, signature, id) packed for the signature workers."""

    bodies: list[dict[str, Any]]
    signatures: list[bytes]
    encoded: list[bytes]
    ids: list[bytes]
    hexes: list[str]
    packed: bytes


class One(NamedTuple):
    """One parsed record: its body, signatures and canonical body bytes."""

    body: dict[str, Any]
    signatures: list[bytes]
    encoded: bytes


def block(rows: Sequence[tuple[Any, ...]], chain_id: str) -> Block | None:
    """The records of a block's stored rows ``(idx, id, type, signer, seq, body, sigs)``
    when every one is plainly valid, canonical, of ``chain_id``, single-signed with a flat
    payload, and the index columns (when present) match the bodies; else None.

    Accepts only what :func:`one` accepts, and parses it the same. Sequence numbers are left
    to the caller.
    """
    try:
        return _block(rows, chain_id)
    except (TypeError, ValueError, KeyError):  # a value of an unexpected type or shape
        return None


def _block(rows: Sequence[tuple[Any, ...]], chain_id: str) -> Block | None:
    n = len(rows)
    idxs, rids, rtypes, rsigners, rseqs, bodies, sigs = zip(*rows, strict=True)
    if (not n or idxs != tuple(range(n)) or not _ONLY_STR.issuperset(map(type, bodies))
            or not _ONLY_STR.issuperset(map(type, sigs))):
        return None
    longest = max(map(len, bodies))  # bounds every string; one signature: +24 +131 bytes
    if (longest > string_chars_max or longest + 155 > record_bytes_max
            or not "".join(bodies).isascii()):
        return None
    encoded = list(map(str.encode, bodies))
    try:
        objs = list(map(orjson.loads, encoded))
        if list(map(_encode_sorted, objs)) != encoded:
            return None
    except (orjson.JSONDecodeError, orjson.JSONEncodeError):
        return None
    if not _ONLY_DICT.issuperset(map(type, objs)) or set(map(len, objs)) != {len(BODY_KEYS)}:
        return None
    chains, types, signers, seqs, expires, payloads = zip(*map(BODY_FIELDS, objs), strict=True)
    if (chains.count(chain_id) != n or not _ONLY_INT.issuperset(map(type, seqs))
            or not 0 < min(seqs) <= max(seqs) <= json_int_max
            or not _ONLY_INT.issuperset(map(type, expires))
            or not 0 < min(expires) <= max(expires) <= json_int_max
            or not _ONLY_DICT.issuperset(map(type, payloads))
            or not _FLAT.issuperset(map(type, chain.from_iterable(map(dict.values, payloads))))
            or not _ONLY_LIST.issuperset(map(type, signers)) or set(map(len, signers)) != {1}
            or set(map(len, sigs)) != {128}):
        return None
    joined = "".join(sigs)  # lowercase hex: no capital here, and fromhex refuses the rest
    if joined.lower() != joined or not joined.isascii():
        return None
    keys = list(map(_first, signers))
    if not all(map(_keys_ok.__contains__, keys)) and not all(map(_key_ok, keys)):
        return None
    if not _types_ok.issuperset(types) and not all(map(_type_ok, types)):
        return None
    ids = list(map(_digest, map(hashlib.sha256, map(_RECORD.__add__, encoded))))
    hexes = list(map(bytes.hex, ids))
    if rids.count(None) != n and (rids != tuple(hexes) or rtypes != types or rseqs != seqs
                                  or rsigners != tuple(keys)):
        return None
    signatures = list(map(bytes.fromhex, sigs))  # ValueError for a character not hex
    if set(map(len, signatures)) != {64}:  # fromhex skips spaces
        return None
    key_bytes = map(_keys_ok.__getitem__, keys)  # KeyError if the memo was cleared
    packed = b"".join(chain.from_iterable(zip(key_bytes, signatures, ids, strict=True)))
    return Block(list(objs), signatures, encoded, ids, hexes, packed)


def _type_ok(type_: Any) -> bool:
    """True when ``type_`` is a well-formed record type (remembered once seen)."""
    if type_ in _types_ok:
        return True
    if (type(type_) is not str or len(type_) > record_type_chars_max
            or not TYPE_RE.match(type_) or len(_types_ok) >= 4096):
        return False
    _types_ok.add(type_)
    return True


def one(body: Any, sigs: Any) -> One | None:
    """The record of a stored row when it is plainly valid and canonical, else None.

    Accepts only what the strict route accepts (short ASCII canonical JSON of the
    restricted model, shallow, well-formed fields), in a fraction of the time: orjson parses
    the body, and re-encoding it with sorted keys must give back exactly the stored bytes
    (which refuses duplicate keys, escapes and number spellings a canonical body never has);
    a walk of the payload refuses floats and integers beyond +-(2**53-1), which orjson reads.
    Anything else takes the strict path, which also says what is wrong.
    """
    if (type(body) is not str or type(sigs) is not str or not body.isascii()
            or len(body) > string_chars_max
            or body.count("{") + body.count("[") > record_depth_max):
        return None
    body_bytes = body.encode()
    try:
        obj = orjson.loads(body_bytes)
        if (type(obj) is not dict or obj.keys() != BODY_KEYS
                or orjson.dumps(obj, option=_SORTED) != body_bytes):
            return None
    except (orjson.JSONDecodeError, orjson.JSONEncodeError):
        return None
    chain, type_, signers, seq = obj["chain"], obj["type"], obj["signers"], obj["seq"]
    expires = obj["expires"]
    if (type(chain) is not str or not 0 < len(chain) <= record_type_chars_max
            or type(seq) is not int or not 0 < seq <= json_int_max
            or type(expires) is not int or not 0 < expires <= json_int_max
            or type(obj["payload"]) is not dict or not _restricted(obj["payload"])
            or type(signers) is not list or not 0 < len(signers) <= record_signers_max
            or not all(map(_key_ok, signers))
            or (len(signers) > 1 and len(set(signers)) != len(signers))):
        return None
    if not _type_ok(type_):
        return None
    parts = sigs.split(",")
    if len(parts) != len(signers) or not all(_SIG_RE.match(p) for p in parts) \
            or len(body) + 24 + 131 * len(parts) > record_bytes_max:
        return None
    return One(obj, [bytes.fromhex(p) for p in parts], body_bytes)


def _key_ok(key: Any) -> bool:
    """True when ``key`` is a public key in hex (remembered once seen)."""
    if key in _keys_ok:
        return True
    if not is_public_key_hex(key):
        return False
    if len(_keys_ok) >= keys_ok_max:
        _keys_ok.clear()  # a bounded memo: start again rather than grow
    _keys_ok[key] = bytes.fromhex(key)
    return True


def key_bytes(key: str) -> bytes:
    """The 32 bytes of a public key in hex that :func:`one` or the strict route accepted."""
    found = _keys_ok.get(key)
    return found if found is not None else bytes.fromhex(key)


def _restricted(value: Any) -> bool:
    """True when ``value`` (parsed by orjson) holds no float and no integer beyond
    +-(2**53-1): orjson reads both, the restricted model refuses them."""
    for item in value.values() if type(value) is dict else value:
        kind = type(item)
        if kind is str or kind is bool or item is None:
            continue
        if kind is int:
            if not -json_int_max <= item <= json_int_max:
                return False
        elif kind is dict or kind is list:
            if not _restricted(item):
                return False
        else:
            return False
    return True
