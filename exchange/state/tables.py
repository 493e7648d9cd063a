"""The derived SQLite tables: their specs, rows from the state, and the state from rows.

``state_rows`` gives a restore table's rows in the committed state (APP-7);
``restore_state`` rebuilds the committed state from the stored rows of every ``restore``
table, so a restarted node continues exactly where it stopped. A block's changes to these
rows come from :mod:`exchange.state.changes`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from operator import itemgetter
from typing import Any

from exchange.state.books import BOOK_PLAIN, BOOK_SPECS
from exchange.state.env import EVENTS, HISTORY, SWAPS
from exchange.state.expiry import rebuild_vesting
from exchange.state.model import (
    Flow,
    KeyBinding,
    Member,
    Merchant,
    Obligation,
    Offer,
    Position,
    Program,
    Promotion,
    RateVersion,
)
from exchange.state.state import State
from ledger.application import Row, TableSpec, Values

S, N = str, int
BALANCES, LOTS = "x_balances", "x_lots"
_N = {"height": N, "idx": N, "n": N}


def _spec(name: str, pk: tuple[str, ...], columns: dict[str, type], restore: bool = True,
          indexes: tuple[tuple[str, ...], ...] = ()) -> TableSpec:
    return TableSpec(name, columns, pk, indexes, restore)


PROGRAM_COLUMNS: dict[str, type] = {
    "code": S, "name": S, "issuer": S, "rate": N, "rate_version": N, "pending_rate": N,
    "pending_version": N, "pending_ms": N, "expiry_days": N, "cap": N, "transferable": N,
    "min_in": N, "step_in": N, "daily_in_cap": N, "accepts": S, "created_height": N,
    "supply": N, "issued": N, "promoted": N, "redeemed": N, "swapped_in": N, "swapped_out": N,
    "expired": N, "return_days": N, "pending": N, "voided": N}

OFFER_COLUMNS: dict[str, type] = {
    "program": S, "offer": S, "item": S, "price": N, "area": S, "valid_from_ms": N,
    "valid_until_ms": N, "height": N, "record": S}

SPECS: tuple[TableSpec, ...] = (
    _spec("x_params", ("name",), {"name": S, "value": N}),
    _spec("x_regulator", ("id",), {"id": S, "name": S, "pubkey": S}),
    _spec("x_members", ("id",), {"id": S, "name": S, "pubkey": S, "validator_key": S,
                                 "status": S, "since_height": N, "changed_height": N}),
    _spec("x_merchants", ("id",), {"id": S, "name": S, "description": S, "category": S,
                                   "area": S, "address": S, "contact": S, "pubkey": S,
                                   "status": S, "applied_height": N, "changed_height": N}),
    _spec("x_applications", ("merchant",), {"merchant": S, "lapses_ms": N}),
    _spec("x_keys", ("pubkey",), {"pubkey": S, "kind": S, "owner": S, "status": S,
                                  "height": N}, indexes=(("owner",),)),
    _spec("x_programs", ("code",), PROGRAM_COLUMNS, indexes=(("issuer",),)),
    _spec("x_rates", ("program", "version"), {"program": S, "version": N, "rate": N,
                                              "posted_ms": N, "effective_ms": N, "height": N,
                                              "record": S}),
    _spec("x_promotions", ("program", "source", "start_ms"), {
        "program": S, "source": S, "start_ms": N, "end_ms": N, "bonus_bp": N, "height": N,
        "record": S}),
    _spec("x_balances", ("account", "program"), {"account": S, "program": S, "balance": N,
                                                 "earned": N}, indexes=(("program",),)),
    _spec("x_lots", ("account", "program", "expires_ms"), {
        "account": S, "program": S, "expires_ms": N, "amount": N}, indexes=(("expires_ms",),)),
    _spec("x_inbound", ("program",), {"program": S, "day": N, "amount": N}),
    _spec("x_flows", ("source", "target"), {"source": S, "target": S, "swaps": N, "given": N,
                                            "received": N, "bonus": N, "value": N}),
    _spec("x_obligations", ("debtor", "creditor"), {"debtor": S, "creditor": S,
                                                    "accrued": N, "settled": N}),
    _spec("x_positions", ("merchant",), {"merchant": S, "receivable": N, "payable": N,
                                         "paid": N, "received": N, "net": N}),
    _spec("x_offers", ("program", "offer"), OFFER_COLUMNS),
    _spec(HISTORY, ("height", "idx", "n"), {**_N, "account": S, "program": S, "kind": S,
                                            "delta": N, "balance": N, "record": S, "ref": S},
          restore=False, indexes=(("account",), ("program",))),
    _spec(SWAPS, ("height", "idx"), {
        "height": N, "idx": N, "record": S, "holder": S, "give": S, "get": S, "taken": N,
        "base": N, "bonus": N, "out": N, "give_version": N, "get_version": N, "give_rate": N,
        "get_rate": N, "value_burned": N, "value_minted": N, "bonus_value": N},
          restore=False, indexes=(("holder",),)),
    _spec(EVENTS, ("height", "idx", "n"), {**_N, "kind": S, "subject": S, "detail": S,
                                           "record": S}, restore=False,
          indexes=(("subject",),)),
    *BOOK_SPECS,
)
SPEC_BY_NAME = {spec.name: spec for spec in SPECS}
#: A row built as {column: value} -> its values in the table's column order (a Change's row).
VALUES_OF = {spec.name: itemgetter(*spec.columns) for spec in SPECS}


def as_row(table: str, values: Values) -> Row:
    """A Change's row of ``table`` as {column: value}, as the store gives it back."""
    return dict(zip(SPEC_BY_NAME[table].columns, values, strict=True))


