"""Tests of ledger.wire.canonical: RFC 8785 vectors, the strict parser's refusals, key order,
ECMAScript number formatting, and a round-trip property."""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.errors import EncodingError
from ledger.limits import json_int_max, record_depth_max
from ledger.wire.canonical import (
    canonical_bytes,
    es6_number,
    jcs_bytes,
    parse_strict,
    reference_bytes,
)

from .vectors import VECTORS_DIR, absent

JCS_INPUT = VECTORS_DIR / "jcs" / "input"


def _jcs_names() -> list[Any]:
    names = sorted(p.name for p in JCS_INPUT.glob("*.json")) if JCS_INPUT.is_dir() else []
    if not names:
        return absent("jcs", JCS_INPUT)
    return names


# --- 1. RFC 8785 conformance vectors (cyberphone/json-canonicalization testdata) ---------


@pytest.mark.parametrize("name", _jcs_names())
def test_jcs_vector_canonicalises_to_expected_bytes(name: str, vectors_dir: Path) -> None:
    jcs = vectors_dir / "jcs"
    expected = (jcs / "output" / name).read_bytes()
    assert jcs_bytes(json.loads((jcs / "input" / name).read_bytes())) == expected
    outhex = (jcs / "outhex" / name.replace(".json", ".txt")).read_text().split()
    assert bytes.fromhex("".join(outhex)) == expected


def test_jcs_vector_count(vectors_dir: Path) -> None:
    assert len(list((vectors_dir / "jcs" / "input").glob("*.json"))) == 6


def test_canonical_bytes_matches_jcs_on_float_free_vectors(vectors_dir: Path) -> None:
    """canonical_bytes (the ledger's encoder) agrees with JCS wherever it accepts the input."""
    checked = 0
    for path in sorted((vectors_dir / "jcs" / "input").glob("*.json")):
        value = json.loads(path.read_bytes())
        try:
            encoded = canonical_bytes(value)
        except EncodingError as exc:
            assert exc.code in {"float_not_allowed", "integer_out_of_range"}
            continue
        assert encoded == (vectors_dir / "jcs" / "output" / path.name).read_bytes()
        checked += 1
    assert checked >= 3


# --- 2. parse_strict refuses whatever cannot be canonical ----------------------------------

REFUSED: list[tuple[str, bytes | str, str]] = [
    ("float 1.0", "1.0", "float_not_allowed"),
    ("float 1e3", "1e3", "float_not_allowed"),
    ("float 1E3", "1E3", "float_not_allowed"),
    ("float 0e0", "0e0", "float_not_allowed"),
    ("float -0.0", "-0.0", "float_not_allowed"),
    ("float in object", '{"amount":2.50}', "float_not_allowed"),
    ("float in array", "[1,2,3.0]", "float_not_allowed"),
    ("NaN", "NaN", "float_not_allowed"),
    ("Infinity", "Infinity", "float_not_allowed"),
    ("-Infinity", '{"a":-Infinity}', "float_not_allowed"),
    ("duplicate key", '{"a":1,"a":2}', "duplicate_key"),
    ("duplicate key nested", '{"x":{"b":1,"c":2,"b":1}}', "duplicate_key"),
    ("duplicate key in array", '[{"k":1},{"k":1,"k":1}]', "duplicate_key"),
    ("duplicate key by escape", '{"a":1,"\\u0061":2}', "duplicate_key"),
    ("2^53", "9007199254740992", "integer_out_of_range"),
    ("-2^53", "-9007199254740992", "integer_out_of_range"),
    ("huge int", "123456789012345678901234567890", "integer_out_of_range"),
    ("huge int nested", '{"a":[18446744073709551616]}', "integer_out_of_range"),
    ("-0", "-0", "negative_zero"),
    ("-0 nested", '{"a":[-0]}', "negative_zero"),
    ("lone high surrogate", '"\\ud800"', "invalid_unicode"),
    ("lone low surrogate", '"x\\udc00y"', "invalid_unicode"),
    ("lone surrogate in key", '{"\\udbff":1}', "invalid_unicode"),
    ("reversed surrogate pair", '"\\ude00\\ud83d"', "invalid_unicode"),
    ("invalid UTF-8 byte", b'"\xff"', "invalid_utf8"),
    ("truncated UTF-8", b'"\xc3"', "invalid_utf8"),
    ("overlong UTF-8", b'"\xc0\xaf"', "invalid_utf8"),
    ("UTF-8 encoded surrogate", b'"\xed\xa0\x80"', "invalid_utf8"),
    ("too deep arrays", "[" * 13 + "]" * 13, "too_deep"),
    ("too deep objects", '{"a":' * 13 + "1" + "}" * 13, "too_deep"),
    ("trailing comma", '{"a":1,}', "malformed_json"),
    ("empty", "", "malformed_json"),
    ("single quotes", "'a'", "malformed_json"),
    ("two values", "1 2", "malformed_json"),
]


