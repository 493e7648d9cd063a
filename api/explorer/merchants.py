"""Merchant (issuer) pages: profile, programs, liability, settlement position, admission votes.

The votes come from the merchant's events (:func:`exchange.queries_history.subject_events`,
indexed) and each event's record, found by id (indexed): its signers are the members who
voted.
"""

from __future__ import annotations

import json
from typing import Any

from api.explorer.context import Ctx, Json, Missing
from api.explorer.render import Page
from exchange import queries, queries_history

events_per_merchant = 50


def votes(ctx: Ctx, record_id: str) -> list[Json]:
    """The parties who signed record ``record_id`` (members, for a vote)."""
    row = ctx.one("SELECT body FROM records WHERE id = ?", (record_id,))
    if row is None:
        return []
    return [ctx.names.party(k).json() for k in json.loads(row[0]).get("signers", [])]


def lifecycle(ctx: Ctx, merchant_id: str) -> list[Json]:
    """Application, admission, suspensions: with the record and who signed it."""
    events = queries_history.subject_events(ctx.conn, merchant_id, events_per_merchant)
    return [{"height": e.height, "idx": e.idx, "kind": e.kind, "detail": e.detail,
             "record": e.record or None, "signers": votes(ctx, e.record) if e.record else []}
            for e in events if e.kind.startswith("merchant_")]


def _obligations(view: Any, merchant_id: str) -> Json:
    owes, owed = [], []
    for (debtor, creditor), o in view.obligations.base.items():
        row = {"accrued_micro": o.accrued, "settled_micro": o.settled,
               "outstanding_micro": o.accrued - o.settled}
        if debtor == merchant_id:
            owes.append({"merchant": creditor, **row})
        elif creditor == merchant_id:
            owed.append({"merchant": debtor, **row})
    return {"owes": owes, "owed": owed}


def merchant_page(ctx: Ctx, merchant_id: str) -> Page:
    found = ctx.read(queries.merchant, merchant_id) if len(merchant_id) <= 40 else None
    if found is None:
        raise Missing(f"no merchant {merchant_id[:40]!r} in this alliance", "merchant_unknown")
    position = next((p for p in ctx.read(queries.obligations)["positions"]
                     if p["merchant"] == merchant_id), None)
    debts = ctx.read(_obligations, merchant_id)
    for side in debts.values():
        for row in side:
            row["name"] = ctx.names.merchant(row["merchant"])
    data = {"merchant": found, "position": position, **debts,
            "lifecycle": lifecycle(ctx, merchant_id),
            "statement": f"/merchants/{merchant_id}/statements/{ctx.clock.date(ctx.now_ms())[:7]}"}
    return Page("merchant.html", found["name"], data)