def program_row(code: str, p: Program) -> Row:
    """The stored row of a program."""
    return {"code": code, "name": p.name, "issuer": p.issuer, "rate": p.rate,
            "rate_version": p.rate_version, "pending_rate": p.pending_rate,
            "pending_version": p.pending_version, "pending_ms": p.pending_ms,
            "expiry_days": p.expiry_days, "cap": p.cap, "transferable": int(p.transferable),
            "min_in": p.min_in, "step_in": p.step_in, "daily_in_cap": p.daily_in_cap,
            "accepts": ",".join(p.accepts), "created_height": p.created_height,
            "supply": p.supply, "issued": p.issued, "promoted": p.promoted,
            "redeemed": p.redeemed, "swapped_in": p.swapped_in, "swapped_out": p.swapped_out,
            "expired": p.expired, "return_days": p.return_days, "pending": p.pending,
            "voided": p.voided}


def _program_from(row: Row) -> tuple[str, Program]:
    fields = {k: row[k] for k in PROGRAM_COLUMNS}
    fields["transferable"] = bool(row["transferable"])
    fields["accepts"] = tuple(row["accepts"].split(",")) if row["accepts"] else ()
    return row["code"], Program(**fields)


ToRow = Callable[[Any, Any], Row]
FromRow = Callable[[Row], tuple[Any, Any]]

# table attribute -> (SQL table, row of (key, value), (key, value) of row)
PLAIN: tuple[tuple[str, str, ToRow, FromRow], ...] = (
    ("params", "x_params", lambda k, v: {"name": k, "value": v},
     lambda r: (r["name"], r["value"])),
    ("regulator", "x_regulator", lambda k, v: {"id": k, "name": v[0], "pubkey": v[1]},
     lambda r: (r["id"], (r["name"], r["pubkey"]))),
    ("members", "x_members", lambda k, v: {
        "id": k, "name": v.name, "pubkey": v.pubkey, "validator_key": v.validator_key,
        "status": v.status, "since_height": v.since_height, "changed_height": v.changed_height},
     lambda r: (r["id"], Member(**r))),
    ("merchants", "x_merchants", lambda k, v: {
        "id": k, "name": v.name, "description": v.description, "category": v.category,
        "area": v.area, "address": v.address, "contact": v.contact, "pubkey": v.pubkey,
        "status": v.status, "applied_height": v.applied_height,
        "changed_height": v.changed_height},
     lambda r: (r["id"], Merchant(**r))),
    ("applications", "x_applications", lambda k, v: {"merchant": k, "lapses_ms": v},
     lambda r: (r["merchant"], r["lapses_ms"])),
    ("keys", "x_keys", lambda k, v: {"pubkey": k, "kind": v.kind, "owner": v.owner,
                                     "status": v.status, "height": v.height},
     lambda r: (r["pubkey"], KeyBinding(r["kind"], r["owner"], r["status"], r["height"]))),
    ("programs", "x_programs", program_row, _program_from),
    ("rates", "x_rates", lambda k, v: {
        "program": k[0], "version": k[1], "rate": v.rate, "posted_ms": v.posted_ms,
        "effective_ms": v.effective_ms, "height": v.height, "record": v.record},
     lambda r: ((r["program"], r["version"]), RateVersion(
         r["rate"], r["posted_ms"], r["effective_ms"], r["height"], r["record"]))),
    ("inbound", "x_inbound", lambda k, v: {"program": k, "day": v[0], "amount": v[1]},
     lambda r: (r["program"], (r["day"], r["amount"]))),
    ("flows", "x_flows", lambda k, v: {
        "source": k[0], "target": k[1], "swaps": v.swaps, "given": v.given,
        "received": v.received, "bonus": v.bonus, "value": v.value},
     lambda r: ((r["source"], r["target"]), Flow(
         r["swaps"], r["given"], r["received"], r["bonus"], r["value"]))),
    ("obligations", "x_obligations", lambda k, v: {
        "debtor": k[0], "creditor": k[1], "accrued": v.accrued, "settled": v.settled},
     lambda r: ((r["debtor"], r["creditor"]), Obligation(r["accrued"], r["settled"]))),
    ("positions", "x_positions", lambda k, v: {
        "merchant": k, "receivable": v.receivable, "payable": v.payable, "paid": v.paid,
        "received": v.received, "net": v.net},
     lambda r: (r["merchant"], Position(
         r["receivable"], r["payable"], r["paid"], r["received"]))),
    *BOOK_PLAIN,
)


