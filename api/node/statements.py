"""Issuer statements as the node serves them: the figures of ``exchange.statement`` plus the
heights the period spans, each with its certified header hash, so an auditor can check them
against ``jifentong verify``. Shared by the JSON route, the explorer page and the bench.
"""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any

from api.limits import statement_days_max
from api.node.problems import Problem
from api.node.runtime import Serving
from exchange.statement import FIELDS, day_of, issuer_statement, month_days
from ledger.store import Store


def period(month: str | None, start: str | None, end: str | None) -> tuple[int, int]:
    """(first day, end day) of a month or a [from, to) range; Problem 400 when malformed."""
    try:
        if month is not None and start is None and end is None:
            return month_days(month)
        if month is None and start is not None and end is not None:
            first, after = day_of(date.fromisoformat(start)), day_of(date.fromisoformat(end))
            if 0 < after - first <= statement_days_max:
                return first, after
    except ValueError:
        pass
    raise Problem(400, "period_invalid", "give month=YYYY-MM, or from and to (YYYY-MM-DD, "
                  f"from before to, at most {statement_days_max} days)")


def last_before(store: Store, time_ms: int, top: int) -> int:
    """The height of the last block (at most ``top``) whose time is before ``time_ms``."""
    low, high = 0, top  # block times never go back: binary search over heights
    while low < high:
        mid = (low + high + 1) // 2
        header = store.header(mid)
        if header is not None and header.time_ms < time_ms:
            low = mid
        else:
            high = mid - 1
    return low


def _height(store: Store, height: int) -> dict[str, Any]:
    header = store.header(height) if height else None
    return {"height": height, "header_hash": header.hash.hex() if header else None,
            "time_ms": header.time_ms if header else None}


def merchant_statement(node: Serving, merchant: str, first: int, end: int) -> dict[str, Any]:
    """The statement with the heights it spans: ``opening`` (last block before the period)
    and ``closing`` (last block in it, or the latest one for a period still running)."""
    replica = node.replica
    with replica.lock:
        found = issuer_statement(node.view, merchant, first, end)
    if found is None:
        raise Problem(404, "merchant_unknown", f"no merchant {merchant!r}")
    store, top = replica.store, found["as_of_height"]
    found["heights"] = {
        "opening": _height(store, last_before(store, found["period"]["start_ms"], top)),
        "closing": _height(store, last_before(store, found["period"]["end_ms"], top))}
    return found


CSV_COLUMNS = ("merchant", "program", "from", "to", "unit", *FIELDS, "revaluation")


def statement_rows(found: dict[str, Any]) -> list[list[Any]]:
    """The roll-forward as rows of ``CSV_COLUMNS``: per program and a total, in points and
    in fen."""
    period = found["period"]
    lines = [(p["program"], p) for p in found["programs"]] + [("total", found)]
    return [[found["merchant"], program, period["from"], period["to"],
             "points" if unit == "points" else "fen",
             *(figures[unit][name] for name in FIELDS), figures[unit].get("revaluation", 0)]
            for program, figures in lines for unit in ("points", "yuan")]


SETTLEMENT_COLUMNS = ("merchant", "from", "to", "height", "idx", "record", "date", "payer",
                      "payee", "direction", "amount_fen", "reference", "owed_before_micro",
                      "cleared_micro", "netted_micro", "payer_net_before_micro",
                      "payee_net_before_micro")
AGING_COLUMNS = ("merchant", "from", "to", "expires", "points", "value_micro", "value_fen")


def settlement_rows(found: dict[str, Any]) -> list[list[Any]]:
    """The period's settlement payments as rows of ``SETTLEMENT_COLUMNS``."""
    head = [found["merchant"], found["period"]["from"], found["period"]["to"]]
    return [head + [row[name] for name in SETTLEMENT_COLUMNS[3:]]
            for row in found["settlements"]["payments"]]


def aging_rows(found: dict[str, Any]) -> list[list[Any]]:
    """The aging at the closing height as rows of ``AGING_COLUMNS``."""
    head = [found["merchant"], found["period"]["from"], found["period"]["to"]]
    return [head + [row[name] for name in AGING_COLUMNS[3:]] for row in found["aging"]]


#: The parts of a statement as CSV: (columns, rows).
CSV_PARTS = {"rollforward": (CSV_COLUMNS, statement_rows),
             "aging": (AGING_COLUMNS, aging_rows),
             "settlements": (SETTLEMENT_COLUMNS, settlement_rows)}


def statement_csv(found: dict[str, Any], part: str = "rollforward") -> str:
    """One part of the statement as CSV text: the roll-forward (:func:`statement_rows`), the
    aging or the settlement payments."""
    columns, rows = CSV_PARTS[part]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(rows(found))
    return out.getvalue()
