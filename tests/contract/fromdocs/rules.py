"""STATE.md §5: the rows each record type writes (the record is committed, so it was valid)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .points import (
    MICRO,
    Context,
    add_points,
    as_int,
    as_str,
    present,
    swap_terms,
    take_points,
)
from .tables import Row

Payload = dict[str, Any]
Handler = Callable[[Context, Payload, list[str]], None]


def param(ctx: Context, name: str) -> int:
    """An x_params value."""
    row = present(ctx.tables.get("x_params", (name,)), "row")
    return as_int(row["value"])


def set_status(ctx: Context, table: str, ident: str, status: str) -> None:
    """Member or merchant status change at this height."""
    row = present(ctx.tables.get(table, (ident,)), "row")
    row.update(status=status, changed_height=ctx.height)
    ctx.tables.put(table, row)


def bind_key(ctx: Context, key: str, kind: str, owner: str) -> None:
    """An x_keys row, current from this height."""
    ctx.tables.put("x_keys", {"pubkey": key, "kind": kind, "owner": owner,
                              "status": "current", "height": ctx.height})


def admit_member(ctx: Context, p: Payload, signers: list[str]) -> None:
    ctx.tables.put("x_members", {
        "id": p["member"], "name": p["name"], "pubkey": p["key"],
        "validator_key": p["validator_key"], "status": "active",
        "since_height": ctx.height, "changed_height": ctx.height})
    bind_key(ctx, p["key"], "member", p["member"])
    if p["validator_key"] is not None:
        bind_key(ctx, p["validator_key"], "validator", p["member"])
    ctx.event("member_admitted", p["member"], p["name"])


def member_status(status: str, kind: str, detail: str | None) -> Handler:
    def handle(ctx: Context, p: Payload, signers: list[str]) -> None:
        set_status(ctx, "x_members", p["member"], status)
        ctx.event(kind, p["member"], p[detail] if detail else "")
    return handle


def merchant_status(status: str, kind: str, detail: str | None) -> Handler:
    def handle(ctx: Context, p: Payload, signers: list[str]) -> None:
        set_status(ctx, "x_merchants", p["merchant"], status)
        ctx.event(kind, p["merchant"], p[detail] if detail else "")
    return handle


def apply_merchant(ctx: Context, p: Payload, signers: list[str]) -> None:
    profile = ("name", "description", "category", "area", "address", "contact")
    ctx.tables.put("x_merchants", {
        "id": p["merchant"], **{k: p[k] for k in profile}, "pubkey": signers[0],
        "status": "applied", "applied_height": ctx.height, "changed_height": ctx.height})
    bind_key(ctx, signers[0], "merchant", p["merchant"])
    ctx.tables.put("x_applications", {
        "merchant": p["merchant"], "lapses_ms": ctx.time + param(ctx, "application_ttl_ms")})
    ctx.event("merchant_applied", p["merchant"], p["name"])


def admit_merchant(ctx: Context, p: Payload, signers: list[str]) -> None:
    ctx.tables.delete("x_applications", (p["merchant"],))
    set_status(ctx, "x_merchants", p["merchant"], "active")
    ctx.event("merchant_admitted", p["merchant"], "")


def drop_applicant(ctx: Context, merchant: str) -> None:
    """The applicant's key, merchant and application rows deleted (reject, lapse)."""
    row = present(ctx.tables.get("x_merchants", (merchant,)), "row")
    ctx.tables.delete("x_keys", (row["pubkey"],))
    ctx.tables.delete("x_merchants", (merchant,))
    ctx.tables.delete("x_applications", (merchant,))


def reject_merchant(ctx: Context, p: Payload, signers: list[str]) -> None:
    drop_applicant(ctx, p["merchant"])
    ctx.event("merchant_rejected", p["merchant"], p["reason"])


def rotate_key(ctx: Context, p: Payload, signers: list[str]) -> None:
    table = "x_members" if p["party"] == "member" else "x_merchants"
    party = present(ctx.tables.get(table, (p["id"],)), "party")
    old = present(ctx.tables.get("x_keys", (party["pubkey"],)), "old")
    old.update(status="retired", height=ctx.height)
    ctx.tables.put("x_keys", old)
    bind_key(ctx, p["new_key"], p["party"], p["id"])
    party["pubkey"] = p["new_key"]
    ctx.tables.put(table, party)
    ctx.event("key_rotated", f"{p['party']}:{p['id']}", p["new_key"])


