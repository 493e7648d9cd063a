"""A merchant's statement for one month: the liability roll-forward in points and yuan, its
programs, aging, trailing rates and obligations, and the certified heights it spans.

The figures are the JSON API's (``api.server.routers.statements``); this page lays them out and
links the months before and after. ``.json`` is the same statement; ``.csv`` its rows.
"""

from __future__ import annotations

from api.explorer.context import Ctx, Json, Missing
from api.explorer.render import Page, Rows
from api.node.problems import Problem
from api.node.statements import CSV_COLUMNS, merchant_statement, statement_rows
from exchange.statement import date_of, month_days

#: The roll-forward's lines, in order: (field, label, sign shown).
LINES = (("opening", "Opening outstanding", ""), ("issued", "Issued", "+"),
         ("swapped_in", "Swapped in", "+"), ("bonus", "Promotion bonus", "+"),
         ("voided", "Voided (refunds)", "−"), ("redeemed", "Redeemed", "−"),
         ("swapped_out", "Swapped out", "−"), ("expired", "Expired", "−"),
         ("revaluation", "Revaluation (posted rate changes)", "±"),
         ("closing", "Closing outstanding", "="), ("pending", "of which pending", ""))


def _statement(ctx: Ctx, merchant_id: str, month: str) -> Json:
    try:
        first, end = month_days(month)
    except ValueError:
        raise Missing(f"{month[:16]!r} is not a month (YYYY-MM)", "period_invalid", 400) from None
    try:
        found = merchant_statement(ctx.node, merchant_id[:40], first, end)
    except Problem as exc:
        raise Missing(exc.detail, exc.code, exc.status) from None
    found["months"] = {"previous": date_of(first - 1).strftime("%Y-%m"),
                       "next": date_of(end).strftime("%Y-%m")}
    return found


def statement_page(ctx: Ctx, merchant_id: str, month: str) -> Page:
    found = _statement(ctx, merchant_id, month)
    html = {"lines": LINES}
    return Page("statement.html", f"{found['name']} — statement {month}", found, html=html,
                csv=f"/merchants/{merchant_id}/statements/{month}.csv")


def statement_csv(ctx: Ctx, merchant_id: str, month: str) -> Rows:
    found = _statement(ctx, merchant_id, month)
    return Rows(f"{merchant_id}-{month}.csv", CSV_COLUMNS, statement_rows(found))
