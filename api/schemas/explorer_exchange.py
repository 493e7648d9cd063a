"""Response shapes of the explorer's exchange pages' JSON twins (``api/explorer/``): accounts,
programs, merchants and their statements, rates, the alliance and settlement
(docs/EXPLORER.md). Amounts are integer points, values integer µ¥ (``*_micro``), times ms."""

from __future__ import annotations

from typing import Any

from api.schemas import Shape, example
from api.schemas.chain import H1, K1
from api.schemas.exchange import KEY, MERCHANT, PROGRAM, RID, Member, Merchant, Program
from api.schemas.explorer_chain import PARTY, VALIDATOR_UP, WORDS, Party, ValidatorUp, Words
from api.schemas.settlement import (
    POSITION,
    STATEMENT,
    IssuerStatement,
    Obligation,
    Payment,
    Position,
)

MOVEMENT = {"height": 9, "idx": 0, "n": 0, "program": "bc", "kind": "issue", "what": "earned",
            "delta": 800, "balance": 800, "record": RID, "ref": "order 12",
            "counterparty": PARTY}
EVENT = {"height": 2, "idx": 2, "n": 0, "kind": "merchant_admitted", "subject": "bamboo-cafe",
         "detail": "", "record": RID, "words": WORDS}


class AccountMovement(Shape):
    """One balance movement, newest first; ``counterparty`` names the other side of a
    transfer or swap."""

    model_config = example(MOVEMENT)
    height: int
    idx: int
    n: int
    program: str
    kind: str
    what: str
    delta: int
    balance: int
    record: str | None
    ref: str
    counterparty: dict[str, Any] | None


class AccountPage(Shape):
    """``/accounts/{key}.json``: holdings with their yuan value, points lapsing within
    ``expiring_days``, and the history (50 a page, ``next``)."""

    model_config = example({
        "account": KEY, "party": {**PARTY, "kind": "customer", "id": KEY},
        "as_of_ms": 1790939178362, "value_micro": 8000000,
        "holdings": [{"program": "bc", "name": "竹林咖啡豆 Bamboo Beans", "issuer": "bamboo-cafe",
                      "balance": 800, "value_micro": 8000000, "expiring_soon": 0,
                      "issuer_name": "竹林咖啡 Bamboo Café", "next_expiry_ms": 1806364800000}],
        "expiring": [{"program": "bc", "amount": 100, "expires_ms": 1791000000000}],
        "expiring_days": 7, "history": [MOVEMENT], "next": f"/accounts/{KEY}?before=9.0.0"})
    account: str
    party: Party
    as_of_ms: int
    value_micro: int
    holdings: list[dict[str, Any]]
    expiring: list[dict[str, Any]]
    expiring_days: int
    history: list[AccountMovement]
    next: str | None


class ProgramRow(Program):
    """A program in the list, with its issuer's name and its count of holders."""

    model_config = example({**PROGRAM, "issuer_name": "竹林咖啡 Bamboo Café", "holders": 12})
    issuer_name: str
    holders: int


class ProgramsPage(Shape):
    """``/programs.json``: every program in code order."""

    model_config = example({"programs": [{**PROGRAM, "issuer_name": "竹林咖啡 Bamboo Café",
                                          "holders": 12}]})
    programs: list[ProgramRow]


class Holders(Shape):
    """Holders of a program: count, points held, the top 20 and a histogram by balance
    digits, as of a height (remembered a few seconds)."""

    holders: int
    held: int
    as_of_height: int
    top: list[dict[str, Any]]
    histogram: list[dict[str, int]]


class ProgramPage(Shape):
    """``/programs/{code}.json``: the program, its issuer, posted rates (newest first),
    holders, points per day by kind over 30 days, swap flows in and out, live promotions."""

    model_config = example({
        "program": PROGRAM, "issuer": {**MERCHANT, "liability_micro": 40560000,
                                       "net_position_micro": 0},
        "rates": [{"version": 1, "rate": 100, "posted_ms": 1790812800000,
                   "effective_ms": 1790812800000, "record": RID, "in_effect": True}],
        "holders": {"holders": 1, "held": 800, "as_of_height": 11, "top": [
            {"account": KEY, "balance": 800, "value_micro": 8000000, "party": PARTY}],
            "histogram": [{"digits": 3, "holders": 1}]},
        "series": {"complete": True, "as_of_height": 11, "kinds": ["issued"], "days": [
            {"day": "2026-10-02", "issued": 800, "redeemed": 0, "swapped_in": 0,
             "swapped_out": 0, "expired": 0}]},
        "inflow": [], "outflow": [{"program": "bp", "swaps": 1, "given": 100, "received": 10,
                                   "bonus": 0, "value_micro": 1000000}],
        "promotions": []})
    program: Program
    issuer: dict[str, Any]
    rates: list[dict[str, Any]]
    holders: Holders
    series: dict[str, Any]
    inflow: list[dict[str, Any]]
    outflow: list[dict[str, Any]]
    promotions: list[dict[str, Any]]


class LifecycleEvent(Shape):
    """An application, admission, suspension...: with its record and who signed it."""

    height: int
    idx: int
    kind: str
    detail: str
    record: str | None
    signers: list[Party]