def create_program(ctx: Context, p: Payload, signers: list[str]) -> None:
    counters = ("supply", "issued", "promoted", "redeemed", "swapped_in", "swapped_out",
                "expired", "pending", "voided")
    ctx.tables.put("x_programs", {
        "code": p["program"], "name": p["name"], "issuer": p["merchant"], "rate": p["rate"],
        "rate_version": 1, "pending_rate": None, "pending_version": None, "pending_ms": None,
        "expiry_days": p["expiry_days"], "cap": p["cap"],
        "transferable": 1 if p["transferable"] else 0, "min_in": p["min_in"],
        "step_in": p["step_in"], "daily_in_cap": p["daily_in_cap"],
        "accepts": ",".join(sorted(p["accepts"])), "created_height": ctx.height,
        "return_days": p["return_days"], **dict.fromkeys(counters, 0)})
    ctx.tables.put("x_rates", {
        "program": p["program"], "version": 1, "rate": p["rate"], "posted_ms": ctx.time,
        "effective_ms": ctx.time, "height": ctx.height, "record": ctx.record})
    ctx.event("program_created", p["program"], p["name"])


def update_program(ctx: Context, p: Payload, signers: list[str]) -> None:
    row = ctx.program(p["program"])
    row.update(name=p["name"], cap=p["cap"], transferable=1 if p["transferable"] else 0,
               min_in=p["min_in"], step_in=p["step_in"], daily_in_cap=p["daily_in_cap"],
               accepts=",".join(sorted(p["accepts"])))
    ctx.tables.put("x_programs", row)
    ctx.event("program_updated", p["program"], p["name"])


def post_rate(ctx: Context, p: Payload, signers: list[str]) -> None:
    row = ctx.program(p["program"])
    version = as_int(row["rate_version"]) + 1
    effective = ctx.time + param(ctx, "rate_notice_ms")
    row.update(pending_rate=p["rate"], pending_version=version, pending_ms=effective)
    ctx.tables.put("x_programs", row)
    ctx.tables.put("x_rates", {
        "program": p["program"], "version": version, "rate": p["rate"], "posted_ms": ctx.time,
        "effective_ms": effective, "height": ctx.height, "record": ctx.record})
    ctx.event("rate_posted", p["program"], f"v{version} {p['rate']}/yuan from {effective}")


def promote(ctx: Context, p: Payload, signers: list[str]) -> None:
    for row in ctx.tables.select("x_promotions"):
        if (row["program"], row["source"]) == (p["program"], p["source"]) and \
                as_int(row["end_ms"]) <= ctx.time:
            ctx.tables.delete("x_promotions", (row["program"], row["source"], row["start_ms"]))
    ctx.tables.put("x_promotions", {
        "program": p["program"], "source": p["source"], "start_ms": p["start_ms"],
        "end_ms": p["end_ms"], "bonus_bp": p["bonus_bp"], "height": ctx.height,
        "record": ctx.record})
    ctx.event("promotion", p["program"],
              f"from {p['source']} +{p['bonus_bp']}bp [{p['start_ms']}, {p['end_ms']})")


def issue(ctx: Context, p: Payload, signers: list[str]) -> None:
    row = ctx.program(p["program"])
    amount: int = p["amount"]
    days = as_int(row["return_days"])
    if days == 0:
        ctx.bump(row, issued=amount, supply=amount)
        ctx.tables.put("x_programs", row)
        add_points(ctx, p["to"], p["program"], [(ctx.lot_expiry(row), amount)], amount,
                   "issue", p["ref"])
        return
    ctx.bump(row, issued=amount, pending=amount)
    ctx.tables.put("x_programs", row)
    vests = ctx.day_start(ctx.day + days + 1)
    ctx.tables.put("x_pending", {
        "issue": ctx.record, "account": p["to"], "program": p["program"], "amount": amount,
        "vests_ms": vests, "height": ctx.height, "void_record": ""})
    ctx.event("issue_pending", p["program"], f"{amount} to {p['to']} until {vests} {p['ref']}")


