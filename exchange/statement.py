"""The issuer statement: a liability roll-forward for any range of days, from the books.

Computed from the committed state alone (the ``x_books`` and ``x_dues`` rows that
:mod:`exchange.state.books` keeps under the state commitment, the programs, rates and lots), so it
is a range sum over a few rows per program, never a replay, and deterministic.

Points tie out per program and in total::

    closing = opening + issued + swapped_in + bonus - voided - redeemed - swapped_out - expired

``pending`` is the part of ``closing`` still pending (voidable) at the period's end.
``issued`` excludes promotion ``bonus``. Yuan figures are in fen: opening and closing value the
outstanding points at the posted rate in effect at each end, each movement is valued at the
rate its block ran at, and ``revaluation`` is what a posted-rate change did to the carrying
amount. Exact amounts are in µ¥; each fen figure is the step of the floored running total,
so the fen figures tie out exactly too (each within one fen of its exact value).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from typing import Any

from exchange.errors import invariant
from exchange.limits import day_ms, micro_per_fen, statement_settlements_max
from exchange.rules.pricing import unit_value
from exchange.state.books import NEVER
from exchange.state.model import Aging, Book, Program
from exchange.state.state import State

Json = dict[str, Any]
FLOWS: tuple[tuple[str, int], ...] = (
    ("issued", 1), ("swapped_in", 1), ("bonus", 1), ("voided", -1), ("redeemed", -1),
    ("swapped_out", -1), ("expired", -1))
FIELDS = ("opening", "issued", "pending", "voided", "redeemed", "swapped_in", "swapped_out",
          "bonus", "expired", "closing")
TRAILING_MONTHS = (3, 6, 12)
PENDING = "pending"  # the aging bucket of points not yet vested
_EPOCH = date(1970, 1, 1)
Rows = list[tuple[int, int, Book]]  # (day, version, book)


def day_of(d: date) -> int:
    """The day number of a calendar date in the alliance's day (``Params.day``)."""
    return (d - _EPOCH).days


def date_of(day: int) -> date:
    """The calendar date of a day number."""
    return _EPOCH + timedelta(days=day)


