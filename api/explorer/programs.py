"""Program pages: issuer, posted rate and its history, supply, flows over time, holders.

Counters and rates come from the committed state. The per-day series come from the node's
:class:`~api.explorer.cache.ProgramSeries` (folded incrementally, never a scan per request).
Holders come from :mod:`exchange.queries_holders` (the program index): the top 20, a count and a
histogram by balance decade, remembered for a few seconds per program. The holders CSV is
keyset-paginated by ``(balance desc, account)``.
"""

from __future__ import annotations

from typing import Any

from api.explorer.cache import SERIES
from api.explorer.charts import histogram, line_chart
from api.explorer.context import Ctx, Json, Missing
from api.explorer.render import Page, Rows, link
from api.limits import int_digits_max
from exchange import queries, queries_holders
from ledger.limits import page_rows_max

top_holders = 20
series_days = 30


def _code(ctx: Ctx, code: str) -> str:
    if code not in ctx.names.programs:
        raise Missing(f"no program {code[:40]!r} in this alliance", "program_unknown")
    return code


def holder_stats(ctx: Ctx, code: str) -> Json:
    """Holder count, top holders and balance histogram of one program (memoised briefly)."""
    def compute() -> Json:
        total = queries_holders.holding(ctx.conn, code)
        top = queries_holders.top_holders(ctx.conn, code, top_holders)
        buckets = queries_holders.balance_decades(ctx.conn, code)
        return {"holders": total.holders, "held": total.held, "as_of_height": ctx.height,
                "top": [{"account": h.account, "balance": h.balance} for h in top],
                "histogram": [{"digits": d.digits, "holders": d.holders} for d in buckets]}
    return ctx.cache.memo.get(("holders", code), ctx.height, compute)


def _series(ctx: Ctx, code: str) -> Json:
    cache = ctx.cache.series
    complete = cache.refresh(ctx.replica.store, ctx.height, ctx.replica.total)
    today = ctx.clock.day(ctx.now_ms())
    days = cache.series(code, today, series_days)
    return {"complete": complete, "as_of_height": max(cache.height, 0), "kinds": list(SERIES),
            "days": [{"day": ctx.clock.day_label(d), **dict(zip(
                ("issued", "redeemed", "swapped_in", "swapped_out", "expired"), v,
                strict=True))} for d, v in days]}


def _rates(view: Any, code: str) -> list[Json]:
    p = view.programs.get(code)
    last = p.pending_version or p.rate_version
    found = []
    for version in range(last, 0, -1):
        r = view.rates.get((code, version))
        if r is not None:
            found.append({"version": version, "rate": r.rate, "posted_ms": r.posted_ms,
                          "effective_ms": r.effective_ms, "record": r.record,
                          "in_effect": version == p.rate_version})
    return found


def _flows_and_promotions(view: Any, code: str, now: int) -> Json:
    inflow, outflow = [], []
    for (source, target), f in view.flows.base.items():
        row = {"swaps": f.swaps, "given": f.given, "received": f.received, "bonus": f.bonus,
               "value_micro": f.value}
        if target == code:
            inflow.append({"program": source, **row})
        elif source == code:
            outflow.append({"program": target, **row})
    promos = [{"source": source, "start_ms": p.start_ms, "end_ms": p.end_ms,
               "bonus_bp": p.bonus_bp, "record": p.record, "live": p.start_ms <= now}
              for (program, source), found in view.promotions.base.items() if program == code
              for p in found if p.end_ms > now]
    key = lambda r: -r["value_micro"]  # noqa: E731
    return {"inflow": sorted(inflow, key=key), "outflow": sorted(outflow, key=key),
            "promotions": promos}


def program_page(ctx: Ctx, code: str) -> Page:
    code = _code(ctx, code)
    program = ctx.read(queries.program, code)
    if program is None:  # pragma: no cover - the directory said it exists
        raise Missing(f"no program {code!r}", "program_unknown")
    issuer = ctx.read(queries.merchant, program["issuer"]) or {}
    issuer.pop("programs", None)
    rates = ctx.read(_rates, code)
    extra = ctx.read(_flows_and_promotions, code, ctx.now_ms())
    holders = holder_stats(ctx, code)
    for h in holders["top"]:
        h["value_micro"] = h["balance"] * program["unit_value_micro"]
        h["party"] = ctx.names.party(h["account"]).json()
    series = _series(ctx, code)
    data = {"program": program, "issuer": issuer, "rates": rates, "holders": holders,
            "series": series, **extra}
    labels = [d["day"][5:] for d in series["days"]]
    charts = {
        "flows_chart": line_chart(labels, [(name, [d[k] for d in series["days"]]) for name, k in (
            ("issued", "issued"), ("redeemed", "redeemed"), ("swapped in", "swapped_in"),
            ("swapped out", "swapped_out"), ("expired", "expired"))],
            chart_id="flows-chart", title=f"{code.upper()} points per day, last "
            f"{series_days} days", unit="points"),
        "holders_chart": histogram([(b["digits"], b["holders"]) for b in holders["histogram"]],
                                   chart_id="holders-chart",
                                   title=f"{code.upper()} holders by balance"),
    }
    return Page("program.html", f"{program['name']} ({code.upper()})", data, html=charts,
                csv=f"/programs/{code}/holders.csv")


def holder_counts(ctx: Ctx) -> dict[str, int]:
    """Holders per program, one grouped query over the program index (memoised briefly)."""
    return ctx.cache.memo.get("holder_counts", ctx.height,
                              lambda: queries_holders.holders_per_program(ctx.conn))


def programs_page(ctx: Ctx) -> Page:
    found = ctx.read(queries.programs)
    counts = holder_counts(ctx)
    for p in found:
        p["issuer_name"] = ctx.names.merchant(p["issuer"])
        p["holders"] = counts.get(p["code"], 0)
    return Page("programs.html", "Programs", {"programs": found})


def _after(text: str | None) -> tuple[int, str] | None:
    if not text:
        return None
    balance, _, account = text.partition("-")
    if not balance.isdigit() or len(balance) > int_digits_max or len(account) != 64:
        raise Missing("after must be <balance>-<account>", "invalid_parameter", 400)
    return int(balance), account


def holders_csv(ctx: Ctx, code: str) -> Rows:
    code = _code(ctx, code)
    after = _after(ctx.param("after"))
    rows = queries_holders.top_holders(ctx.conn, code, page_rows_max, after)
    unit = 1_000_000 // ctx.names.programs[code]["rate"]
    last = rows[-1] if len(rows) == page_rows_max else None
    return Rows(f"holders-{code}.csv", ("account", "balance", "value_micro"),
                [(h.account, h.balance, h.balance * unit) for h in rows],
                link(f"/programs/{code}/holders.csv", after=f"{last.balance}-{last.account}")
                if last else None)