def promotion_row(program: str, source: str, p: Promotion) -> Row:
    """The stored row of a promotion."""
    return {"program": program, "source": source, "start_ms": p.start_ms, "end_ms": p.end_ms,
            "bonus_bp": p.bonus_bp, "height": p.height, "record": p.record}


def offer_row(program: str, o: Offer) -> Row:
    """The stored row of an offer."""
    return {"program": program, "offer": o.id, "item": o.item, "price": o.price,
            "area": o.area, "valid_from_ms": o.valid_from_ms, "valid_until_ms": o.valid_until_ms,
            "height": o.height, "record": o.record}


def state_rows(s: State, name: str) -> list[Values]:
    """Every row of the restore table ``name`` in the committed state (APP-7): the same
    builders as :func:`collect_changes`, over every committed value."""
    for attr, table, to_row, _ in PLAIN:
        if table == name:
            values = VALUES_OF[name]
            return [values(to_row(key, value)) for key, value in getattr(s, attr).base.items()]
    if name == BALANCES:
        return [(account, program, held, earned)
                for (account, program), (held, _, earned) in s.holdings.base.items()]
    if name == LOTS:
        return [(account, program, expires_ms, amount)
                for (account, program), (_, lots, _) in s.holdings.base.items()
                for expires_ms, amount in lots]
    if name == "x_promotions":
        return [VALUES_OF[name](promotion_row(program, source, p))
                for (program, source), promos in s.promotions.base.items() for p in promos]
    if name == "x_offers":
        return [VALUES_OF[name](offer_row(program, o))
                for program, offers in s.offers.base.items() for o in offers]
    raise KeyError(f"{name} is not a restore table of the exchange")


def restore_state(s: State, rows: Mapping[str, Iterable[Row]]) -> None:
    """Replace the committed state with the one the stored rows describe."""
    s.discard()
    for table in s.tables():
        table.base.clear()
    for attr, name, _, from_row in PLAIN:
        base = getattr(s, attr).base
        columns = tuple(SPEC_BY_NAME[name].columns)
        for row in rows.get(name, ()):
            key, value = from_row({column: row[column] for column in columns})
            base[key] = value
    promos: dict[tuple[str, str], list[Promotion]] = {}
    for row in rows.get("x_promotions", ()):
        promos.setdefault((row["program"], row["source"]), []).append(Promotion(
            row["start_ms"], row["end_ms"], row["bonus_bp"], row["height"], row["record"]))
    for key, found in promos.items():
        s.promotions.base[key] = tuple(sorted(found, key=lambda p: p.start_ms))
    offers: dict[str, list[Offer]] = {}
    for row in rows.get("x_offers", ()):
        offers.setdefault(row["program"], []).append(Offer(
            row["offer"], row["item"], row["price"], row["area"], row["valid_from_ms"],
            row["valid_until_ms"], row["height"], row["record"]))
    for program, listed in offers.items():
        s.offers.base[program] = tuple(sorted(listed, key=lambda o: o.id))
    lots: dict[tuple[str, str], list[tuple[int, int]]] = {}
    for row in rows.get("x_lots", ()):
        lots.setdefault((row["account"], row["program"]), []).append(
            (row["expires_ms"], row["amount"]))
    for row in rows.get("x_balances", ()):
        key = (row["account"], row["program"])
        s.holdings.base[key] = (row["balance"], tuple(sorted(lots.get(key, ()))),
                                row["earned"])
    s.expiry.rebuild(s.holdings.base.items())
    rebuild_vesting(s.vesting, s.pending.base)
    s.pending_rates.clear()
    s.pending_rates.update(code for code, p in s.programs.base.items()
                           if p.pending_version is not None)
