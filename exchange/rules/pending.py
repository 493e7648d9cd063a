"""Pending points: an issue inside its program's return window, voided on a refund or vested.

A program with ``return_days`` = n > 0 holds the points of every issue pending: they are
issued (they count in the issuer's ``issued`` and against its cap) but sit in no balance, so
they can't be redeemed, swapped or transferred. Points issued on day d vest at the start of
day d + n + 1 (the customer can return the purchase through day d + n), in the first block
at or after that time, like expiry; their expiry period counts from the vesting block.

Until then the issuer may void them with ``exchange.void_issue``, naming the issue's record id
and a reason: only pending points, only its own, only once. A voided entry stays (marked) until
its window ends, so a repeated void is ``issue_already_voided``; then it is dropped.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from exchange.codes import (
    COUNTER_LIMIT_REACHED,
    ISSUE_ALREADY_VOIDED,
    ISSUE_NOT_PENDING,
    OK,
    PAYLOAD_MALFORMED,
    VOID_NOT_OWN,
)
from exchange.limits import counter_max
from exchange.rules.auth import signs_for_merchant
from exchange.rules.holdings import credit
from exchange.schema import Spec, is_ref, well_formed
from exchange.state.env import Env
from exchange.state.model import PendingIssue, Program
from exchange.state.state import State
from ledger.wire.record import Record

VEST = "vest"
_RECORD_ID = re.compile(r"[0-9a-f]{64}\Z")


def is_record_id(value: Any) -> bool:
    """A record id: 64 lowercase hex digits."""
    return type(value) is str and _RECORD_ID.match(value) is not None


VOID_ISSUE: Spec = (("issue", is_record_id), ("reason", is_ref))


def vests_ms(env: Env, program: Program) -> int:
    """When points of ``program`` issued in this block vest: the start of the day after the
    return window (day + return_days + 1)."""
    return env.params.day_start_ms(env.day + program.return_days + 1)


def hold(s: State, env: Env, account: str, program: Program, amount: int, ref: str) -> None:
    """Keep the points of the issue being executed pending (the issue's counters are the
    caller's); logged as an event, since no balance moves."""
    when = vests_ms(env, program)
    s.pending.put(env.record, PendingIssue(account, program.code, amount, when, env.height))
    s.programs.edit(program.code).pending += amount
    s.vesting.add(when, (program.code, env.record))
    env.event("issue_pending", program.code, f"{amount} to {account} until {when} {ref}")


def void_issue(s: State, env: Env, rec: Record, write: bool) -> str:
    """The issuer cancels the pending points of one of its issues (a refund)."""
    p = rec.payload
    if not well_formed(p, VOID_ISSUE):
        return PAYLOAD_MALFORMED
    held = s.pending.get(p["issue"])
    if held is None:
        return ISSUE_NOT_PENDING
    program = s.programs.get(held.program)
    if program is None or not signs_for_merchant(s, rec.signers, program.issuer):
        return VOID_NOT_OWN
    if held.void_record:
        return ISSUE_ALREADY_VOIDED
    if program.voided + held.amount > counter_max:
        return COUNTER_LIMIT_REACHED
    if not write:
        return OK
    s.pending.put(p["issue"], replace(held, void_record=rec.id))
    edited = s.programs.edit(program.code)
    edited.pending -= held.amount
    edited.voided += held.amount
    env.event("issue_voided", program.code, f"{held.amount} of {p['issue']} {p['reason']}")
    return OK


def vest_due(s: State, env: Env) -> None:
    """At the start of a block: credit every pending issue whose window has ended to its
    holder (a fresh lot, expiring from now) and drop the entries of voided ones, in
    (program, issue id) order.

    As with expiry, the order depends only on the entries, never on the index (a hint that
    may hold stale keys), so a node whose index was rebuilt reaches the same state.
    """
    now = env.time_ms
    index = s.vesting
    due: set[tuple[str, str]] = set()
    for when in index.due(now):
        due.update(index.buckets[when])
    for program_code, issue in sorted(due):
        held = s.pending.get(issue)
        if held is None or held.vests_ms > now:
            continue  # stale hint: already vested or dropped
        s.pending.put(issue, None)
        if held.void_record:
            continue
        edited = s.programs.edit(program_code)
        edited.pending -= held.amount
        edited.supply += held.amount
        credit(s, env, held.account, edited, held.amount, VEST, issue, earned=True)  # ref: issue