class MerchantPage(Shape):
    """``/merchants/{id}.json``: profile and programs, settlement position, what it owes and
    is owed, its lifecycle and the URL of this month's statement."""

    model_config = example({
        "merchant": {**MERCHANT, "programs": [PROGRAM], "liability_micro": 40560000,
                     "net_position_micro": 0},
        "position": POSITION,
        "owes": [{"merchant": "fresh-mart", "accrued_micro": 8000000, "settled_micro": 0,
                  "outstanding_micro": 8000000, "name": "鲜果超市 Fresh Mart"}],
        "owed": [],
        "lifecycle": [{"height": 2, "idx": 2, "kind": "merchant_admitted", "detail": "",
                       "record": RID, "signers": [PARTY]}],
        "statement": "/merchants/bamboo-cafe/statements/2026-10"})
    merchant: dict[str, Any]
    position: Position | None
    owes: list[dict[str, Any]]
    owed: list[dict[str, Any]]
    lifecycle: list[LifecycleEvent]
    statement: str


class StatementPage(IssuerStatement):
    """``/merchants/{id}/statements/{YYYY-MM}.json``: the issuer statement of the JSON API,
    with the months before and after."""

    model_config = example({
        **STATEMENT, "months": {"previous": "2026-09", "next": "2026-11"}})
    months: dict[str, str]


class RatesPage(Shape):
    """``/rates.json``: every program's posted rate, the swap matrix (which program accepts
    which, at what ratio; ``truncated`` past 24 programs) and the promotions running."""

    model_config = example({
        "as_of_ms": 1790939178362,
        "board": [{"program": "bc", "issuer": "bamboo-cafe", "rate": 100, "version": 1,
                   "unit_value_micro": 10000, "name": "竹林咖啡豆 Bamboo Beans",
                   "issuer_name": "竹林咖啡 Bamboo Café", "versions": 1}],
        "matrix": {"programs": ["bc", "bp"], "rows": [{"give": "bc", "cells": [
            {"get": "bp", "accepted": True, "ratio": "10"}]}], "truncated": False},
        "promotions": [{"program": "bp", "source": "bc", "start_ms": 1790812800000,
                        "end_ms": 1791417600000, "bonus_bp": 2000, "record": RID,
                        "live": True, "percent": "20.00%"}]})
    as_of_ms: int
    board: list[dict[str, Any]]
    matrix: dict[str, Any]
    promotions: list[dict[str, Any]]


class GovernanceEvent(Shape):
    """A member, merchant or key event, newest first, in words too."""

    model_config = example(EVENT)
    height: int
    idx: int
    n: int
    kind: str
    subject: str
    detail: str
    record: str | None
    words: Words


class AlliancePage(Shape):
    """``/alliance.json``: members and the governance threshold, validators (now and by
    height), the regulator, merchants (100 a page, ``merchants_next``) with their lifecycle,
    governance history (50 a page, ``next``) and evidence against validators."""

    model_config = example({
        "members": [{"id": "chunxi-association", "name": "春熙路商会", "key": K1,
                     "validator_key": K1, "status": "active", "since_height": 0,
                     "threshold": 3}],
        "threshold": 3, "validators": [VALIDATOR_UP],
        "validator_sets": [{"from_height": 1, "validators": [
            {"member": "chunxi-association", "key": K1, "name": "春熙路商会"}]}],
        "regulator": [{"id": "chengdu-regulator", "name": "成都市监管", "key": K1}],
        "merchants": [{**MERCHANT, "lifecycle": [], "admitted_by": [PARTY],
                       "admitted_record": RID}],
        "merchants_total": 7, "merchants_next": "/alliance?merchants_after=village-kitchen",
        "governance": [EVENT], "next": "/alliance?before=2.2.0",
        "evidence": [{"height": 5, "validator": K1, "header_hash": H1, "name": "春熙路商会"}]})
    members: list[Member]
    threshold: int
    validators: list[ValidatorUp]
    validator_sets: list[dict[str, Any]]
    regulator: list[dict[str, Any]]
    merchants: list[Merchant]
    merchants_total: int
    merchants_next: str | None
    governance: list[GovernanceEvent]
    next: str | None
    evidence: list[dict[str, Any]]


class Settled(Shape):
    """A settlement recorded on chain, newest first."""

    height: int
    idx: int
    n: int
    payer: str
    payee: str
    amount_micro: int | None
    reference: str
    record: str
    words: Words


class SettlementPage(Shape):
    """``/settlement.json``: gross obligations, the matrix of the first 24 issuers, net
    positions, the payments that would clear them, and settlements recorded (``next``)."""

    model_config = example({
        "as_of_ms": 1790939178362,
        "obligations": [{"debtor": "bamboo-cafe", "creditor": "fresh-mart",
                         "accrued_micro": 8000000, "settled_micro": 0}],
        "matrix": {"issuers": ["bamboo-cafe"], "names": {"bamboo-cafe": "竹林咖啡 Bamboo Café"},
                   "rows": [{"debtor": "bamboo-cafe", "cells": [{
                       "creditor": "fresh-mart", "accrued_micro": 8000000,
                       "settled_micro": 0, "outstanding_micro": 8000000}]}],
                   "truncated": False},
        "positions": [{**POSITION, "name": "竹林咖啡 Bamboo Café"}],
        "payments": [{"payer": "bamboo-cafe", "payee": "fresh-mart", "amount_micro": 8000000,
                      "amount_fen": 800, "payer_name": "竹林咖啡 Bamboo Café",
                      "payee_name": "鲜果超市 Fresh Mart"}],
        "settled": [{"height": 9, "idx": 1, "n": 0, "payer": "bamboo-cafe",
                     "payee": "fresh-mart", "amount_micro": 8000000, "reference": "oct",
                     "record": RID, "words": WORDS}],
        "next": "/settlement?before=9.1.0"})
    as_of_ms: int
    obligations: list[Obligation]
    matrix: dict[str, Any]
    positions: list[Position]
    payments: list[Payment]
    settled: list[Settled]
    next: str | None
