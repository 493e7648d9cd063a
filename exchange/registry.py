"""Every record type declared once: its name, body builder, payload spec and handler.

``exchange.app`` judges a record by looking its type up here; the docs tests read the same
entries, so a type cannot have a handler without a builder or a documented payload. Adding a
record type means one :class:`RecordType` line below (plus its builder in
:mod:`exchange.records` and its handler and Spec in a :mod:`exchange.rules` module).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from exchange import records
from exchange.records import Body
from exchange.rules import (
    applications,
    governance,
    offers,
    pending,
    points,
    programs,
    rates,
    settlement,
    swap,
)
from exchange.schema import Spec
from exchange.state.env import Env
from exchange.state.state import State
from ledger.wire.record import Record

#: ``handler(state, env, record, write)``: ``ok`` or the first rule the record breaks; with
#: ``write``, apply it when ok.
Handler = Callable[[State, Env, Record, bool], str]


@dataclass(frozen=True, slots=True)
class RecordType:
    """One record type: what builds its body, what its payload holds, what judges it."""

    name: str  # the body's ``type``, e.g. ``exchange.issue``
    builder: Callable[..., Body]
    payload: Spec
    handler: Handler


REGISTRY: dict[str, RecordType] = {t.name: t for t in (
    RecordType(records.ADMIT_MEMBER, records.admit_member, governance.ADMIT_MEMBER,
               governance.admit_member),
    RecordType(records.SUSPEND_MEMBER, records.suspend_member, governance.SUSPEND_MEMBER,
               governance.suspend_member),
    RecordType(records.REINSTATE_MEMBER, records.reinstate_member, governance.REINSTATE_MEMBER,
               governance.reinstate_member),
    RecordType(records.APPLY_MERCHANT, records.apply_merchant, applications.APPLY_MERCHANT,
               applications.apply_merchant),
    RecordType(records.ADMIT_MERCHANT, records.admit_merchant, applications.MERCHANT_ONLY,
               applications.admit_merchant),
    RecordType(records.REJECT_MERCHANT, records.reject_merchant, applications.REJECT_MERCHANT,
               applications.reject_merchant),
    RecordType(records.SUSPEND_MERCHANT, records.suspend_merchant, governance.SUSPEND_MERCHANT,
               governance.suspend_merchant),
    RecordType(records.REINSTATE_MERCHANT, records.reinstate_merchant,
               applications.MERCHANT_ONLY, governance.reinstate_merchant),
    RecordType(records.ROTATE_KEY, records.rotate_key, governance.ROTATE_KEY,
               governance.rotate_key),
    RecordType(records.CREATE_PROGRAM, records.create_program, programs.CREATE,
               programs.create_program),
    RecordType(records.UPDATE_PROGRAM, records.update_program, programs.UPDATE,
               programs.update_program),
    RecordType(records.POST_RATE, records.post_rate, rates.POST_RATE, rates.post_rate),
    RecordType(records.PROMOTE, records.promote, programs.PROMOTE, programs.promote),
    RecordType(records.ISSUE, records.issue, points.ISSUE, points.issue),
    RecordType(records.TRANSFER, records.transfer, points.TRANSFER, points.transfer),
    RecordType(records.REDEEM, records.redeem, points.REDEEM, points.redeem),
    RecordType(records.SWAP, records.swap, swap.SWAP, swap.swap),
    RecordType(records.SETTLE, records.settle, settlement.SETTLE, settlement.settle),
    RecordType(records.OFFER, records.offer, offers.OFFER, offers.publish),
    RecordType(records.WITHDRAW_OFFER, records.withdraw_offer, offers.WITHDRAW_OFFER,
               offers.withdraw),
    RecordType(records.VOID_ISSUE, records.void_issue, pending.VOID_ISSUE, pending.void_issue),
)}

#: The record types, in the order declared above.
TYPES: tuple[str, ...] = tuple(REGISTRY)
