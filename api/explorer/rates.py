"""The rate board: every program's posted rate, the swap ratio matrix, live promotions.

All from the committed state (programs, rates, promotions are small tables). A swap of ``x``
points of A yields ``floor(x * rate_B / rate_A)`` points of B, so the matrix shows
``rate_B / rate_A`` where B accepts A, and nothing where it does not.
"""

from __future__ import annotations

from typing import Any

from api.explorer import fmt
from api.explorer.context import Ctx, Json
from api.explorer.render import Page
from exchange import queries

#: Programs shown in the swap matrix (the board lists every program).
matrix_programs_max = 24


def live_promotions(view: Any, now: int) -> list[Json]:
    return [{"program": program, "source": source, "start_ms": p.start_ms, "end_ms": p.end_ms,
             "bonus_bp": p.bonus_bp, "record": p.record, "live": p.start_ms <= now}
            for (program, source), found in view.promotions.base.items()
            for p in found if p.end_ms > now]


def _accepts(view: Any) -> dict[str, tuple[str, ...]]:
    return {code: p.accepts for code, p in view.programs.base.items()}


def rates_page(ctx: Ctx) -> Page:
    board = ctx.read(queries.rate_board)
    accepts = ctx.read(_accepts)
    names = ctx.names
    for row in board:
        row["name"] = names.program(row["program"])
        row["issuer_name"] = names.merchant(row["issuer"])
        row["versions"] = len(row.pop("history"))
    shown = board[:matrix_programs_max]
    matrix = []
    for give in shown:
        cells = []
        for get in shown:
            accepted = give["program"] in accepts.get(get["program"], ())
            cells.append({"get": get["program"], "accepted": accepted,
                          "ratio": fmt.ratio(get["rate"], give["rate"]) if accepted else None})
        matrix.append({"give": give["program"], "cells": cells})
    promotions = ctx.read(live_promotions, ctx.now_ms())
    for p in promotions:
        p["percent"] = f"+{p['bonus_bp'] // 100}.{p['bonus_bp'] % 100:02d}%"
    data = {"as_of_ms": ctx.now_ms(), "board": board,
            "matrix": {"programs": [p["program"] for p in shown], "rows": matrix,
                       "truncated": len(board) > len(shown)},
            "promotions": promotions}
    return Page("rates.html", "Rate board", data)
