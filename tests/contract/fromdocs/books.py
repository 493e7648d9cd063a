"""STATE.md §4 step 6: the derived rows of x_books, x_dues and x_aging."""

from __future__ import annotations

import datetime

from .points import DAY_MS, Context, as_int, as_str
from .tables import Key, Row, Tables

COUNTERS = ("supply", "issued", "promoted", "redeemed", "swapped_in", "swapped_out", "expired",
            "pending", "voided")
EPOCH = datetime.date(1970, 1, 1)


def books(ctx: Context) -> None:
    """Step 6: x_books per program whose counters moved, x_dues per moved obligation."""
    tables, day = ctx.tables, ctx.day
    for key in tables.touched("x_programs"):
        new = tables.get("x_programs", key)
        if new is None:
            continue
        old: Row = tables.committed("x_programs", key) or dict.fromkeys(COUNTERS, 0)
        delta = {c: as_int(new[c]) - as_int(old[c]) for c in COUNTERS}
        if not any(delta.values()):
            continue
        book_key = (new["code"], day, new["rate_version"])
        book = tables.get("x_books", book_key) or {
            "program": new["code"], "day": day, "version": new["rate_version"], "issued": 0,
            "bonus": 0, "voided": 0, "redeemed": 0, "swapped_in": 0, "swapped_out": 0,
            "expired": 0, "vested": 0, "pending": 0}
        ctx.bump(book, issued=delta["issued"] - delta["promoted"], bonus=delta["promoted"],
                 voided=delta["voided"], redeemed=delta["redeemed"],
                 swapped_in=delta["swapped_in"], swapped_out=delta["swapped_out"],
                 expired=delta["expired"],
                 vested=delta["supply"] + delta["redeemed"] + delta["swapped_out"]
                 + delta["expired"])
        book["pending"] = new["pending"]
        tables.put("x_books", book)
    for key in tables.touched("x_obligations"):
        now = tables.get("x_obligations", key)
        if now is None:
            continue
        was = tables.committed("x_obligations", key) or {"accrued": 0, "settled": 0}
        accrued = as_int(now["accrued"]) - as_int(was["accrued"])
        settled = as_int(now["settled"]) - as_int(was["settled"])
        if accrued or settled:
            dues = tables.get("x_dues", (*key, day)) or {
                "debtor": key[0], "creditor": key[1], "day": day, "accrued": 0, "settled": 0}
            ctx.bump(dues, accrued=accrued, settled=settled)
            tables.put("x_dues", dues)


def lapse_month(ctx: Context, expires_ms: int) -> str:
    """`YYYY-MM` of the alliance day a lot lapses: the day number of its `expires_ms`."""
    day = (expires_ms + ctx.day_offset_ms) // DAY_MS
    return (EPOCH + datetime.timedelta(days=day)).strftime("%Y-%m")


def buckets(ctx: Context, balance: Row | None, lots: list[Row]) -> dict[str, int]:
    """One holding's points by lapse month, the rest under `never`; none when deleted."""
    if balance is None:
        return {}
    split: dict[str, int] = {}
    for lot in lots:
        month = lapse_month(ctx, as_int(lot["expires_ms"]))
        split[month] = split.get(month, 0) + as_int(lot["amount"])
    rest = as_int(balance["balance"]) - sum(split.values())
    if rest:
        split["never"] = rest
    return split


def holding_lots(tables: Tables, holdings: set[Key]) -> tuple[dict[Key, list[Row]],
                                                            dict[Key, list[Row]]]:
    """The lots of each holding now and as the previous block left them."""
    now: dict[Key, list[Row]] = {h: [] for h in holdings}
    was: dict[Key, list[Row]] = {h: [] for h in holdings}
    for lot in tables.select("x_lots"):
        if (owner := (lot["account"], lot["program"])) in now:
            now[owner].append(lot)
    touched = set(tables.touched("x_lots"))
    for holding, lots in now.items():
        was[holding] = [lot for lot in lots
                        if (lot["account"], lot["program"], lot["expires_ms"]) not in touched]
    for key in touched:
        old = tables.committed("x_lots", key)
        if old is not None and key[:2] in was:
            was[key[:2]].append(old)
    return now, was


def aging(ctx: Context) -> None:
    """Step 6, last: each changed holding's points by lapse month, netted per (program, bucket)."""
    tables, day = ctx.tables, ctx.day
    holdings = set(tables.touched("x_balances")) | {k[:2] for k in tables.touched("x_lots")}
    now, was = holding_lots(tables, holdings)
    change: dict[tuple[str, str], int] = {}
    for holding in holdings:
        after = buckets(ctx, tables.get("x_balances", holding), now[holding])
        before = buckets(ctx, tables.committed("x_balances", holding), was[holding])
        code = as_str(holding[1])
        for bucket in after.keys() | before.keys():
            delta = after.get(bucket, 0) - before.get(bucket, 0)
            change[(code, bucket)] = change.get((code, bucket), 0) + delta
    for (code, bucket), delta in sorted(change.items()):
        if not delta:
            continue
        row = tables.get("x_aging", (code, day, bucket)) or {
            "program": code, "day": day, "lapses": bucket, "added": 0, "removed": 0}
        if delta > 0:
            ctx.bump(row, added=delta)
        else:
            ctx.bump(row, removed=-delta)
        tables.put("x_aging", row)
