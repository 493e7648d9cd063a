"""Response shapes of offers, settlement, the regulator's report and issuer statements
(``api/server/routers/offers.py``, ``exchange.py``, ``statements.py``); units as in
:mod:`api.schemas.exchange`."""

from __future__ import annotations

from typing import Any

from api.schemas import Shape, example
from api.schemas.exchange import KEY, RID, Program

OFFER = {"program": "bp", "offer": "classic-burger", "issuer": "burger-palace",
         "item": "classic burger", "price": 8000, "value_micro": 8000000, "area": "Chunxi Road",
         "valid_from_ms": 1790813040000, "valid_until_ms": 1822406400000, "height": 5,
         "record": RID}
ACCOUNT_OFFER = {**OFFER, "held": 800, "pay": "after_swap", "swap": {
    "give": "vk", "amount": 800, "get": "bp", "min_out": 7200, "out": 8000, "bonus": 0,
    "give_version": 1, "get_version": 1, "give_rate": 100, "get_rate": 1000,
    "value_burned_micro": 8000000}}
POSITION = {"merchant": "bamboo-cafe", "receivable_micro": 0, "payable_micro": 8000000,
            "paid_micro": 0, "received_micro": 0, "net_micro": -8000000}
PAYMENT = {"payer": "bamboo-cafe", "payee": "burger-palace", "amount_micro": 8000000,
           "amount_fen": 800}


class Offer(Shape):
    model_config = example(OFFER)
    program: str
    offer: str
    issuer: str
    item: str
    price: int
    value_micro: int
    area: str
    valid_from_ms: int
    valid_until_ms: int
    height: int
    record: str


class OfferPage(Shape):
    model_config = example({"as_of_ms": 1790939178362, "offers": [OFFER],
                            "next": '[1, "Chunxi Road", 8000000, 8000, "bp", "classic-burger"]'})
    as_of_ms: int
    offers: list[Offer]
    next: str | None


class OfferSwap(Shape):
    """The swap to sign before paying for an offer (``pay`` = ``after_swap``)."""

    give: str
    amount: int
    get: str
    min_out: int
    out: int
    bonus: int
    give_version: int
    get_version: int
    give_rate: int
    get_rate: int
    value_burned_micro: int


class AccountOffer(Offer):
    """An offer with what the account holds of its program and how it can pay."""

    model_config = example(ACCOUNT_OFFER)
    held: int
    pay: str
    swap: OfferSwap | None


class AccountOfferPage(Shape):
    model_config = example({"account": KEY, "area": "Chunxi Road", "as_of_ms": 1790939178362,
                            "offers": [ACCOUNT_OFFER], "next": "[0, \"Chunxi Road\", 8000000]"})
    account: str
    area: str | None
    as_of_ms: int
    offers: list[AccountOffer]
    next: str | None


class Position(Shape):
    merchant: str
    receivable_micro: int
    payable_micro: int
    paid_micro: int
    received_micro: int
    net_micro: int


class Payment(Shape):
    payer: str
    payee: str
    amount_micro: int
    amount_fen: int


class Settlement(Shape):
    """Net positions and the fewest payments that clear them (docs/ECONOMICS.md §9)."""

    model_config = example({"as_of_ms": 1790939178362, "positions": [POSITION],
                            "payments": [PAYMENT]})
    as_of_ms: int
    positions: list[Position]
    payments: list[Payment]


class Obligation(Shape):
    debtor: str
    creditor: str
    accrued_micro: int
    settled_micro: int


class Obligations(Shape):
    """Gross obligations between issuers and the positions they add up to."""

    model_config = example({"matrix": [{"debtor": "bamboo-cafe", "creditor": "burger-palace",
                                        "accrued_micro": 8000000, "settled_micro": 0}],
                            "positions": [POSITION]})
    matrix: list[Obligation]
    positions: list[Position]


class IssuerReport(Shape):
    merchant: str
    name: str
    status: str
    programs: list[Program]
    liability_micro: int
    cap_value_micro: int
    net_position_micro: int


class FlowRow(Shape):
    source: str
    target: str
    swaps: int
    given: int
    received: int
    bonus: int
    value_micro: int


class RegulatorReport(Shape):
    """Per issuer figures, flows, positions, the settlement statement and the month's
    roll-forward (``books``: docs/STATEMENTS.md)."""

    model_config = example({"as_of_ms": 1790939178362, "issuers": [], "flows": [],
                            "positions": [], "statement": [], "books": {
                                "month": "2026-10", "from": "2026-10-01", "to": "2026-11-01",
                                "issuers": [], "district": {"points": {}, "yuan": {}}}})
    as_of_ms: int
    issuers: list[IssuerReport]
    flows: list[FlowRow]
    positions: list[Position]
    statement: list[Payment]
    books: dict[str, Any]


STATEMENT: dict[str, Any] = {
    "merchant": "bamboo-cafe", "name": "竹林咖啡 Bamboo Café",
    "period": {"from": "2026-10-01", "to": "2026-11-01", "first_day": 20727,
               "end_day": 20758, "start_ms": 1790812800000, "end_ms": 1793491200000},
    "as_of_height": 11, "as_of_ms": 1790939178362, "points": {}, "yuan": {}, "micro": {},
    "programs": [], "aging": [], "rates": [], "obligations": [],
    "settlements": {"count": 0, "truncated": False, "payments": []}, "heights": {
        "opening": {"height": 0, "header_hash": None, "time_ms": None},
        "closing": {"height": 11, "header_hash": RID, "time_ms": 1790939178362}}}


class StatementSettlements(Shape):
    """The settlement payments of a statement's period, in chain order, at most
    ``statement_settlements_max`` (``truncated``: more were made; ``count``: how many)."""

    count: int
    truncated: bool
    payments: list[dict[str, Any]]


class IssuerStatement(Shape):
    """An issuer statement (docs/STATEMENTS.md): the period, the roll-forward in points,
    yuan (fen) and µ¥, per program, aging at the closing height, trailing rates,
    obligations and the settlement payments made."""

    model_config = example(STATEMENT)
    merchant: str
    name: str
    period: dict[str, Any]
    as_of_height: int
    as_of_ms: int
    points: dict[str, int]
    yuan: dict[str, int]
    micro: dict[str, int]
    programs: list[dict[str, Any]]
    aging: list[dict[str, Any]]
    rates: list[dict[str, Any]]
    obligations: list[dict[str, Any]]
    settlements: StatementSettlements
    heights: dict[str, Any]
