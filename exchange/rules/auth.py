"""Who may sign what: a party's current key, and member votes over a threshold.

The ledger has already verified every signature and the sequence number; here we only ask
whether the keys that signed are the ones the rules require.
"""

from __future__ import annotations

from collections.abc import Sequence

from exchange.codes import ISSUER_SUSPENDED, NOT_AUTHORIZED, SIGNERS_NOT_MEMBERS, THRESHOLD_NOT_MET
from exchange.state.env import Env
from exchange.state.model import ACTIVE, CURRENT, MEMBER, RETIRED, Merchant, Program
from exchange.state.state import State


def any_retired(s: State, signers: Sequence[str]) -> bool:
    """True when a signer's key was rotated out."""
    for key in signers:
        binding = s.keys.get(key)
        if binding is not None and binding.status == RETIRED:
            return True
    return False


def key_taken(s: State, key: str) -> bool:
    """True when ``key`` is bound to a role (member, validator, merchant or regulator; current
    or retired), or holds points as a customer.

    One key, one role: every place a key is bound (genesis, admitting a member and its
    validator, a merchant's application, a rotation) asks this first, and points only ever go
    to keys no role holds (``recipient_not_customer``), so a party's key never holds points
    that a rotation would strand.
    """
    if s.keys.get(key) is not None:
        return True
    return any(s.holdings.get((key, code)) is not None for code, _ in s.programs.items())


def signs_for_merchant(s: State, signers: Sequence[str], merchant: str) -> bool:
    """True when the record is signed by ``merchant``'s current key, alone."""
    found = s.merchants.get(merchant)
    return found is not None and _signed_alone_by(signers, found)


def _signed_alone_by(signers: Sequence[str], merchant: Merchant) -> bool:
    return len(signers) == 1 and signers[0] == merchant.pubkey


def issuer_refusal(s: State, signers: Sequence[str], program: Program) -> str | None:
    """The first issuer rule a record acting for ``program`` breaks, in check order:
    ``not_authorized`` unless its issuer's current key signed alone, then
    ``issuer_suspended`` unless that issuer is active; None when the issuer may act."""
    issuer = s.merchants.get(program.issuer)  # read once: both rules need it
    if issuer is None or not _signed_alone_by(signers, issuer):
        return NOT_AUTHORIZED
    if issuer.status != ACTIVE:
        return ISSUER_SUSPENDED
    return None


def is_active_member_key(s: State, key: str) -> bool:
    """True when ``key`` is the current key of an active member."""
    binding = s.keys.get(key)
    if binding is None or binding.kind != MEMBER or binding.status != CURRENT:
        return False
    member = s.members.get(binding.owner)
    return member is not None and member.status == ACTIVE


def active_members(s: State) -> int:
    """How many members are active, as the block sees it."""
    return sum(1 for _, member in s.members.items() if member.status == ACTIVE)


def vote(s: State, env: Env, signers: Sequence[str]) -> str | None:
    """None when every signer is an active member and they reach the threshold, else a code.

    Keys are bound to one party each and signers are distinct, so each signer is a distinct
    member.
    """
    if not all(is_active_member_key(s, key) for key in signers):
        return SIGNERS_NOT_MEMBERS
    if len(signers) < env.params.threshold(active_members(s)):
        return THRESHOLD_NOT_MET
    return None