@pytest.mark.parametrize(("text", "code"), [pytest.param(t, c, id=i) for i, t, c in REFUSED])
def test_parse_strict_refuses_with_stable_code(text: bytes | str, code: str) -> None:
    with pytest.raises(EncodingError) as caught:
        parse_strict(text)
    assert caught.value.code == code
    if isinstance(text, str):  # the same text given as UTF-8 bytes fails the same way
        with pytest.raises(EncodingError) as again:
            parse_strict(text.encode("utf-8", "surrogatepass"))
        assert again.value.code == code


@pytest.mark.parametrize("text", ['"\ud800"', '{"k\udfff":1}', '["a", "\udc00"]'])
def test_parse_strict_refuses_a_raw_lone_surrogate_in_str_input(text: str) -> None:
    """A str (unlike UTF-8 bytes) can carry a lone surrogate without any escape."""
    with pytest.raises(EncodingError) as caught:
        parse_strict(text)
    assert caught.value.code == "invalid_unicode"


def test_parse_strict_accepts_the_edges_of_the_range() -> None:
    assert parse_strict(str(json_int_max)) == json_int_max
    assert parse_strict(str(-json_int_max)) == -json_int_max
    assert parse_strict("0") == 0
    assert parse_strict('"\\ud83d\\ude00"') == "\U0001f600"  # a proper surrogate pair
    assert parse_strict(' {"a" : [ 1 , true , null ] } ') == {"a": [1, True, None]}


def test_parse_strict_depth_limit_is_record_depth_plus_four() -> None:
    limit = record_depth_max + 4
    assert parse_strict("[" * limit + "]" * limit) == parse_strict("[" * limit + "]" * limit)
    with pytest.raises(EncodingError, match="nested"):
        parse_strict("[" * (limit + 1) + "]" * (limit + 1))
    assert parse_strict("[" * 40 + "]" * 40, depth_max=40) is not None


def test_parse_strict_does_not_count_brackets_inside_strings() -> None:
    text = json.dumps({"a": "[{" * 50 + "\\\"[[["})
    assert parse_strict(text) == {"a": "[{" * 50 + "\\\"[[["}


def test_parse_strict_refuses_very_deep_nesting_without_recursing() -> None:
    with pytest.raises(EncodingError) as caught:
        parse_strict("[" * 100_000 + "]" * 100_000)
    assert caught.value.code == "too_deep"


def _deepest(text: str) -> int:
    """Reference: the deepest bracket nesting outside strings, one character at a time."""
    depth = deepest = at = 0
    in_string = False
    while at < len(text):
        ch = text[at]
        if in_string and ch == "\\":
            at += 2  # the escaped character never ends the string
            continue
        if ch == '"':
            in_string = not in_string
        elif not in_string and ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif not in_string and ch in "]}":
            depth -= 1
        at += 1
    return deepest


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet='[]{}"\\ab:,', max_size=80), st.integers(0, 12))
def test_depth_scan_agrees_with_a_character_by_character_scan(text: str, depth_max: int) -> None:
    # The scan jumps between structural characters; escapes and strings must not fool it.
    from ledger.wire.canonical import _check_depth

    try:
        _check_depth(text, depth_max)
        refused = False
    except EncodingError as exc:
        assert exc.code == "too_deep"
        refused = True
    assert refused == (_deepest(text) > depth_max)


# --- 3. canonical_bytes: the restricted data model and RFC 8785 key order -------------------

NOT_ENCODABLE: list[tuple[str, Any, str]] = [
    ("float", 1.0, "float_not_allowed"),
    ("float in object", {"a": {"b": 0.5}}, "float_not_allowed"),
    ("float in list", [1, 2, 3.0], "float_not_allowed"),
    ("NaN", float("nan"), "float_not_allowed"),
    ("2^53", 2**53, "integer_out_of_range"),
    ("-2^53", -(2**53), "integer_out_of_range"),
    ("huge int in list", [10**30], "integer_out_of_range"),
    ("int key", {1: "a"}, "not_canonical"),
    ("bytes", b"x", "not_canonical"),
    ("set", {1, 2}, "not_canonical"),
    ("lone surrogate", {"a": "\ud800"}, "invalid_unicode"),
    ("lone surrogate key", {"\udc00": 1}, "invalid_unicode"),
    # A non-BMP key sends the encoder down its UTF-16 sorting path; it must refuse the same.
    ("lone surrogate beside non-BMP key", {"\U0001f600": "\ud800"}, "invalid_unicode"),
    ("float beside non-BMP key", {"\U0001f600": 1.5}, "float_not_allowed"),
    ("big int beside non-BMP key", {"\U0001f600": [2**60]}, "integer_out_of_range"),
]