def month_days(month: str) -> tuple[int, int]:
    """``YYYY-MM`` -> (first day, day after the last); ValueError when malformed."""
    year, mon = (int(part) for part in month.split("-"))
    if not (len(month) == 7 and 1970 <= year <= 9999 and 1 <= mon <= 12):
        raise ValueError(f"not a month: {month!r}")
    first = date(year, mon, 1)
    after = date(year + mon // 12, mon % 12 + 1, 1)
    return day_of(first), day_of(after)


def months_back(day: int, months: int) -> int:
    """The day number ``months`` calendar months before ``day`` (clamped to month ends)."""
    d = date_of(day)
    total = d.year * 12 + d.month - 1 - months
    year, mon = divmod(total, 12)
    first = date(year, mon + 1, 1)
    return day_of(first) + min(d.day, _month_len(year, mon + 1)) - 1


def _month_len(year: int, mon: int) -> int:
    after = date(year + mon // 12, mon % 12 + 1, 1)
    return (after - date(year, mon, 1)).days


def rate_at(s: State, p: Program, time_ms: int) -> int:
    """The posted rate of ``p`` in effect at ``time_ms`` (versions that took effect only)."""
    for version in range(p.rate_version, 1, -1):
        found = s.rates.get((p.code, version))
        if found is not None and found.effective_ms <= time_ms:
            return found.rate
    first = s.rates.get((p.code, 1))
    return first.rate if first is not None else p.rate


def program_rows(s: State, codes: set[str]) -> dict[str, Rows]:
    """Every book row of the programs ``codes``, per program, in (day, version) order."""
    rows: dict[str, Rows] = defaultdict(list)
    for (code, day, version), book in s.books.all_items():
        if code in codes:
            rows[code].append((day, version, book))
    for found in rows.values():
        found.sort(key=lambda row: (row[0], row[1]))
    return rows


def rollforward(s: State, p: Program, rows: Rows, first_day: int, end_day: int,
                start_ms: int, end_ms: int) -> tuple[Json, Json]:
    """(points, µ¥) roll-forward of one program over [first_day, end_day)."""
    points = dict.fromkeys(FIELDS, 0)
    micro = dict.fromkeys(FIELDS, 0)
    for day, version, book in rows:
        if day >= end_day:
            break
        net = sum(sign * getattr(book, name) for name, sign in FLOWS)
        if day < first_day:
            points["opening"] += net
            continue
        rate = s.rates.get((p.code, version))
        unit = unit_value(rate.rate if rate is not None else p.rate)
        for name, _ in FLOWS:
            points[name] += getattr(book, name)
            micro[name] += getattr(book, name) * unit
    pending = [book.pending for day, _, book in rows if day < end_day]
    points["pending"] = pending[-1] if pending else 0
    points["closing"] = points["opening"] + sum(sign * points[name] for name, sign in FLOWS)
    unit_open = unit_value(rate_at(s, p, start_ms))
    unit_close = unit_value(rate_at(s, p, end_ms - 1))
    micro["opening"] = points["opening"] * unit_open
    micro["closing"] = points["closing"] * unit_close
    micro["pending"] = points["pending"] * unit_close
    micro["revaluation"] = micro["closing"] - micro["opening"] - sum(
        sign * micro[name] for name, sign in FLOWS)
    return points, micro


def fen(micro: Json) -> Json:
    """Fen figures of a µ¥ roll-forward, tying out exactly (steps of the floored total)."""
    out = dict.fromkeys(FIELDS, 0)
    running = micro["opening"]
    previous = out["opening"] = running // micro_per_fen
    for name, sign in FLOWS:
        running += sign * micro[name]
        current = running // micro_per_fen
        out[name] = sign * (current - previous)
        previous = current
    out["closing"] = micro["closing"] // micro_per_fen
    out["revaluation"] = out["closing"] - previous
    out["pending"] = micro["pending"] // micro_per_fen
    return out


def issuer_rollforward(s: State, merchant: str, first_day: int, end_day: int,
                       rows: dict[str, Rows] | None = None) -> Json:
    """The merchant's roll-forward over [first_day, end_day): totals and per program
    (``rows``: its programs' book rows, when the caller read them already)."""
    offset = s.param("day_offset_ms")
    start_ms, end_ms = first_day * day_ms - offset, end_day * day_ms - offset
    own = {code: p for code, p in s.programs.all_items() if p.issuer == merchant}
    if rows is None:
        rows = program_rows(s, set(own))
    total_points = dict.fromkeys(FIELDS, 0)
    total_micro = dict.fromkeys((*FIELDS, "revaluation"), 0)
    programs = []
    for code in sorted(own):
        points, micro = rollforward(s, own[code], rows.get(code, []), first_day, end_day,
                                    start_ms, end_ms)
        for name in FIELDS:
            total_points[name] += points[name]
        for name in total_micro:
            total_micro[name] += micro[name]
        programs.append({"program": code, "name": own[code].name,
                         "rate_opening": rate_at(s, own[code], start_ms),
                         "rate_closing": rate_at(s, own[code], end_ms - 1),
                         "points": points, "yuan": fen(micro), "micro": micro})
    return {"points": total_points, "yuan": fen(total_micro), "micro": total_micro,
            "programs": programs, "start_ms": start_ms, "end_ms": end_ms}


def aging(s: State, own: dict[str, Program], programs: list[Json], end_day: int,
          end_ms: int) -> list[Json]:
    """The points outstanding at the period's closing height by the month they lapse:
    ``pending`` (not yet vested), each ``YYYY-MM``, and ``never``; µ¥ at the closing rate.

    A sum of the ``x_aging`` rows before ``end_day``; per program the buckets add up to the
    closing outstanding of the roll-forward (``programs``), checked as an invariant."""
    rows = _aging_rows(s, set(own))
    buckets: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for figures in programs:
        code, points = figures["program"], figures["points"]
        unit = unit_value(rate_at(s, own[code], end_ms - 1))
        held: dict[str, int] = defaultdict(int)
        for day, lapses, row in rows.get(code, []):
            if day < end_day:
                held[lapses] += row.added - row.removed
        if points["pending"]:
            held[PENDING] += points["pending"]
        invariant(sum(held.values()) == points["closing"],
                  f"aging of {code} does not sum to its closing outstanding")
        for lapses, amount in held.items():
            if amount:
                buckets[lapses][0] += amount
                buckets[lapses][1] += amount * unit
    order = sorted(buckets, key=lambda b: (b != PENDING, b == NEVER, b))
    return [{"expires": b, "points": buckets[b][0], "value_micro": buckets[b][1],
             "value_fen": buckets[b][1] // micro_per_fen} for b in order]


def _aging_rows(s: State, codes: set[str]) -> dict[str, list[tuple[int, str, Aging]]]:
    rows: dict[str, list[tuple[int, str, Aging]]] = defaultdict(list)
    for (code, day, lapses), row in s.aging.all_items():
        if code in codes:
            rows[code].append((day, lapses, row))
    return rows


def trailing_rates(rows: dict[str, Rows], end_day: int) -> list[Json]:
    """Redemption, expiry and breakage rates (basis points of the points that vested) over
    the trailing 3, 6 and 12 months to ``end_day`` (``rows``: the merchant's programs' book
    rows): the inputs of a breakage estimate."""
    earliest = months_back(end_day, max(TRAILING_MONTHS))
    recent = [row for found in rows.values() for row in found if earliest <= row[0] < end_day]
    out = []
    for months in TRAILING_MONTHS:
        first = months_back(end_day, months)
        sums = dict.fromkeys(("vested", "redeemed", "expired", "swapped_out", "voided"), 0)
        for day, _, book in recent:
            if first <= day:
                for name in sums:
                    sums[name] += getattr(book, name)
        vested = sums["vested"]
        out.append({"months": months, "from": date_of(first).isoformat(), **sums,
                    "redemption_bp": sums["redeemed"] * 10_000 // vested if vested else 0,
                    "expiry_bp": sums["expired"] * 10_000 // vested if vested else 0,
                    "breakage_bp": sums["expired"] * 10_000 // vested if vested else 0})
    return out


def obligations(s: State, merchant: str, first_day: int, end_day: int) -> list[Json]:
    """Per other issuer: swap obligations accrued and settlements made in the period, both
    ways, and the net owed at its end (> 0: the other issuer owes this one), in µ¥."""
    fields = ("receivable", "payable", "received", "paid", "net_opening", "net_closing")
    found: dict[str, Json] = {}
    for (debtor, creditor, day), due in s.dues.all_items():
        if merchant not in (debtor, creditor) or day >= end_day:
            continue
        other = creditor if debtor == merchant else debtor
        row = found.setdefault(other, dict.fromkeys(fields, 0))
        owed = due.accrued - due.settled  # owed by debtor to creditor
        sign = 1 if creditor == merchant else -1
        if day < first_day:
            row["net_opening"] += sign * owed
            continue
        if sign > 0:
            row["receivable"] += due.accrued
            row["received"] += due.settled
        else:
            row["payable"] += due.accrued
            row["paid"] += due.settled
    out = []
    for other in sorted(found):
        row = found[other]
        row["net_closing"] = (row["net_opening"] + row["receivable"] - row["received"]
                              - row["payable"] + row["paid"])
        out.append({"counterparty": other, **{f"{k}_micro": v for k, v in row.items()}})
    return out


def settlements(s: State, merchant: str, first_day: int, end_day: int) -> Json:
    """Each settlement payment the merchant made or received in the period, in chain order,
    at most ``statement_settlements_max`` (``truncated`` says more were made; ``count`` is
    how many). ``cleared_micro`` is the part that paid the payer's own obligation to the
    payee; ``netted_micro`` the rest, which clears obligations to or from other issuers
    through multilateral netting (the payer's debts elsewhere, the payee's claims elsewhere).
    """
    found = sorted(((key, row) for key, row in s.settlements.all_items()
                    if merchant in (row.payer, row.payee) and first_day <= row.day < end_day),
                   key=lambda pair: pair[0])
    listed = []
    for (height, idx), row in found[:statement_settlements_max]:
        amount = row.amount_fen * micro_per_fen
        cleared = max(0, min(amount, row.owed_before))
        listed.append({
            "height": height, "idx": idx, "record": row.record,
            "date": date_of(row.day).isoformat(), "payer": row.payer, "payee": row.payee,
            "direction": "paid" if row.payer == merchant else "received",
            "amount_fen": row.amount_fen, "reference": row.reference,
            "owed_before_micro": row.owed_before, "cleared_micro": cleared,
            "netted_micro": amount - cleared,
            "payer_net_before_micro": row.payer_net_before,
            "payee_net_before_micro": row.payee_net_before})
    return {"count": len(found), "truncated": len(found) > len(listed), "payments": listed}


def issuer_statement(s: State, merchant: str, first_day: int, end_day: int) -> Json | None:
    """The statement of ``merchant`` for days [first_day, end_day); None when unknown.

    Every figure is as of the period's closing height (the last block before its end, or the
    latest block, ``as_of_height``, while it runs), the aging included.
    """
    found = s.merchants.get(merchant)
    if found is None:
        return None
    own = {code: p for code, p in s.programs.all_items() if p.issuer == merchant}
    rows = program_rows(s, set(own))
    books = issuer_rollforward(s, merchant, first_day, end_day, rows)
    start_ms, end_ms = books.pop("start_ms"), books.pop("end_ms")
    return {"merchant": merchant, "name": found.name,
            "period": {"from": date_of(first_day).isoformat(),
                       "to": date_of(end_day).isoformat(), "first_day": first_day,
                       "end_day": end_day, "start_ms": start_ms, "end_ms": end_ms},
            "as_of_height": s.param("last_height"), "as_of_ms": s.param("last_time_ms"),
            **books, "aging": aging(s, own, books["programs"], end_day, end_ms),
            "rates": trailing_rates(rows, end_day),
            "obligations": obligations(s, merchant, first_day, end_day),
            "settlements": settlements(s, merchant, first_day, end_day)}


def district_rollforward(s: State, first_day: int, end_day: int) -> Json:
    """The roll-forward of every issuer and of the whole district over [first_day, end_day)."""
    issuers = []
    points = dict.fromkeys(FIELDS, 0)
    micro = dict.fromkeys((*FIELDS, "revaluation"), 0)
    for mid, _ in s.merchants.items():
        books = issuer_rollforward(s, mid, first_day, end_day)
        issuers.append({"merchant": mid, "points": books["points"], "yuan": books["yuan"]})
        for name in FIELDS:
            points[name] += books["points"][name]
        for name in micro:
            micro[name] += books["micro"][name]
    return {"from": date_of(first_day).isoformat(), "to": date_of(end_day).isoformat(),
            "issuers": issuers, "district": {"points": points, "yuan": fen(micro)}}
