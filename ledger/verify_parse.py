"""The verifier's fast parse of a stored record: orjson, for the plainly canonical ones.

Nearly every stored record is short ASCII canonical JSON; :func:`fast_record` accepts those
in a fraction of the strict parser's time and hands back None for anything else, which then
takes ``verify_blocks``' strict path (that also says what is wrong). A property test holds
the two to the same records.
"""

from __future__ import annotations

import re
from typing import Any

import orjson

from .keys import is_public_key_hex
from .limits import (
    json_int_max,
    record_bytes_max,
    record_depth_max,
    record_signers_max,
    record_type_chars_max,
    string_chars_max,
)
from .record import _BODY_KEYS, _TYPE_RE, Record

_SIG_RE = re.compile(r"[0-9a-f]{128}\Z")
_SORTED = orjson.OPT_SORT_KEYS
#: Record types and signer keys already seen well formed (bounded: a hint, not a state).
_types_ok: set[str] = set()
_keys_ok: dict[str, bytes] = {}
keys_ok_max = 1 << 16


def fast_record(body: Any, sigs: Any) -> Record | None:
    """The record of a stored row when it is plainly valid and canonical, else None.

    Accepts only what :func:`_strict_record` accepts (short ASCII canonical JSON of the
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
        if (type(obj) is not dict or obj.keys() != _BODY_KEYS
                or orjson.dumps(obj, option=_SORTED) != body_bytes):
            return None
    except (orjson.JSONDecodeError, orjson.JSONEncodeError):
        return None
    chain, type_, signers, seq = obj["chain"], obj["type"], obj["signers"], obj["seq"]
    if (type(chain) is not str or not 0 < len(chain) <= record_type_chars_max
            or type(seq) is not int or not 0 < seq <= json_int_max
            or type(obj["payload"]) is not dict or not _restricted(obj["payload"])
            or type(signers) is not list or not 0 < len(signers) <= record_signers_max
            or not all(map(_key_ok, signers))
            or (len(signers) > 1 and len(set(signers)) != len(signers))):
        return None
    if type_ not in _types_ok:
        if (type(type_) is not str or len(type_) > record_type_chars_max
                or not _TYPE_RE.match(type_) or len(_types_ok) >= 4096):
            return None
        _types_ok.add(type_)
    parts = sigs.split(",")
    if len(parts) != len(signers) or not all(_SIG_RE.match(p) for p in parts) \
            or len(body) + 24 + 131 * len(parts) > record_bytes_max:
        return None
    return Record(obj, [bytes.fromhex(p) for p in parts], body_bytes)


def _key_ok(key: Any) -> bool:
    """True when ``key`` is a public key in hex (remembered once seen)."""
    if key in _keys_ok:
        return True
    if not is_public_key_hex(key):
        return False
    if len(_keys_ok) < keys_ok_max:
        _keys_ok[key] = bytes.fromhex(key)
    return True


def key_bytes(key: str) -> bytes:
    """The 32 bytes of a public key in hex that :func:`fast_record` or the strict path
    accepted."""
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
