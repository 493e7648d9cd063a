"""Response shapes of the exchange reads (``api/server/routers/exchange.py``): programs, merchants,
members, rates, balances, history and quotes. Amounts are integer points, values integer µ¥
(``*_micro``) or fen (``*_fen``), times ms (docs/ECONOMICS.md §1). Offers, settlement, the
regulator's report and statements are in :mod:`api.schemas.settlement`."""

from __future__ import annotations

from pydantic import Field

from api.schemas import Shape, example

KEY = "02a4b29dcbd67bd1337713aa533fc3f4fa1909ea3a3b6e0c93075a7be855db0e"
RID = "fe06fd7178e1bffcc60eb44666f61367df634a4885d9c1489ae109c3c26f734e"
PROGRAM = {
    "code": "bc", "name": "竹林咖啡豆 Bamboo Beans", "issuer": "bamboo-cafe", "rate": 100,
    "rate_version": 1, "pending_rate": 50, "pending_version": 2, "pending_ms": 1791417600000,
    "expiry_days": 180, "cap": 50000000, "transferable": True, "min_in": 1, "step_in": 1,
    "daily_in_cap": 5000000, "accepts": ["bp", "ib", "vk"], "created_height": 3,
    "supply": 4056, "issued": 4056, "promoted": 0, "redeemed": 0, "swapped_in": 0,
    "swapped_out": 0, "expired": 0, "return_days": 0, "pending": 0, "voided": 0,
    "unit_value_micro": 10000, "liability_micro": 40560000, "cap_value_micro": 500000000000}
MERCHANT = {"id": "bamboo-cafe", "name": "竹林咖啡 Bamboo Café",
            "description": "Single-origin Yunnan coffee and pastries.", "category": "café",
            "area": "Taikoo Li", "address": "3 Zhongsha Lane", "contact": "028-8666-0303",
            "key": KEY, "status": "active", "applied_height": 1}
class Program(Shape):
    """A program: its terms, rates (in effect and pending), lifetime counters and values."""

    model_config = example(PROGRAM)
    code: str
    name: str
    issuer: str
    rate: int
    rate_version: int
    pending_rate: int | None
    pending_version: int | None
    pending_ms: int | None
    expiry_days: int
    cap: int
    transferable: bool
    min_in: int
    step_in: int
    daily_in_cap: int
    accepts: list[str]
    created_height: int
    supply: int
    issued: int
    promoted: int
    redeemed: int
    swapped_in: int
    swapped_out: int
    expired: int
    return_days: int
    pending: int
    voided: int
    unit_value_micro: int
    liability_micro: int
    cap_value_micro: int


class ProgramPage(Shape):
    model_config = example({"programs": [PROGRAM], "next": "bc"})
    programs: list[Program]
    next: str | None


class Merchant(Shape):
    """A merchant's profile; an application (``applied``) also carries ``lapses_ms``."""

    model_config = example(MERCHANT)
    id: str
    name: str
    description: str
    category: str
    area: str
    address: str
    contact: str
    key: str
    status: str
    applied_height: int
    lapses_ms: int | None = None


class MerchantPage(Shape):
    model_config = example({"merchants": [MERCHANT], "next": "bamboo-cafe"})
    merchants: list[Merchant]
    next: str | None


class MerchantDetail(Merchant):
    """A merchant with its programs, their liability and its settlement position."""

    model_config = example({**MERCHANT, "programs": [PROGRAM], "liability_micro": 40560000,
                            "net_position_micro": 0})
    programs: list[Program]
    liability_micro: int
    net_position_micro: int


class Member(Shape):
    id: str
    name: str
    key: str
    validator_key: str | None
    status: str
    since_height: int
    threshold: int


class Members(Shape):
    """The members; ``threshold`` is how many active members a governance record needs."""

    model_config = example({"members": [{
        "id": "chunxi-association", "name": "Chunxi Road Merchants' Association", "key": KEY,
        "validator_key": KEY, "status": "active", "since_height": 0, "threshold": 3}]})
    members: list[Member]


