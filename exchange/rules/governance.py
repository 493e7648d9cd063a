"""Alliance governance: members and merchants admitted, suspended, reinstated; key rotation.

Admitting, suspending or reinstating needs a vote: signatures of at least the threshold of
current active members. A merchant first applies with its profile, signed by its own key
(:mod:`exchange.rules.applications`: bounded, lapsing, rejectable).
Suspending a merchant stops its new issuing, inbound swaps and rate posts, never its
customers' points. Member changes alter the validator set from the next block.
"""

from __future__ import annotations

from exchange.codes import (
    ALLIANCE_TOO_SMALL,
    KEY_IN_USE,
    MEMBER_EXISTS,
    MEMBER_UNKNOWN,
    MERCHANT_UNKNOWN,
    NOT_AUTHORIZED,
    OK,
    PAYLOAD_MALFORMED,
    STATUS_INVALID,
    TOO_MANY_MEMBERS,
)
from exchange.limits import members_max
from exchange.rules.applications import MERCHANT_ONLY
from exchange.rules.auth import is_active_member_key, key_taken, vote
from exchange.schema import Spec, is_id, is_key, is_name, is_optional_key, is_ref, well_formed
from exchange.state.env import Env
from exchange.state.model import (
    ACTIVE,
    APPLIED,
    CURRENT,
    MEMBER,
    MERCHANT,
    RETIRED,
    SUSPENDED,
    VALIDATOR,
    KeyBinding,
    Member,
)
from exchange.state.state import State
from ledger.wire.record import Record

ADMIT_MEMBER: Spec = (("member", is_id), ("name", is_name), ("key", is_key),
                      ("validator_key", is_optional_key))
SUSPEND_MEMBER: Spec = (("member", is_id), ("reason", is_ref))
REINSTATE_MEMBER: Spec = (("member", is_id),)
SUSPEND_MERCHANT: Spec = (("merchant", is_id), ("reason", is_ref))
ROTATE_KEY: Spec = (("party", lambda v: v in (MEMBER, MERCHANT)), ("id", is_id),
                    ("new_key", is_key))


def admit_member(s: State, env: Env, rec: Record, write: bool) -> str:
    """A member vote admits a new member (and its validator, from the next block)."""
    p = rec.payload
    if not well_formed(p, ADMIT_MEMBER):
        return PAYLOAD_MALFORMED
    refused = vote(s, env, rec.signers)
    if refused:
        return refused
    if s.members.get(p["member"]) is not None:
        return MEMBER_EXISTS
    validator_key = p["validator_key"]
    if key_taken(s, p["key"]) or (validator_key is not None and (
            validator_key == p["key"] or key_taken(s, validator_key))):
        return KEY_IN_USE
    if s.members.count() >= members_max:
        return TOO_MANY_MEMBERS
    if not write:
        return OK
    s.members.put(p["member"], Member(p["member"], p["name"], p["key"], p["validator_key"],
                                      ACTIVE, env.height, env.height))
    s.keys.put(p["key"], KeyBinding(MEMBER, p["member"], CURRENT, env.height))
    if validator_key is not None:
        s.keys.put(validator_key, KeyBinding(VALIDATOR, p["member"], CURRENT, env.height))
    env.members_changed = True
    env.event("member_admitted", p["member"], p["name"])
    return OK


def suspend_member(s: State, env: Env, rec: Record, write: bool) -> str:
    """A member vote suspends a member: it no longer votes or validates."""
    p = rec.payload
    if not well_formed(p, SUSPEND_MEMBER):
        return PAYLOAD_MALFORMED
    member = s.members.get(p["member"])
    if member is None:
        return MEMBER_UNKNOWN
    refused = vote(s, env, rec.signers)
    if refused:
        return refused
    if member.status != ACTIVE:
        return STATUS_INVALID
    others = [m for _, m in s.members.items() if m.status == ACTIVE and m.id != member.id]
    if not others or (member.validator_key and not any(m.validator_key for m in others)):
        return ALLIANCE_TOO_SMALL
    if write:
        _set_member_status(s, env, member.id, SUSPENDED, "member_suspended", p["reason"])
    return OK


def reinstate_member(s: State, env: Env, rec: Record, write: bool) -> str:
    """A member vote lifts a member's suspension."""
    p = rec.payload
    if not well_formed(p, REINSTATE_MEMBER):
        return PAYLOAD_MALFORMED
    member = s.members.get(p["member"])
    if member is None:
        return MEMBER_UNKNOWN
    refused = vote(s, env, rec.signers)
    if refused:
        return refused
    if member.status != SUSPENDED:
        return STATUS_INVALID
    if write:
        _set_member_status(s, env, member.id, ACTIVE, "member_reinstated", "")
    return OK


def suspend_merchant(s: State, env: Env, rec: Record, write: bool) -> str:
    """A member vote suspends a merchant (its customers keep every point)."""
    return _merchant_status(s, env, rec, write, SUSPEND_MERCHANT, ACTIVE, SUSPENDED)


def reinstate_merchant(s: State, env: Env, rec: Record, write: bool) -> str:
    """A member vote lifts a merchant's suspension."""
    return _merchant_status(s, env, rec, write, MERCHANT_ONLY, SUSPENDED, ACTIVE)


_MERCHANT_EVENTS = {(ACTIVE, SUSPENDED): "merchant_suspended",
                    (SUSPENDED, ACTIVE): "merchant_reinstated"}


def _merchant_status(s: State, env: Env, rec: Record, write: bool, spec: Spec, before: str,
                     after: str) -> str:
    p = rec.payload
    if not well_formed(p, spec):
        return PAYLOAD_MALFORMED
    merchant = s.merchants.get(p["merchant"])
    if merchant is None:
        return MERCHANT_UNKNOWN
    refused = vote(s, env, rec.signers)
    if refused:
        return refused
    if merchant.status != before:
        return STATUS_INVALID
    if not write:
        return OK
    edited = s.merchants.edit(merchant.id)
    edited.status, edited.changed_height = after, env.height
    env.event(_MERCHANT_EVENTS[before, after], merchant.id, p.get("reason", ""))
    return OK


def rotate_key(s: State, env: Env, rec: Record, write: bool) -> str:
    """Signed by the party's current key alone, or (a lost key) by a member vote."""
    p = rec.payload
    if not well_formed(p, ROTATE_KEY):
        return PAYLOAD_MALFORMED
    table = s.members if p["party"] == MEMBER else s.merchants
    party = table.get(p["id"])
    if party is None:
        return MEMBER_UNKNOWN if p["party"] == MEMBER else MERCHANT_UNKNOWN
    signers = rec.signers
    if signers != [party.pubkey]:
        if not all(is_active_member_key(s, key) for key in signers):
            return NOT_AUTHORIZED
        refused = vote(s, env, signers)
        if refused:
            return refused
    if key_taken(s, p["new_key"]):
        return KEY_IN_USE
    if party.status == APPLIED:  # an applicant lets its application lapse and applies again
        return STATUS_INVALID
    if not write:
        return OK
    s.keys.put(party.pubkey, KeyBinding(p["party"], p["id"], RETIRED, env.height))
    s.keys.put(p["new_key"], KeyBinding(p["party"], p["id"], CURRENT, env.height))
    edited = table.edit(p["id"])
    edited.pubkey = p["new_key"]
    env.event("key_rotated", f"{p['party']}:{p['id']}", p["new_key"])
    return OK


def _set_member_status(s: State, env: Env, member: str, status: str, event: str,
                       detail: str) -> None:
    edited = s.members.edit(member)
    edited.status, edited.changed_height = status, env.height
    env.members_changed = True
    env.event(event, member, detail)
