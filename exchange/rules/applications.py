"""Merchant applications: bounded, lapsing, and rejectable by a member vote.

Anyone can apply with a fresh key, so applications must not be able to fill the alliance:
at most ``applications_max`` wait at once (``too_many_applications``), each lapses
``application_ttl_ms`` after the block that took it (at the start of the first block at or
after that time, like expiry), and members may reject one by vote. A lapsed or rejected
application leaves nothing behind in the state: its merchant row, its key binding and its
``applications`` row are deleted, so the id and the key may apply again. Pending
applications never count against ``merchants_max``, which bounds admitted merchants only.
"""

from __future__ import annotations

from exchange.codes import (
    KEY_IN_USE,
    MERCHANT_EXISTS,
    MERCHANT_UNKNOWN,
    NOT_AUTHORIZED,
    OK,
    PAYLOAD_MALFORMED,
    STATUS_INVALID,
    TOO_MANY_APPLICATIONS,
    TOO_MANY_MERCHANTS,
)
from exchange.errors import InvariantViolation
from exchange.limits import applications_max, merchants_max
from exchange.rules.auth import key_taken, vote
from exchange.schema import Spec, is_id, is_name, is_ref, is_text, well_formed
from exchange.state.env import Env
from exchange.state.model import ACTIVE, APPLIED, CURRENT, MERCHANT, KeyBinding, Merchant
from exchange.state.state import State
from ledger.wire.record import Record

APPLY_MERCHANT: Spec = (("merchant", is_id), ("name", is_name), ("description", is_text),
                        ("category", is_ref), ("area", is_ref), ("address", is_text),
                        ("contact", is_ref))
MERCHANT_ONLY: Spec = (("merchant", is_id),)
REJECT_MERCHANT: Spec = (("merchant", is_id), ("reason", is_ref))


def admitted_merchants(s: State) -> int:
    """Active and suspended merchants: every merchant that is not a pending application."""
    return s.merchants.count() - s.applications.count()


def apply_merchant(s: State, env: Env, rec: Record, write: bool) -> str:
    """A merchant applies with its profile, signed by the key it will use."""
    p = rec.payload
    if not well_formed(p, APPLY_MERCHANT):
        return PAYLOAD_MALFORMED
    if len(rec.signers) != 1:
        return NOT_AUTHORIZED
    if s.merchants.get(p["merchant"]) is not None:
        return MERCHANT_EXISTS
    key = rec.signers[0]
    if key_taken(s, key):
        return KEY_IN_USE
    if s.applications.count() >= applications_max:
        return TOO_MANY_APPLICATIONS
    if not write:
        return OK
    s.merchants.put(p["merchant"], Merchant(
        p["merchant"], p["name"], p["description"], p["category"], p["area"], p["address"],
        p["contact"], key, APPLIED, env.height, env.height))
    s.keys.put(key, KeyBinding(MERCHANT, p["merchant"], CURRENT, env.height))
    s.applications.put(p["merchant"], env.time_ms + env.params.application_ttl_ms)
    env.event("merchant_applied", p["merchant"], p["name"])
    return OK


def admit_merchant(s: State, env: Env, rec: Record, write: bool) -> str:
    """A member vote admits an applicant merchant, if the alliance has room for it."""
    p = rec.payload
    merchant, refused = _pending(s, env, rec, MERCHANT_ONLY)
    if refused:
        return refused
    if admitted_merchants(s) >= merchants_max:
        return TOO_MANY_MERCHANTS
    if not write:
        return OK
    s.applications.put(p["merchant"], None)
    edited = s.merchants.edit(merchant)
    edited.status, edited.changed_height = ACTIVE, env.height
    env.event("merchant_admitted", merchant, "")
    return OK


def reject_merchant(s: State, env: Env, rec: Record, write: bool) -> str:
    """A member vote rejects a pending application: it is removed, id and key freed."""
    merchant, refused = _pending(s, env, rec, REJECT_MERCHANT)
    if refused:
        return refused
    if write:
        _remove(s, merchant)
        env.event("merchant_rejected", merchant, rec.payload["reason"])
    return OK


def _pending(s: State, env: Env, rec: Record, spec: Spec) -> tuple[str, str]:
    """(merchant id, "") when ``rec`` is a well-formed passing vote on a pending
    application, else ("", the first code it breaks)."""
    p = rec.payload
    if not well_formed(p, spec):
        return "", PAYLOAD_MALFORMED
    found = s.merchants.get(p["merchant"])
    if found is None:
        return "", MERCHANT_UNKNOWN
    refused = vote(s, env, rec.signers)
    if refused:
        return "", refused
    if found.status != APPLIED:
        return "", STATUS_INVALID
    return found.id, ""


def lapse_applications(s: State, env: Env) -> None:
    """At the start of a block: remove every application whose lifetime is over, in id
    order (at most ``applications_max`` rows are read)."""
    now = env.time_ms
    if not s.applications.base and not s.applications.work:
        return
    for merchant, lapses_ms in s.applications.items():
        if lapses_ms <= now:
            _remove(s, merchant)
            env.event("merchant_lapsed", merchant, "")


def _remove(s: State, merchant: str) -> None:
    found = s.merchants.get(merchant)
    if found is None or found.status != APPLIED:
        raise InvariantViolation(f"application {merchant} has no applied merchant")
    s.keys.put(found.pubkey, None)
    s.merchants.put(merchant, None)
    s.applications.put(merchant, None)