@pytest.mark.parametrize(("value", "code"),
                         [pytest.param(v, c, id=i) for i, v, c in NOT_ENCODABLE])
def test_canonical_bytes_refuses_with_stable_code(value: Any, code: str) -> None:
    with pytest.raises(EncodingError) as caught:
        canonical_bytes(value)
    assert caught.value.code == code


def test_canonical_bytes_refuses_nesting_beyond_depth_max() -> None:
    value: Any = 1
    for _ in range(10):
        value = [value]
    assert canonical_bytes(value, depth_max=10) == b"[" * 10 + b"1" + b"]" * 10
    with pytest.raises(EncodingError) as caught:
        canonical_bytes(value, depth_max=9)
    assert caught.value.code == "too_deep"


def test_canonical_bytes_is_compact_sorted_utf8() -> None:
    value = {"b": [1, True, None], "a": {"d": "é", "c": -5}, "": False}
    assert canonical_bytes(value) == '{"":false,"a":{"c":-5,"d":"é"},"b":[1,true,null]}'.encode()


def test_keys_sort_by_utf16_code_units_not_code_points() -> None:
    # U+1F600 is D83D DE00 in UTF-16, which sorts before U+FB01; by code point it sorts after.
    value = {"\ufb01": 1, "\U0001f600": 2, "\uffff": 3}
    expected = '{"\U0001f600":2,"\ufb01":1,"\uffff":3}'.encode()
    assert canonical_bytes(value) == expected
    assert jcs_bytes(value) == expected
    assert json.dumps(value, sort_keys=True, ensure_ascii=False).encode() != expected


def test_rfc8785_section_3_2_3_sorting_example() -> None:
    value = {
        "\u20ac": "Euro Sign",
        "\r": "Carriage Return",
        "\ufb33": "Hebrew Letter Dalet With Dagesh",
        "1": "One",
        "\U0001f600": "Emoji: Grinning Face",
        "\u0080": "Control",
        "\u00f6": "Latin Small Letter O With Diaeresis",
    }
    decoded = json.loads(canonical_bytes(value), object_pairs_hook=lambda pairs: pairs)
    assert [v for _, v in decoded] == [
        "Carriage Return", "One", "Control", "Latin Small Letter O With Diaeresis",
        "Euro Sign", "Emoji: Grinning Face", "Hebrew Letter Dalet With Dagesh",
    ]


def test_string_escaping_follows_ecmascript() -> None:
    value = {"s": "\u0000\b\t\n\f\r\u001f\"\\/\u007f\u2028é\U0001f600"}
    expected = (b'{"s":"\\u0000\\b\\t\\n\\f\\r\\u001f\\"\\\\/\x7f'
                + "\u2028é\U0001f600".encode() + b'"}')
    assert canonical_bytes(value) == expected
    assert jcs_bytes(value) == expected


# --- 4. ECMAScript number formatting (jcs_bytes only; the ledger has no floats) -------------

# RFC 8785 Appendix B: IEEE 754 bit patterns and their ECMAScript form.
RFC8785_APPENDIX_B = [
    ("0000000000000000", "0"),
    ("8000000000000000", "0"),
    ("0000000000000001", "5e-324"),
    ("8000000000000001", "-5e-324"),
    ("7fefffffffffffff", "1.7976931348623157e+308"),
    ("ffefffffffffffff", "-1.7976931348623157e+308"),
    ("4340000000000000", "9007199254740992"),
    ("c340000000000000", "-9007199254740992"),
    ("4430000000000000", "295147905179352830000"),
    ("44b52d02c7e14af5", "9.999999999999997e+22"),
    ("44b52d02c7e14af6", "1e+23"),
    ("44b52d02c7e14af7", "1.0000000000000001e+23"),
    ("444b1ae4d6e2ef4e", "999999999999999700000"),
    ("444b1ae4d6e2ef4f", "999999999999999900000"),
    ("444b1ae4d6e2ef50", "1e+21"),
    ("3eb0c6f7a0b5ed8c", "9.999999999999997e-7"),
    ("3eb0c6f7a0b5ed8d", "0.000001"),
    ("41b3de4355555553", "333333333.3333332"),
    ("41b3de4355555554", "333333333.33333325"),
    ("41b3de4355555555", "333333333.3333333"),
    ("41b3de4355555556", "333333333.3333334"),
    ("41b3de4355555557", "333333333.33333343"),
    ("becbf647612f3696", "-0.0000033333333333333333"),
    ("43143ff3c1cb0959", "1424953923781206.2"),
]


