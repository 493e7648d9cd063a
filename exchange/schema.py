"""Payload shapes: exact field sets and cheap per-field type checks.

A payload is well formed when it has exactly the fields of its type's spec and each value
passes its field's check; anything else is ``payload_malformed``. Range rules that have their
own result code (amounts, rates, windows) are checked later by the handlers.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from exchange.limits import (
    accepts_max,
    code_chars_max,
    name_chars_max,
    ref_chars_max,
    text_chars_max,
)
from ledger.crypto.keys import is_public_key_hex

Check = Callable[[Any], bool]
Spec = tuple[tuple[str, Check], ...]

_ID = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?\Z")
_CODE = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}\Z")


def is_id(value: Any) -> bool:
    """A member or merchant id: a lowercase slug such as ``village-kitchen`` (1..40 chars)."""
    return type(value) is str and _ID.match(value) is not None


def is_code(value: Any) -> bool:
    """A program code: lowercase letters, digits, '-' and '_' (1..32 chars)."""
    return type(value) is str and _CODE.match(value) is not None


def is_code_ref(value: Any) -> bool:
    """A reference to a program by code: a short string (an unknown one is program_unknown).

    Cheaper than :func:`is_code` on the hot path; no program can have a malformed code.
    """
    return type(value) is str and len(value) <= code_chars_max


def is_key(value: Any) -> bool:
    """An Ed25519 public key as 64 lowercase hex digits."""
    return is_public_key_hex(value)


def is_optional_key(value: Any) -> bool:
    """A public key, or None."""
    return value is None or is_public_key_hex(value)


def is_printable(value: str) -> bool:
    """No control characters (NUL, ESC, CR, LF, tab...), bidi overrides (U+202E...) or other
    format, separator or unassigned characters besides the space: text that reaches other
    people's pages and spreadsheets shows exactly what was signed. Every text field of a
    payload passes this one check."""
    return value.isprintable()


def is_name(value: Any) -> bool:
    """A display name: any printable Unicode (e.g. 乡村基积分), 1..64 chars, no edge spaces."""
    return (type(value) is str and 0 < len(value) <= name_chars_max and is_printable(value)
            and value.strip() == value)


def is_text(value: Any) -> bool:
    """Free text (a profile's description, address) of up to 500 printable characters."""
    return type(value) is str and len(value) <= text_chars_max and is_printable(value)


def is_ref(value: Any) -> bool:
    """A short reference (order number, memo) of up to 128 printable characters."""
    return type(value) is str and len(value) <= ref_chars_max and is_printable(value)


def is_int(value: Any) -> bool:
    """An integer that is not a bool (ranges are checked by the handlers)."""
    return type(value) is int


def is_bool(value: Any) -> bool:
    """A JSON boolean."""
    return type(value) is bool


def is_codes(value: Any) -> bool:
    """A list of distinct program codes, at most ``accepts_max`` of them."""
    return (type(value) is list and len(value) <= accepts_max and all(map(is_code, value))
            and len(set(value)) == len(value))


def well_formed(payload: Mapping[str, Any], spec: Spec) -> bool:
    """True when ``payload`` has exactly the fields of ``spec`` and every value passes."""
    names = _NAMES.get(id(spec))
    if names is None:  # specs are module constants: their field sets are computed once
        names = _NAMES[id(spec)] = (spec, frozenset(name for name, _ in spec))
    if payload.keys() != names[1]:
        return False
    for name, check in spec:  # noqa: SIM110 (all() over a generator costs more per record)
        if not check(payload[name]):
            return False
    return True


#: id(spec) -> (spec, its field names); the spec is kept so that its id is never reused.
_NAMES: dict[int, tuple[Spec, frozenset[str]]] = {}
