"""The home page: chain head, validators, headline figures, records per day, recent activity.

Records per day come from the node's :class:`~api.explorer.cache.ChainDays` (block headers read
incrementally); the count of distinct holders (:func:`exchange.queries_holders.holders_total`)
is remembered for a few seconds; recent blocks and records are ``ORDER BY ... DESC LIMIT`` on
primary keys.
"""

from __future__ import annotations

from typing import Any

from api.explorer.alliance import validator_status
from api.explorer.blocks import recent_blocks
from api.explorer.charts import bar_chart
from api.explorer.context import Ctx, Json
from api.explorer.records import recent_records
from api.explorer.render import Page
from exchange import queries_holders

chart_days = 30
recent_max = 10


def _figures(ctx: Ctx) -> Json:
    def compute() -> Json:
        holders = queries_holders.holders_total(ctx.conn)

        def from_state(view: Any) -> Json:
            programs = view.programs.base.values()
            return {"programs": len(programs),
                    "merchants": sum(1 for m in view.merchants.base.values()
                                     if m.status == "active"),
                    "members": sum(1 for m in view.members.base.values()
                                   if m.status == "active"),
                    "liability_micro": sum(p.supply * (1_000_000 // p.rate) for p in programs)}
        return {**ctx.read(from_state), "holders": holders}
    return ctx.cache.memo.get("figures", ctx.height, compute, ttl_s=10.0)


def home_page(ctx: Ctx) -> Page:
    replica = ctx.replica
    days = ctx.cache.days
    days.refresh(ctx.conn, ctx.height)
    today = ctx.clock.day(ctx.now_ms())
    per_day = days.series(today, chart_days)
    figures = {**_figures(ctx), "records": replica.total, "blocks": ctx.height,
               "records_today": per_day[-1][1]}
    data = {
        "chain": {"chain": replica.chain, "height": ctx.height, "head": replica.head_hash.hex(),
                  "time": replica.time_ms, "records": replica.total,
                  "state": replica.state.hex(), "mempool": ctx.node.mempool_depth(),
                  "genesis": ctx.node.genesis.hash.hex()},
        "validators": validator_status(ctx),
        "figures": figures,
        "records_per_day": [{"day": ctx.clock.day_label(d), "records": n} for d, n in per_day],
        "recent_blocks": recent_blocks(ctx, ctx.height + 1, recent_max),
        "recent_records": recent_records(ctx, (ctx.height + 1, 0), recent_max),
    }
    chart = bar_chart([(ctx.clock.day_label(d)[5:], n) for d, n in per_day],
                      chart_id="records-chart", title=f"Records per day, last {chart_days} days",
                      unit="records")
    return Page("home.html", "Chain overview", data, html={"records_chart": chart})