@pytest.mark.parametrize(("bits", "expected"), RFC8785_APPENDIX_B)
def test_es6_number_rfc8785_appendix_b(bits: str, expected: str) -> None:
    (value,) = struct.unpack(">d", bytes.fromhex(bits))
    assert es6_number(value) == expected
    assert jcs_bytes([value]) == f"[{expected}]".encode()


@pytest.mark.parametrize(("value", "expected"), [
    (1e21, "1e+21"),
    (1e20, "100000000000000000000"),
    (1e-7, "1e-7"),
    (0.000001, "0.000001"),
    (0.0000012345, "0.0000012345"),
    (float(2**60), "1152921504606847000"),
    (123e-20, "1.23e-18"),
    (1.5e300, "1.5e+300"),
    (100.0, "100"),
    (0.1, "0.1"),
    (-2.5, "-2.5"),
    (4.5, "4.5"),
    (0.002, "0.002"),
    (1e16, "10000000000000000"),
    (12345678.9, "12345678.9"),
])
def test_es6_number_formats_like_ecmascript(value: float, expected: str) -> None:
    assert es6_number(value) == expected


def test_jcs_bytes_formats_integers_beyond_2_53_as_ecmascript_numbers() -> None:
    assert jcs_bytes(2**60) == b"1152921504606847000"
    assert jcs_bytes(2**53 + 1) == b"9007199254740992"  # the double nearest to it
    assert jcs_bytes(json_int_max) == b"9007199254740991"


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_es6_number_refuses_nan_and_infinity(value: float) -> None:
    with pytest.raises(EncodingError) as caught:
        jcs_bytes({"x": value})
    assert caught.value.code == "float_not_allowed"


# --- 5. properties -------------------------------------------------------------------------

_keys = st.text(max_size=6) | st.text("a1\r\u0080\u00f6\u20ac\ufb33\uffff\U0001f600", max_size=4)
_scalars = (st.none() | st.booleans() | st.integers(-json_int_max, json_int_max)
            | st.text(max_size=12))
restricted_json = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_keys, inner, max_size=4),
    max_leaves=24,
)


@settings(max_examples=300, deadline=None)
@given(restricted_json)
def test_canonical_round_trip_property(value: Any) -> None:
    encoded = canonical_bytes(value)
    parsed = parse_strict(encoded, depth_max=64)
    assert canonical_bytes(parsed) == encoded
    assert parsed == value
    assert jcs_bytes(value) == encoded  # the fast path agrees with the full RFC 8785 encoder
    assert json.loads(encoded) == value


@settings(max_examples=200, deadline=None)
@given(st.floats(allow_nan=False, allow_infinity=False))
def test_parse_strict_refuses_every_float_property(value: float) -> None:
    with pytest.raises(EncodingError) as caught:
        parse_strict(json.dumps({"amount": value}))
    assert caught.value.code == "float_not_allowed"


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=json_int_max + 1) | st.integers(max_value=-json_int_max - 1))
def test_integers_outside_the_safe_range_are_refused_property(value: int) -> None:
    with pytest.raises(EncodingError) as caught:
        parse_strict(str(value))
    assert caught.value.code == "integer_out_of_range"
    with pytest.raises(EncodingError) as again:
        canonical_bytes({"n": value})
    assert again.value.code == "integer_out_of_range"


_bmp_text = st.text(st.characters(max_codepoint=0xFFFF, exclude_categories=("Cs",)), max_size=12)
_restricted = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53 - 1), 2**53 - 1)
    | st.text(st.characters(exclude_categories=("Cs",)), max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_bmp_text, inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(_restricted)
def test_fast_encoder_matches_the_reference_and_the_full_jcs_encoder(value: Any) -> None:
    """orjson (the fast path) gives exactly the stdlib reference bytes and the JCS bytes."""
    assert canonical_bytes(value) == reference_bytes(value)
    assert canonical_bytes(value) == jcs_bytes(value)
