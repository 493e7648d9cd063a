"""``statement_ms``: one merchant's statement for one month on the bench's district.

The statement is what ``GET /v1/merchants/{id}/statement`` answers (figures from the committed
state plus the certified heights from the store): range sums over the merchant's ``x_books``,
``x_aging`` and ``x_dues`` rows and its settlement payments, never a scan of records or
balances. The figure is the median of a few runs for the merchant with the most book rows, for
the month of the last block.
"""

from __future__ import annotations

import statistics
import time

from api.node.runtime import Node
from api.node.statements import merchant_statement
from exchange.statement import date_of, month_days

statement_runs = 5


def statement_ms(node: Node) -> float:
    """Median milliseconds to compute one merchant-month statement on ``node``."""
    view = node.view
    issuers: dict[str, int] = {}
    for (code, _, _), _ in view.books.all_items():
        program = view.programs.get(code)
        if program is not None:
            issuers[program.issuer] = issuers.get(program.issuer, 0) + 1
    merchant = max(sorted(issuers), key=lambda m: issuers[m]) if issuers else None
    if merchant is None:
        merchant = view.merchants.items()[0][0]
    today = (view.param("last_time_ms") + view.param("day_offset_ms")) // 86_400_000
    first, end = month_days(date_of(today).strftime("%Y-%m"))
    times = []
    for _ in range(statement_runs):
        start = time.perf_counter()
        merchant_statement(node, merchant, first, end)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)
