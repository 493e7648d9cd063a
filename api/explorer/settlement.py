"""Settlement: the obligations matrix between issuers, net positions with the payments that
would clear them, and the settlements recorded on chain (keyset by event).

Obligations and positions are small state tables (issuers squared at most); settled history
is :func:`exchange.queries_history.settlement_events`, read backwards by primary key, a page
at a time.
"""

from __future__ import annotations

from api.explorer.context import Ctx, Json, cursor
from api.explorer.effects import event_words
from api.explorer.render import Page, link
from exchange import queries, queries_history

#: Issuers shown in the matrix (the full list of pairs is in the JSON twin).
matrix_issuers_max = 24
settlements_per_page = 50


def settled(ctx: Ctx, before: tuple[int, ...], limit: int) -> list[Json]:
    out = []
    for e in queries_history.settlement_events(ctx.conn, before, limit):
        payer, _, payee = e.subject.partition("->")
        fen = e.detail.split(" ", 1)[0]
        out.append({"height": e.height, "idx": e.idx, "n": e.n, "payer": payer, "payee": payee,
                    "amount_micro": int(fen) * 10_000 if fen.isdigit() else None,
                    "reference": e.detail.partition(" fen ")[2], "record": e.record,
                    "words": event_words(ctx.names, "settled", e.subject, e.detail).json()})
    return out


def settlement_page(ctx: Ctx) -> Page:
    gross = ctx.read(queries.obligations)
    statement = ctx.read(queries.statement)
    names = ctx.names
    issuers = sorted({o["debtor"] for o in gross["matrix"]} | {o["creditor"] for o in
                                                               gross["matrix"]})
    shown = issuers[:matrix_issuers_max]
    owed = {(o["debtor"], o["creditor"]): o for o in gross["matrix"]}
    rows = []
    for debtor in shown:
        cells = []
        for creditor in shown:
            o = owed.get((debtor, creditor))
            cells.append(None if o is None else {
                "creditor": creditor, "accrued_micro": o["accrued_micro"],
                "settled_micro": o["settled_micro"],
                "outstanding_micro": o["accrued_micro"] - o["settled_micro"]})
        rows.append({"debtor": debtor, "cells": cells})
    for p in statement["positions"]:
        p["name"] = names.merchant(p["merchant"])
    for p in statement["payments"]:
        p["payer_name"], p["payee_name"] = names.merchant(p["payer"]), names.merchant(p["payee"])
    before = cursor(ctx.param("before"), 3) or (2**53, 0, 0)
    history = settled(ctx, before, settlements_per_page)
    last = history[-1] if len(history) == settlements_per_page else None
    data = {"as_of_ms": statement["as_of_ms"], "obligations": gross["matrix"],
            "matrix": {"issuers": shown, "names": {i: names.merchant(i) for i in shown},
                       "rows": rows, "truncated": len(issuers) > len(shown)},
            "positions": statement["positions"], "payments": statement["payments"],
            "settled": history,
            "next": link("/settlement", before=f"{last['height']}.{last['idx']}.{last['n']}")
            if last else None}
    return Page("settlement.html", "Settlement", data)
