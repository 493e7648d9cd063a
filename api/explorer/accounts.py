"""Account pages: balances per program with their yuan value, history, points about to lapse.

Balances come from the committed state (one dict lookup per program); the history is
:func:`exchange.queries_history.account_history` (the account index), newest first,
keyset-paginated by ``(height, idx, n)``; the CSV export pages the same way with
``Link: rel=next``.
"""

from __future__ import annotations

from api.explorer.context import Ctx, Json, Missing, cursor, is_hex
from api.explorer.render import Page, Rows, link
from api.limits import height_past_all
from exchange import queries, queries_history
from exchange.limits import day_ms
from ledger.limits import page_rows_max

history_per_page = 50
expiring_days = 7
KIND_WORDS = {"issue": "earned", "redeem": "redeemed", "swap_out": "swapped out",
              "swap_in": "swapped in", "bonus": "swap bonus", "transfer_out": "gave",
              "transfer_in": "received", "expire": "expired"}


def _key(text: str) -> str:
    if not is_hex(text):
        raise Missing(f"{text[:80]!r} is not an account key (64 hex digits)", "account_not_found")
    return text


def history(ctx: Ctx, key: str, before: tuple[int, ...], limit: int) -> list[Json]:
    return [{"height": m.height, "idx": m.idx, "n": m.n, "program": m.program, "kind": m.kind,
             "what": KIND_WORDS.get(m.kind, m.kind), "delta": m.delta, "balance": m.balance,
             "record": m.record or None, "ref": m.ref}
            for m in queries_history.account_history(ctx.conn, key, before, limit)]


def _counterparty(ctx: Ctx, item: Json) -> Json | None:
    """Who or what was on the other side of a movement, for display."""
    ref = item["ref"]
    if item["kind"] in ("transfer_out", "transfer_in") and is_hex(ref):
        return ctx.names.party(ref).json()
    if item["kind"] in ("swap_out", "swap_in", "bonus") and ref in ctx.names.programs:
        return {"kind": "program", "id": ref, "name": ref.upper(), "href": f"/programs/{ref}"}
    return None


def account_page(ctx: Ctx, key: str) -> Page:
    key = _key(key)
    party = ctx.names.party(key)
    found = ctx.read(queries.balances, key)
    before = cursor(ctx.param("before"), 3) or (height_past_all, 0, 0)
    items = history(ctx, key, before, history_per_page)
    if not found["holdings"] and not items and party.kind == "customer" and (
            not queries_history.has_history(ctx.conn, key)):
        raise Missing(f"account {key} has never held points on this chain", "account_not_found")
    for item in items:
        item["counterparty"] = _counterparty(ctx, item)
    now = found["as_of_ms"]
    soon = now + expiring_days * day_ms
    holdings = []
    expiring: list[Json] = []
    for h in found["holdings"]:
        holdings.append({k: h[k] for k in ("program", "name", "issuer", "balance",
                                           "value_micro", "expiring_soon")}
                        | {"issuer_name": ctx.names.merchant(h["issuer"]),
                           "next_expiry_ms": h["lots"][0]["expires_ms"] if h["lots"] else None})
        expiring.extend({"program": h["program"], "amount": lot["amount"],
                         "expires_ms": lot["expires_ms"]}
                        for lot in h["lots"] if lot["expires_ms"] <= soon)
    expiring.sort(key=lambda e: e["expires_ms"])
    last = items[-1] if len(items) == history_per_page else None
    cursor_next = f"{last['height']}.{last['idx']}.{last['n']}" if last else None
    data = {"account": key, "party": party.json(), "as_of_ms": now,
            "value_micro": found["value_micro"], "holdings": holdings,
            "expiring": expiring, "expiring_days": expiring_days, "history": items,
            "next": link(f"/accounts/{key}", before=cursor_next) if last else None}
    return Page("account.html", f"Account {key[:12]}…", data,
                csv=f"/accounts/{key}/history.csv")


def history_csv(ctx: Ctx, key: str) -> Rows:
    key = _key(key)
    before = cursor(ctx.param("before"), 3) or (height_past_all, 0, 0)
    items = history(ctx, key, before, page_rows_max)
    last = items[-1] if len(items) == page_rows_max else None
    next_url = link(f"/accounts/{key}/history.csv",
                    before=f"{last['height']}.{last['idx']}.{last['n']}") if last else None
    return Rows(f"history-{key[:16]}.csv", ("height", "idx", "n", "program", "kind", "delta",
                                            "balance", "record", "ref"),
                [(i["height"], i["idx"], i["n"], i["program"], i["kind"], i["delta"],
                  i["balance"], i["record"] or "", i["ref"]) for i in items], next_url)
