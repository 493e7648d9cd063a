"""Text that reaches other people's screens: no control characters, no bidi overrides."""

from __future__ import annotations

from typing import Any

import pytest

from exchange import records as R
from exchange.errors import GenesisError
from exchange.genesis import app_genesis

Chain = Any  # the conftest driver

HOSTILE = ["\x00", "\x1b[31m", "\u202e", "\u2066", "\r", "\t", "\n"]


@pytest.mark.parametrize("bad", HOSTILE)
def test_profile_fields_refuse_control_and_bidi_characters(chain: Chain, bad: str) -> None:
    c = chain
    before = c.snapshot()
    for field in ("description", "address", "category", "area", "contact"):
        record = c.rec(R.apply_merchant, c.ns, "noodle-shop", "Noodle Shop",
                       **{field: f"shop{bad}gpj.exe"})
        assert c.one(record) == "payload_malformed", field
    assert c.snapshot() == before


@pytest.mark.parametrize("bad", HOSTILE)
def test_refs_and_order_refs_refuse_control_and_bidi_characters(alliance: Chain,
                                                                bad: str) -> None:
    c = alliance
    assert c.one(c.rec(R.issue, c.vk, "vk", c.alice.public_hex, 50, "till 1")) == "ok"
    before = c.snapshot()
    height = c.height
    assert c.one(c.rec(R.issue, c.vk, "vk", c.alice.public_hex, 5, f"r{bad}")) == \
        "payload_malformed"
    assert c.one(c.rec(R.redeem, c.alice, "vk", 5, f"o{bad}")) == "payload_malformed"
    assert c.snapshot() == before and c.height == height + 2


def test_plain_unicode_text_is_still_accepted(chain: Chain) -> None:
    c = chain
    record = c.rec(R.apply_merchant, c.ns, "noodle-shop", "面馆 Noodle Shop",
                   description="手工拉面, since 1998", address="春熙路 12号")
    assert c.one(record) == "ok"


@pytest.mark.parametrize("ttl", [0, 86_399_999, 366 * 86_400_000 + 1])
def test_application_ttl_outside_its_bounds_is_refused_at_genesis(ttl: int) -> None:
    with pytest.raises(GenesisError, match="application_ttl_ms"):
        app_genesis([{"id": "m0", "name": "M", "key": "ab" * 32}],
                    {"name": "R", "key": "cd" * 32}, {"application_ttl_ms": ttl})
