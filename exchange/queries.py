"""Read-side queries for the API and explorer: pure functions over the committed state.

Pass ``app.view`` (the read-only committed state). Every result is plain dicts and lists of
ints and strings; money is in micro-yuan (``*_micro``) unless a name says fen.
"""

from __future__ import annotations

from typing import Any

from exchange.codes import AMOUNT_INVALID, OK, PROGRAM_UNKNOWN, SAME_PROGRAM
from exchange.limits import amount_max, day_ms, micro_per_fen
from exchange.rules.holdings import balance
from exchange.rules.offers import cheapest_swap
from exchange.rules.pricing import unit_value, value
from exchange.rules.settlement import net_positions
from exchange.rules.swap import price_swap
from exchange.state.model import Member, Merchant, Offer, Program
from exchange.state.state import State
from exchange.state.tables import program_row
from exchange.statement import date_of, district_rollforward, month_days

Json = dict[str, Any]


def status(s: State) -> Json:
    """Height and time of the last committed block, and the genesis parameters."""
    return {name: value for name, value in s.params.items()}


def members(s: State) -> list[Json]:
    """Every member, in id order, with the current governance threshold."""
    found = [_member(m) for _, m in s.members.items()]
    active = sum(1 for m in found if m["status"] == "active")
    threshold = max(1, (active * s.param("member_quorum_percent") + 99) // 100)
    for m in found:
        m["threshold"] = threshold
    return found


def merchants(s: State, status: str | None = None, after: str = "",
              limit: int | None = None) -> list[Json]:
    """Every merchant (or those of one status) whose id sorts after ``after``, in id order,
    at most ``limit``; a pending application carries ``lapses_ms``."""
    found = []
    for mid, m in s.merchants.items():
        if mid > after and status in (None, m.status):
            found.append(_merchant(m, s.applications.get(mid)))
            if limit is not None and len(found) == limit:
                break
    return found


def merchant(s: State, merchant_id: str) -> Json | None:
    """One merchant's profile, programs, liability and settlement position."""
    found = s.merchants.get(merchant_id)
    if found is None:
        return None
    own = [_program(p) for _, p in s.programs.items() if p.issuer == merchant_id]
    position = s.positions.get(merchant_id)
    return {**_merchant(found, s.applications.get(merchant_id)), "programs": own,
            "liability_micro": sum(p["liability_micro"] for p in own),
            "net_position_micro": position.net if position else 0}


def programs(s: State, issuer: str | None = None, after: str = "",
             limit: int | None = None) -> list[Json]:
    """Every program (or one issuer's) whose code sorts after ``after``, in code order, at
    most ``limit``, with value and liability."""
    found = []
    for code, p in s.programs.items():
        if code > after and issuer in (None, p.issuer):
            found.append(_program(p))
            if limit is not None and len(found) == limit:
                break
    return found


def program(s: State, code: str) -> Json | None:
    """One program, with value and liability; None when unknown."""
    found = s.programs.get(code)
    return _program(found) if found is not None else None


def pending_points(s: State, account: str) -> list[Json]:
    """An account's pending (not yet spendable, voidable) issues, by vesting time."""
    found = []
    for issue, held in s.pending.all_items():
        if held.account == account and not held.void_record:
            p = s.programs.get(held.program)
            found.append({"issue": issue, "program": held.program, "amount": held.amount,
                          "vests_ms": held.vests_ms,
                          "value_micro": value(held.amount, p.rate) if p else 0})
    return sorted(found, key=lambda e: (e["vests_ms"], e["issue"]))


def balances(s: State, account: str, soon_ms: int = 7 * day_ms) -> Json:
    """An account's holdings: points, yuan value, lots and what lapses within ``soon_ms``;
    ``pending`` lists issues still in their return window (shown, not spendable, not in
    ``value_micro``)."""
    now = s.param("last_time_ms")
    holdings, total = [], 0
    for code, p in s.programs.items():
        held = s.holdings.get((account, code))
        if held is None:
            continue
        worth = value(held[0], p.rate)
        total += worth
        holdings.append({
            "program": code, "name": p.name, "issuer": p.issuer, "balance": held[0],
            "value_micro": worth, "earned": held[2],
            "lots": [{"expires_ms": t, "amount": a} for t, a in held[1]],
            "expiring_soon": sum(a for t, a in held[1] if t <= now + soon_ms)})
    return {"account": account, "as_of_ms": now, "holdings": holdings, "value_micro": total,
            "pending": pending_points(s, account)}


def quote(s: State, give: str, amount: int, get: str, holder: str | None = None,
          now_ms: int | None = None) -> Json:
    """What a swap would yield now at the rates in effect, or the code that would refuse it."""
    now = s.param("last_time_ms") if now_ms is None else now_ms
    if not 0 < amount <= amount_max:
        return {"code": AMOUNT_INVALID}
    a, b = s.programs.get(give), s.programs.get(get)
    if a is None or b is None:
        return {"code": PROGRAM_UNKNOWN}
    if a.code == b.code:
        return {"code": SAME_PROGRAM}
    day = (now + s.param("day_offset_ms")) // day_ms
    plan = price_swap(s, now, day, holder, a, b, amount, 0, a.rate_version, b.rate_version)
    if isinstance(plan, str):
        return {"code": plan, "give": give, "get": get, "amount": amount}
    return {"code": OK, "give": give, "get": get, "amount": amount,
            "give_version": a.rate_version, "get_version": b.rate_version,
            "give_rate": a.rate, "get_rate": plan.rate_get, "taken": plan.taken, "base": plan.base,
            "bonus": plan.bonus, "out": plan.out,
            "bonus_bp": plan.promotion.bonus_bp if plan.promotion else 0,
            "promotion_end_ms": plan.promotion.end_ms if plan.promotion else None,
            "value_micro": plan.value_minted, "value_burned_micro": plan.value_burned}


def offers(s: State, program: str | None = None, area: str | None = None,
           now_ms: int | None = None) -> list[Json]:
    """Live offers (of one program, in one area), by area, then yuan value, then price."""
    now = s.param("last_time_ms") if now_ms is None else now_ms
    found = [_offer(p, o) for p, o in _live_offers(s, program, now) if area in (None, o.area)]
    return sorted(found, key=_nearest(None))


def offers_for(s: State, account: str, area: str | None = None,
               now_ms: int | None = None) -> list[Json]:
    """Every live offer ``account`` can pay for, ``direct`` or ``after_swap``, nearest first.

    ``direct``: it holds at least the price. ``after_swap``: one swap of a program it holds
    (the one burning the least value, then the first by code) tops it up to the price;
    ``swap`` is the record to sign (``amount``, ``min_out`` and the rate versions). Offers in
    ``area`` come first, then the other areas alphabetically (no area last), then by value.
    """
    now = s.param("last_time_ms") if now_ms is None else now_ms
    day = (now + s.param("day_offset_ms")) // day_ms
    held = [p for _, p in s.programs.items() if balance(s, account, p.code)]
    found = []
    for program, offer in _live_offers(s, None, now):
        have = balance(s, account, program.code)
        row = {**_offer(program, offer), "held": have}
        if have >= offer.price:
            found.append({**row, "pay": "direct", "swap": None})
            continue
        plans = [plan for give in held if give.code != program.code
                 if (plan := cheapest_swap(s, now, day, account, give, program,
                                           offer.price - have)) is not None]
        if plans:
            plan = min(plans, key=lambda x: (x.value_burned, x.give.code))
            found.append({**row, "pay": "after_swap", "swap": {
                "give": plan.give.code, "amount": plan.taken, "get": program.code,
                "min_out": offer.price - have, "out": plan.out, "bonus": plan.bonus,
                "give_version": plan.give.rate_version, "get_version": program.rate_version,
                "give_rate": plan.give.rate, "get_rate": plan.rate_get,
                "value_burned_micro": plan.value_burned}})
    return sorted(found, key=_nearest(area))


def _live_offers(s: State, program: str | None, now: int) -> list[tuple[Program, Offer]]:
    codes = [program] if program is not None else [code for code, _ in s.offers.items()]
    found: list[tuple[Program, Offer]] = []
    for code in codes:
        p = s.programs.get(code)
        if p is not None:
            found.extend((p, o) for o in s.offers.get(code) or () if o.live(now))
    return found


def _nearest(area: str | None) -> Any:
    def key(o: Json) -> tuple[Any, ...]:
        rank = 0 if o["area"] == area else 1 if o["area"] else 2
        return rank, o["area"], o["value_micro"], o["price"], o["program"], o["offer"]
    return key


def _offer(p: Program, o: Offer) -> Json:
    return {"program": p.code, "offer": o.id, "issuer": p.issuer, "item": o.item,
            "price": o.price, "value_micro": value(o.price, p.rate), "area": o.area,
            "valid_from_ms": o.valid_from_ms, "valid_until_ms": o.valid_until_ms,
            "height": o.height, "record": o.record}


def rate_board(s: State) -> list[Json]:
    """Per program: the rate in effect, the pending one (if any) and the full history."""
    board = []
    for code, p in s.programs.items():
        last = p.pending_version or p.rate_version
        history = []
        for version in range(1, last + 1):
            r = s.rates.get((code, version))
            if r is not None:
                history.append({"version": version, "rate": r.rate, "posted_ms": r.posted_ms,
                                "effective_ms": r.effective_ms, "record": r.record})
        pending = None if p.pending_version is None else {
            "version": p.pending_version, "rate": p.pending_rate, "effective_ms": p.pending_ms}
        board.append({"program": code, "issuer": p.issuer, "rate": p.rate,
                      "version": p.rate_version, "unit_value_micro": unit_value(p.rate),
                      "pending": pending, "history": history})
    return board


def obligations(s: State) -> Json:
    """Gross obligations between issuers (accrued by swaps, settled by payments) and positions."""
    matrix = [{"debtor": d, "creditor": c, "accrued_micro": o.accrued,
               "settled_micro": o.settled} for (d, c), o in s.obligations.items()]
    return {"matrix": matrix, "positions": _positions(s)}


def statement(s: State) -> Json:
    """The settlement statement: positions netted multilaterally into the fewest payments."""
    payments = net_positions(dict(s.positions.items()))
    return {"as_of_ms": s.param("last_time_ms"), "positions": _positions(s),
            "payments": [{"payer": p.payer, "payee": p.payee, "amount_micro": p.amount_micro,
                          "amount_fen": p.amount_fen} for p in payments
                         if p.amount_micro >= micro_per_fen]}


def regulator_report(s: State, month: str | None = None) -> Json:
    """Per issuer: points issued, redeemed, expired, swapped in/out; liability vs cap; flows;
    and ``books``, the liability roll-forward of every issuer and of the district for
    ``month`` (YYYY-MM; default: the month of the last block)."""
    issuers = []
    for mid, m in s.merchants.items():
        own = [_program(p) for _, p in s.programs.items() if p.issuer == mid]
        position = s.positions.get(mid)
        issuers.append({"merchant": mid, "name": m.name, "status": m.status, "programs": own,
                        "liability_micro": sum(p["liability_micro"] for p in own),
                        "cap_value_micro": sum(p["cap_value_micro"] for p in own),
                        "net_position_micro": position.net if position else 0})
    flows = [{"source": src, "target": dst, "swaps": f.swaps, "given": f.given,
              "received": f.received, "bonus": f.bonus, "value_micro": f.value}
             for (src, dst), f in s.flows.items()]
    if month is None:
        today = (s.param("last_time_ms") + s.param("day_offset_ms")) // day_ms
        month = date_of(today).strftime("%Y-%m")
    return {"as_of_ms": s.param("last_time_ms"), "issuers": issuers, "flows": flows,
            "positions": _positions(s), "statement": statement(s)["payments"],
            "books": {"month": month, **district_rollforward(s, *month_days(month))}}


def _positions(s: State) -> list[Json]:
    return [{"merchant": mid, "receivable_micro": p.receivable, "payable_micro": p.payable,
             "paid_micro": p.paid, "received_micro": p.received, "net_micro": p.net}
            for mid, p in s.positions.items()]


def _member(m: Member) -> Json:
    return {"id": m.id, "name": m.name, "key": m.pubkey, "validator_key": m.validator_key,
            "status": m.status, "since_height": m.since_height}


def _merchant(m: Merchant, lapses_ms: int | None = None) -> Json:
    found = {"id": m.id, "name": m.name, "description": m.description,
             "category": m.category, "area": m.area, "address": m.address,
             "contact": m.contact, "key": m.pubkey, "status": m.status,
             "applied_height": m.applied_height}
    if lapses_ms is not None:
        found["lapses_ms"] = lapses_ms
    return found


def _program(p: Program) -> Json:
    row = program_row(p.code, p)
    row["transferable"] = p.transferable
    row["accepts"] = list(p.accepts)
    row["unit_value_micro"] = unit_value(p.rate)
    row["liability_micro"] = value(p.supply, p.rate)
    row["cap_value_micro"] = value(p.cap, p.rate)
    return row