def transfer(ctx: Context, p: Payload, signers: list[str]) -> None:
    parts, earned = take_points(ctx, signers[0], p["program"], p["amount"], "transfer_out",
                                p["to"])
    add_points(ctx, p["to"], p["program"], parts, earned, "transfer_in", signers[0])


def redeem(ctx: Context, p: Payload, signers: list[str]) -> None:
    row = ctx.program(p["program"])
    ctx.bump(row, supply=-p["amount"], redeemed=p["amount"])
    ctx.tables.put("x_programs", row)
    take_points(ctx, signers[0], p["program"], p["amount"], "redeem", p["order"])


def position(ctx: Context, merchant: str, **deltas: int) -> None:
    """x_positions row (created with zeros), net recomputed."""
    row = ctx.tables.get("x_positions", (merchant,)) or {
        "merchant": merchant, "receivable": 0, "payable": 0, "paid": 0, "received": 0,
        "net": 0}
    ctx.bump(row, **deltas)
    row["net"] = (as_int(row["receivable"]) - as_int(row["payable"]) + as_int(row["paid"])
                  - as_int(row["received"]))
    ctx.tables.put("x_positions", row)


def obligation(ctx: Context, debtor: str, creditor: str, accrued: int, settled: int) -> None:
    """x_obligations row (created with zeros)."""
    row = ctx.tables.get("x_obligations", (debtor, creditor)) or {
        "debtor": debtor, "creditor": creditor, "accrued": 0, "settled": 0}
    ctx.bump(row, accrued=accrued, settled=settled)
    ctx.tables.put("x_obligations", row)


