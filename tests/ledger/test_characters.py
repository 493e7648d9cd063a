"""PROTOCOL.md §5.1: lengths in characters count Unicode code points, so a character above
U+FFFF counts once (not as two UTF-16 code units, not as four UTF-8 bytes)."""

from __future__ import annotations

import pytest

from ledger.errors import MalformedRecord
from ledger.limits import record_type_chars_max, string_chars_max
from ledger.wire.record import make_body

KEY = "ab" * 32
GRIN = "\U0001f600"  # 😀: one code point, two UTF-16 units, four UTF-8 bytes


def body(chain: str = "c", text: str = "") -> dict[str, object]:
    return make_body(chain, "counter.add", [KEY], 1, {"name": text}, expires=1)


def test_a_payload_string_of_the_limit_in_non_bmp_characters_is_allowed() -> None:
    body(text=GRIN * string_chars_max)
    with pytest.raises(MalformedRecord, match="characters"):
        body(text=GRIN * (string_chars_max + 1))


def test_the_chain_id_counts_code_points_too() -> None:
    body(chain=GRIN * record_type_chars_max)
    with pytest.raises(MalformedRecord, match="characters"):
        body(chain=GRIN * (record_type_chars_max + 1))