class PendingRate(Shape):
    version: int
    rate: int
    effective_ms: int


class PostedRate(Shape):
    version: int
    rate: int
    posted_ms: int
    effective_ms: int
    record: str


class RateBoardRow(Shape):
    program: str
    issuer: str
    rate: int
    version: int
    unit_value_micro: int
    pending: PendingRate | None
    history: list[PostedRate]


class RatePage(Shape):
    """The rate board: rate in effect, pending change and every version, per program."""

    model_config = example({"rates": [{
        "program": "bc", "issuer": "bamboo-cafe", "rate": 100, "version": 1,
        "unit_value_micro": 10000, "pending": {
            "version": 2, "rate": 50, "effective_ms": 1791417600000}, "history": [
            {"version": 1, "rate": 100, "posted_ms": 1790812860000,
             "effective_ms": 1790812860000, "record": RID}]}], "next": "bc"})
    rates: list[RateBoardRow]
    next: str | None


class Lot(Shape):
    expires_ms: int
    amount: int


class HoldingRow(Shape):
    program: str
    name: str
    issuer: str
    balance: int
    value_micro: int
    earned: int
    lots: list[Lot]
    expiring_soon: int


class PendingPoints(Shape):
    """Points of an issue still in its return window (not spendable yet)."""

    issue: str
    program: str
    amount: int
    vests_ms: int
    value_micro: int


class Balances(Shape):
    """An account's holdings, their yuan value, lots and pending points."""

    model_config = example({"account": KEY, "as_of_ms": 1790939178362, "holdings": [{
        "program": "vk", "name": "乡村基积分 Village Kitchen Points", "issuer": "village-kitchen",
        "balance": 150, "value_micro": 1500000, "earned": 150,
        "lots": [{"expires_ms": 1798732800000, "amount": 150}], "expiring_soon": 0}],
        "value_micro": 1500000, "pending": []})
    account: str
    as_of_ms: int
    holdings: list[HoldingRow]
    value_micro: int
    pending: list[PendingPoints]


class Movement(Shape):
    """One balance movement (an ``x_history`` row, docs/STATE.md §6 for ``kind``)."""

    height: int
    idx: int
    n: int
    program: str
    kind: str
    delta: int
    balance: int
    record: str
    ref: str


class History(Shape):
    """An account's movements, newest first; ``next`` is ``height.idx.n``."""

    model_config = example({"account": KEY, "items": [{
        "height": 11, "idx": 1, "n": 0, "program": "vk", "kind": "issue", "delta": 150,
        "balance": 150, "record": RID, "ref": "VK-02-00014 ¥15"}], "next": "11.1.0"})
    account: str
    items: list[Movement]
    next: str | None


class Quote(Shape):
    """``code`` is ``ok`` or the rejection the swap would get; the rest is present with
    ``ok`` (``give``, ``get``, ``amount`` also with a business rejection)."""

    model_config = example({
        "code": "ok", "give": "vk", "get": "bp", "amount": 800, "give_version": 1,
        "get_version": 1, "give_rate": 100, "get_rate": 1000, "taken": 800, "base": 8000,
        "bonus": 0, "out": 8000, "bonus_bp": 0,
        "value_micro": 8000000, "value_burned_micro": 8000000, "lapses_ms": 1791417600000})
    code: str
    give: str | None = None
    get: str | None = None
    amount: int | None = None
    give_version: int | None = None
    get_version: int | None = None
    give_rate: int | None = None
    get_rate: int | None = None
    taken: int | None = None
    base: int | None = None
    bonus: int | None = None
    out: int | None = None
    bonus_bp: int | None = None
    promotion_end_ms: int | None = None
    value_micro: int | None = None
    value_burned_micro: int | None = None
    lapses_ms: int | None = Field(None, description="when the quote's versions stop being "
                                  "current (null: no pending rate)")
