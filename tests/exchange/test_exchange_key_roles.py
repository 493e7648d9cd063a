"""One key, one role: a key is a member key, a validator key, the regulator key, a merchant
key or a customer key, never two. Validator keys are bound in ``x_keys`` like the others, so
every place a key is bound, and every recipient of points, asks the same question."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from exchange import records as R
from exchange.errors import GenesisError
from exchange.genesis import parse_genesis
from ledger.crypto.keys import SigningKey

Chain = Any  # the conftest driver


def _validator(c: Chain, i: int = 0) -> str:
    member = c.genesis["members"][i]
    return str(member["validator_key"])


def test_validator_keys_are_bound_from_genesis(chain: Chain) -> None:
    rows = {r["pubkey"]: (r["kind"], r["owner"]) for r in chain.rows("x_keys")}
    assert rows[_validator(chain, 2)] == ("validator", "m2")


def test_points_cannot_be_issued_or_given_to_a_validator_key(alliance: Chain) -> None:
    c = alliance
    assert c.one(c.rec(R.issue, c.vk, "vk", _validator(c), 800)) == "recipient_not_customer"
    assert c.one(c.rec(R.update_program, c.bp, "bp", "汉堡宫积分", 10**10, True, 1, 1, 10**12,
                       ["vk"])) == "ok"
    assert c.one(c.rec(R.issue, c.bp, "bp", c.alice.public_hex, 800)) == "ok"
    before = c.snapshot()
    assert c.one(c.rec(R.transfer, c.alice, "bp", _validator(c), 100)) == (
        "recipient_not_customer")
    assert c.snapshot() == before


def test_a_new_members_validator_key_is_checked_against_every_role(alliance: Chain) -> None:
    c = alliance
    fresh = SigningKey.from_seed(b"\x07" * 32).public_hex
    assert c.one(c.rec(R.issue, c.vk, "vk", c.alice.public_hex, 5)) == "ok"
    before = c.snapshot()
    taken = {"a customer's key": c.alice.public_hex, "a merchant's key": c.vk.public_hex,
             "a member's key": c.members[1].public_hex, "the regulator's key":
             c.regulator.public_hex, "another validator's key": _validator(c, 1),
             "its own member key": fresh}
    for what, key in taken.items():
        code = c.vote(R.admit_member, "m-new", "New Member", fresh, key)
        assert code == "key_in_use", what
    assert c.snapshot() == before
    assert c.vote(R.admit_member, "m-new", "New Member", fresh, c.bob.public_hex) == "ok"
    assert c.one(c.rec(R.issue, c.vk, "vk", c.bob.public_hex, 5)) == "recipient_not_customer"


def test_a_validator_key_cannot_become_a_merchant_or_a_rotated_key(alliance: Chain) -> None:
    c = alliance
    validator = SigningKey.from_seed(hashlib.sha256(b"validator-3").digest())
    assert validator.public_hex == _validator(c, 3)
    assert c.one(c.rec(R.apply_merchant, validator, "tea", "Tea House")) == "key_in_use"
    rotate = c.rec(R.rotate_key, c.bp, "merchant", "burger-palace", _validator(c, 3))
    assert c.one(rotate) == "key_in_use"


@pytest.mark.parametrize("clash", ["member key as its validator key",
                                   "one validator key for two members",
                                   "validator key as the regulator key"])
def test_genesis_refuses_a_key_in_two_roles(chain: Chain, clash: str) -> None:
    doc = chain.genesis
    members = [dict(m) for m in doc["members"]]
    regulator = dict(doc["regulator"])
    if clash == "member key as its validator key":
        members[0]["validator_key"] = members[0]["key"]
    elif clash == "one validator key for two members":
        members[1]["validator_key"] = members[0]["validator_key"]
    else:
        regulator["key"] = members[2]["validator_key"]
    with pytest.raises(GenesisError, match="one key, one role"):
        parse_genesis({**doc, "members": members, "regulator": regulator})