def swap(ctx: Context, p: Payload, signers: list[str]) -> None:
    holder, give_code, get_code = signers[0], p["give"], p["get"]
    give, get = ctx.program(give_code), ctx.program(get_code)
    terms = swap_terms(ctx, holder, give, get, p["amount"])
    out = terms.base + terms.bonus
    ctx.bump(give, supply=-terms.taken, swapped_out=terms.taken)
    ctx.tables.put("x_programs", give)
    ctx.bump(get, supply=out, swapped_in=terms.base, issued=terms.bonus, promoted=terms.bonus)
    ctx.tables.put("x_programs", get)
    parts, _ = take_points(ctx, holder, give_code, terms.taken, "swap_out", get_code)
    lots = [e for e, _ in parts if e is not None]
    own = ctx.lot_expiry(get)
    expiry = (min(own, min(lots)) if own is not None else min(lots)) if lots else own
    add_points(ctx, holder, get_code, [(expiry, terms.base)], 0, "swap_in", give_code)
    if terms.bonus:
        add_points(ctx, holder, get_code, [(expiry, terms.bonus)], 0, "bonus", give_code)
    inbound = ctx.tables.get("x_inbound", (get_code,))
    before = as_int(inbound["amount"]) if inbound and inbound["day"] == ctx.day else 0
    ctx.tables.put("x_inbound", {"program": get_code, "day": ctx.day, "amount": before + out})
    minted = terms.base * MICRO // terms.get_rate
    flow = ctx.tables.get("x_flows", (give_code, get_code)) or {
        "source": give_code, "target": get_code, "swaps": 0, "given": 0, "received": 0,
        "bonus": 0, "value": 0}
    ctx.bump(flow, swaps=1, given=terms.taken, received=terms.base, bonus=terms.bonus,
             value=minted)
    ctx.tables.put("x_flows", flow)
    debtor, creditor = as_str(give["issuer"]), as_str(get["issuer"])
    if debtor != creditor:
        obligation(ctx, debtor, creditor, minted, 0)
        position(ctx, debtor, payable=minted)
        position(ctx, creditor, receivable=minted)
    ctx.tables.append("x_swaps", {
        "height": ctx.height, "idx": ctx.idx, "record": ctx.record, "holder": holder,
        "give": give_code, "get": get_code, "taken": terms.taken, "base": terms.base,
        "bonus": terms.bonus, "out": out, "give_version": give["rate_version"],
        "get_version": get["rate_version"], "give_rate": terms.give_rate,
        "get_rate": terms.get_rate, "value_burned": terms.taken * MICRO // terms.give_rate,
        "value_minted": minted, "bonus_value": terms.bonus * MICRO // terms.get_rate})


def owed(ctx: Context, debtor: str, creditor: str) -> int:
    """accrued − settled of x_obligations (debtor, creditor); 0 when there is no row."""
    row = ctx.tables.get("x_obligations", (debtor, creditor))
    return as_int(row["accrued"]) - as_int(row["settled"]) if row else 0


def net(ctx: Context, merchant: str) -> int:
    """The merchant's x_positions net; 0 when it has no row."""
    row = ctx.tables.get("x_positions", (merchant,))
    return as_int(row["net"]) if row else 0


def settle(ctx: Context, p: Payload, signers: list[str]) -> None:
    amount = p["amount_fen"] * 10_000
    payer, payee = p["payer"], p["payee"]
    ctx.tables.put("x_settlements", {
        "height": ctx.height, "idx": ctx.idx, "record": ctx.record, "day": ctx.day,
        "payer": payer, "payee": payee, "amount_fen": p["amount_fen"],
        "reference": p["reference"],
        "owed_before": owed(ctx, payer, payee) - owed(ctx, payee, payer),
        "payer_net_before": net(ctx, payer), "payee_net_before": net(ctx, payee)})
    position(ctx, p["payer"], paid=amount)
    position(ctx, p["payee"], received=amount)
    obligation(ctx, p["payer"], p["payee"], 0, amount)
    ctx.event("settled", f"{p['payer']}->{p['payee']}", f"{p['amount_fen']} fen {p['reference']}")


def drop_ended_offers(ctx: Context, code: str) -> None:
    """The program's offers with valid_until_ms ≤ t are deleted."""
    for row in ctx.tables.select("x_offers"):
        if row["program"] == code and as_int(row["valid_until_ms"]) <= ctx.time:
            ctx.tables.delete("x_offers", (code, row["offer"]))


def offer(ctx: Context, p: Payload, signers: list[str]) -> None:
    drop_ended_offers(ctx, p["program"])
    ctx.tables.put("x_offers", {
        "program": p["program"], "offer": p["offer"], "item": p["item"], "price": p["price"],
        "area": p["area"], "valid_from_ms": p["valid_from_ms"],
        "valid_until_ms": p["valid_until_ms"], "height": ctx.height, "record": ctx.record})
    ctx.event("offer_published", p["program"], f"{p['offer']} {p['price']} {p['item']}")


def withdraw_offer(ctx: Context, p: Payload, signers: list[str]) -> None:
    ctx.tables.delete("x_offers", (p["program"], p["offer"]))
    drop_ended_offers(ctx, p["program"])
    ctx.event("offer_withdrawn", p["program"], p["offer"])


def void_issue(ctx: Context, p: Payload, signers: list[str]) -> None:
    pending = present(ctx.tables.get("x_pending", (p["issue"],)), "pending")
    pending["void_record"] = ctx.record
    ctx.tables.put("x_pending", pending)
    row: Row = ctx.program(as_str(pending["program"]))
    amount = as_int(pending["amount"])
    ctx.bump(row, pending=-amount, voided=amount)
    ctx.tables.put("x_programs", row)
    ctx.event("issue_voided", as_str(pending["program"]), f"{amount} of {p['issue']} {p['reason']}")


HANDLERS: dict[str, Handler] = {
    "alliance.admit_member": admit_member,
    "alliance.suspend_member": member_status("suspended", "member_suspended", "reason"),
    "alliance.reinstate_member": member_status("active", "member_reinstated", None),
    "alliance.apply_merchant": apply_merchant,
    "alliance.admit_merchant": admit_merchant,
    "alliance.reject_merchant": reject_merchant,
    "alliance.suspend_merchant": merchant_status("suspended", "merchant_suspended", "reason"),
    "alliance.reinstate_merchant": merchant_status("active", "merchant_reinstated", None),
    "alliance.rotate_key": rotate_key,
    "exchange.create_program": create_program,
    "exchange.update_program": update_program,
    "exchange.post_rate": post_rate,
    "exchange.promote": promote,
    "exchange.issue": issue,
    "exchange.transfer": transfer,
    "exchange.redeem": redeem,
    "exchange.swap": swap,
    "exchange.settle": settle,
    "exchange.offer": offer,
    "exchange.withdraw_offer": withdraw_offer,
    "exchange.void_issue": void_issue,
}
