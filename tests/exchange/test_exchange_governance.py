"""Alliance governance: votes, validator set changes, suspension, key rotation."""

from __future__ import annotations

from typing import Any

from exchange import queries
from exchange import records as R
from exchange.genesis import Params
from ledger.application import ValidatorInfo

Chain = Any  # the conftest driver


def test_threshold_is_the_quorum_percent_of_active_members_rounded_up() -> None:
    params = Params(member_quorum_percent=67, rate_notice_ms=0, day_offset_ms=0)
    assert [params.threshold(n) for n in (1, 2, 3, 4, 5, 6, 7)] == [1, 2, 3, 3, 4, 5, 5]


def test_admitting_a_member_adds_its_validator_from_the_next_block(chain: Chain) -> None:
    c = chain
    assert [v.name for v in c.app.validators()] == ["m0", "m1", "m2", "m3"]
    record = c.rec(R.admit_member, c.members[:3], "m4", "Member 4", c.bob.public_hex,
                   c.alice.public_hex)
    assert c.block(record) == ["ok"]
    assert c.last.validators is not None
    assert c.last.validators[-1] == ValidatorInfo("m4", c.alice.public_hex)
    assert c.app.validators() == c.last.validators
    assert queries.members(c.app.view)[0]["threshold"] == 4  # ceil(5 * 0.67)


def test_suspended_member_leaves_the_validator_set_and_cannot_vote(chain: Chain) -> None:
    c = chain
    assert c.block(c.rec(R.suspend_member, c.members[:3], "m3", "offline")) == ["ok"]
    assert [v.name for v in c.last.validators] == ["m0", "m1", "m2"]
    vote = c.rec(R.apply_merchant, c.ns, "noodle-shop", "Noodle Shop")
    assert c.one(vote) == "ok"
    with_m3 = c.rec(R.admit_merchant, [c.members[3], c.members[0], c.members[1]], "noodle-shop")
    assert c.one(with_m3) == "signers_not_members"
    assert c.vote(R.reinstate_member, "m3") == "ok"
    assert [v.name for v in c.last.validators] == ["m0", "m1", "m2", "m3"]


def test_record_without_membership_change_returns_no_validators(alliance: Chain) -> None:
    alliance.block(alliance.rec(R.issue, alliance.vk, "vk", alliance.alice.public_hex, 5))
    assert alliance.last.validators is None


def test_suspended_merchant_cannot_issue_or_receive_but_customers_keep_everything(
        alliance: Chain) -> None:
    c = alliance
    assert c.one(c.rec(R.issue, c.vk, "vk", c.alice.public_hex, 1000)) == "ok"
    assert c.one(c.rec(R.swap, c.alice, "vk", 500, "bp", 0, 1, 1)) == "ok"
    assert c.vote(R.suspend_merchant, "burger-palace", "unpaid") == "ok"
    assert c.one(c.rec(R.issue, c.bp, "bp", c.alice.public_hex, 5)) == "issuer_suspended"
    assert c.one(c.rec(R.swap, c.alice, "vk", 100, "bp", 0, 1, 1)) == "issuer_suspended"
    assert c.one(c.rec(R.post_rate, c.bp, "bp", 2000)) == "issuer_suspended"
    assert c.one(c.rec(R.redeem, c.alice, "bp", 1000, "last burger")) == "ok"
    assert c.vote(R.suspend_merchant, "village-kitchen", "audit") == "ok"
    assert c.one(c.rec(R.redeem, c.alice, "vk", 100, "last meal")) == "ok"
    assert c.balance(c.alice, "vk") == 400 and c.balance(c.alice, "bp") == 4000
    assert c.vote(R.reinstate_merchant, "burger-palace") == "ok"
    assert c.one(c.rec(R.swap, c.alice, "vk", 100, "bp", 0, 1, 1)) == "ok"  # swap out of VK


def test_merchant_rotates_its_key_and_the_old_key_is_refused(alliance: Chain) -> None:
    c = alliance
    new = c.ns
    assert c.one(c.rec(R.rotate_key, c.vk, "merchant", "village-kitchen",
                       new.public_hex)) == "ok"
    assert c.one(c.rec(R.issue, c.vk, "vk", c.alice.public_hex, 5)) == "key_retired"
    assert c.one(c.rec(R.issue, new, "vk", c.alice.public_hex, 5)) == "ok"
    keys = {r["pubkey"]: r["status"] for r in c.rows("x_keys")}
    assert (keys[c.vk.public_hex], keys[new.public_hex]) == ("retired", "current")


def test_a_lost_key_is_replaced_by_member_vote(alliance: Chain) -> None:
    c = alliance
    rotate = c.rec(R.rotate_key, c.members[:3], "merchant", "burger-palace", c.ns.public_hex)
    assert c.one(rotate) == "ok"
    assert queries.merchant(c.app.view, "burger-palace")["key"] == c.ns.public_hex
    too_few = c.rec(R.rotate_key, c.members[:2], "member", "m3", c.bob.public_hex)
    assert c.one(too_few) == "threshold_not_met"
    stranger = c.rec(R.rotate_key, c.alice, "member", "m3", c.bob.public_hex)
    assert c.one(stranger) == "not_authorized"


def test_member_rotates_its_own_key(chain: Chain) -> None:
    c = chain
    assert c.one(c.rec(R.rotate_key, c.members[3], "member", "m3", c.bob.public_hex)) == "ok"
    vote = c.rec(R.suspend_member, [c.members[0], c.members[1], c.bob], "m2")
    assert c.one(vote) == "ok"
    old = c.rec(R.reinstate_member, [c.members[3], c.members[0], c.members[1]], "m2")
    assert c.one(old) == "key_retired"


def test_merchant_profile_is_readable(alliance: Chain) -> None:
    vk = queries.merchant(alliance.app.view, "village-kitchen")
    assert vk["name"] == "Village Kitchen" and vk["status"] == "active"
    assert [p["code"] for p in vk["programs"]] == ["vk"]
    assert vk["programs"][0]["name"] == "乡村基积分"
    assert [m["id"] for m in queries.merchants(alliance.app.view, "active")] == [
        "burger-palace", "village-kitchen"]


def test_a_key_that_holds_points_cannot_become_a_partys_key(alliance: Chain) -> None:
    c = alliance
    assert c.one(c.rec(R.issue, c.vk, "vk", c.alice.public_hex, 5)) == "ok"
    assert c.one(c.rec(R.apply_merchant, c.alice, "alice-tea", "Alice Tea")) == "key_in_use"
    rotate = c.rec(R.rotate_key, c.bp, "merchant", "burger-palace", c.alice.public_hex)
    assert c.one(rotate) == "key_in_use"


def test_a_suspended_merchant_cannot_change_its_program_terms(alliance: Chain) -> None:
    """Cap, transferability and accepted programs are frozen while the issuer is suspended."""
    c = alliance
    assert c.vote(R.suspend_merchant, "burger-palace", "audit") == "ok"
    before = c.snapshot()
    update = c.rec(R.update_program, c.bp, "bp", "汉堡宫积分", 10**12, True, 1, 1, 10**12,
                   ["vk"])
    assert c.one(update) == "issuer_suspended"
    assert c.snapshot() == before
    assert c.vote(R.reinstate_merchant, "burger-palace") == "ok"
    assert c.one(c.rec(R.update_program, c.bp, "bp", "汉堡宫积分", 10**12, True, 1, 1, 10**12,
                       ["vk"])) == "ok"
