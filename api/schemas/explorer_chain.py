"""Response shapes of the explorer's chain pages' JSON twins (``api/explorer/``): the home
page, blocks, records and search (docs/EXPLORER.md). Every page answers the same ``data``
as JSON at ``<page>.json``; these models document it. Exchange pages are in
:mod:`api.schemas.explorer_exchange`."""

from __future__ import annotations

from typing import Any

from api.schemas import Shape, example
from api.schemas.chain import H1, K1, SIG, Header

CHAIN = "chunxi-road-alliance"
PARTY = {"kind": "merchant", "id": "bamboo-cafe", "name": "竹林咖啡 Bamboo Café",
         "href": "/merchants/bamboo-cafe"}
WORDS = {"text": "Bamboo Café paid Fresh Mart ¥80.00",
         "parts": [{"text": "Bamboo Café", "href": "/merchants/bamboo-cafe"},
                   {"text": " paid ", "href": None}]}
BLOCK_ROW = {"height": 5, "hash": H1, "time": 1790813040000, "records": 2, "total": 47,
             "proposer": "春熙路商会 Chunxi Road Merchants Association"}
RECORD_ROW = {"height": 5, "idx": 0, "id": H1, "type": "exchange.issue", "signer": PARTY,
              "summary": "issue 800 BC"}
VALIDATOR_UP = {"member": "chunxi-association", "name": "春熙路商会", "key": K1, "up": True,
                "height": 11, "signed_head": True}
HEADER = {"chain": CHAIN, "height": 5, "prev": H1, "proposer": K1, "records": 2, "root": H1,
          "state": H1, "time": 1790813040000, "total": 47, "validators": H1}


class Party(Shape):
    """Who a key or id belongs to: ``customer``, ``merchant``, ``member``, ``regulator`` or
    ``validator``, a display name and the page about it."""

    model_config = example(PARTY)
    kind: str
    id: str
    name: str
    href: str


class Part(Shape):
    text: str
    href: str | None


class Words(Shape):
    """A sentence in plain words; ``parts`` carry the links the HTML page shows."""

    model_config = example(WORDS)
    text: str
    parts: list[Part]


class BlockRow(Shape):
    """One block in a list: height, header hash, time, records in it and in the chain up to
    it, and the proposer's name."""

    model_config = example(BLOCK_ROW)
    height: int
    hash: str
    time: int
    records: int
    total: int
    proposer: str


class RecordRow(Shape):
    """One record in a list, with its signer and a one-line summary."""

    model_config = example(RECORD_ROW)
    height: int
    idx: int
    id: str
    type: str
    signer: Party
    summary: str


class BlockRecord(RecordRow):
    """One record of a block's page, with its signer's sequence number."""

    model_config = example({**RECORD_ROW, "seq": 3})
    seq: int


class ValidatorUp(Shape):
    """A validator of the next block: reachable or not, its height, and whether it signed the
    head block's certificate."""

    model_config = example(VALIDATOR_UP)
    member: str
    name: str
    key: str
    up: bool
    height: int | None
    signed_head: bool


class HomePage(Shape):
    """``/index.json``: chain head, validators, headline figures, records per day, recent
    blocks and records."""

    model_config = example({
        "chain": {"chain": CHAIN, "height": 11, "head": H1, "time": 1790939178362,
                  "records": 47, "state": H1, "mempool": 0, "genesis": H1},
        "validators": [VALIDATOR_UP],
        "figures": {"programs": 7, "merchants": 7, "members": 4, "liability_micro": 40560000,
                    "holders": 20, "records": 47, "blocks": 11, "records_today": 5},
        "records_per_day": [{"day": "2026-10-02", "records": 5}],
        "recent_blocks": [BLOCK_ROW], "recent_records": [RECORD_ROW]})
    chain: dict[str, Any]
    validators: list[ValidatorUp]
    figures: dict[str, int]
    records_per_day: list[dict[str, Any]]
    recent_blocks: list[BlockRow]
    recent_records: list[RecordRow]


class BlocksPage(Shape):
    """``/blocks.json``: blocks newest first, 50 a page; ``next`` is the older page's URL."""

    model_config = example({"height": 11, "blocks": [BLOCK_ROW], "next": "/blocks?before=5"})
    height: int
    blocks: list[BlockRow]
    next: str | None


class Vote(Shape):
    validator: str
    member: str
    key: str
    signed: bool
    verified: bool


class CertificateCheck(Shape):
    """A block's certificate as checked by this node against the validator set at its
    height."""

    height: int | None
    header: str | None
    votes: list[Vote]
    signatures: int
    verified: int
    validators: int
    quorum: int
    committed: bool


class BlockPage(Shape):
    """``/blocks/{height}.json``: header, checked certificate, checkpoint, records (100 a
    page, ``records_next``) and what the block did before its records (``begin_block``)."""

    model_config = example({
        "height": 5, "hash": H1, "header": HEADER, "proposer": "春熙路商会",
        "certificate": {"height": 5, "header": H1, "votes": [
            {"validator": "春熙路商会", "member": "chunxi-association", "key": K1,
             "signed": True, "verified": True}], "signatures": 1, "verified": 1,
            "validators": 1, "quorum": 1, "committed": True},
        "checkpoint": {"chain": CHAIN, "tree_size": 5, "root_hash": H1,
                       "signatures": [{"validator": K1, "sig": SIG}]},
        "records": [{**RECORD_ROW, "seq": 3}], "records_next": "/blocks/5?after=99",
        "begin_block": {"movements": [{"program": "bc", "kind": "expire", "holdings": 2,
                                       "points": -300}], "events": []},
        "prev": 4, "next": 6})
    height: int
    hash: str
    header: Header
    proposer: str
    certificate: CertificateCheck
    checkpoint: dict[str, Any]
    records: list[BlockRecord]
    records_next: str | None
    begin_block: dict[str, list[dict[str, Any]]]
    prev: int | None
    next: int | None


class RecordsPage(Shape):
    """``/records.json``: records newest first, a page at a time (``next``)."""

    model_config = example({"records": [RECORD_ROW], "total": 47,
                            "next": "/records?before=5.0"})
    records: list[RecordRow]
    total: int
    next: str | None


class RecordPage(Shape):
    """``/records/{id}.json``: ``status`` is ``committed``, ``pending`` or ``rejected`` (with
    its ``code``). A committed record carries every other field: the record, its signers,
    its effects in words and as rows (``movements``, ``swap``, ``events``), its checked
    inclusion proof and certificate, and the URL of its receipt."""

    model_config = example({
        "id": H1, "status": "committed", "height": 5, "index": 0, "type": "exchange.issue",
        "seq": 3, "signers": [{**PARTY, "key": K1}],
        "body": {"chain": CHAIN, "type": "exchange.issue", "signers": [K1], "seq": 3,
                 "expires": 1790816640000, "payload": {"program": "bc", "amount": 800}},
        "signatures": [SIG], "summary": "issue 800 BC", "effects": [WORDS],
        "movements": [{"n": 0, "account": K1, "program": "bc", "kind": "issue", "delta": 800,
                       "balance": 800, "ref": "order 12"}],
        "swap": {"give": "bp", "get": "fm", "taken": 1000, "base": 1000, "bonus": 0,
                 "out": 1000, "value_burned_micro": 1000000, "value_minted_micro": 1000000,
                 "give_rate": 1000, "get_rate": 1000, "holder": K1},
        "events": [], "time": 1790813040000, "block_hash": H1,
        "proof": {"index": 0, "tree_size": 2, "leaf_hash": H1, "inclusion_proof": [H1],
                  "root": H1, "verified": True},
        "certificate": {"verified": 4, "validators": 4, "quorum": 3, "committed": True},
        "receipt": f"/records/{H1}/receipt.json"})
    id: str
    status: str
    code: str | None = None
    height: int | None = None
    index: int | None = None
    type: str | None = None
    seq: int | None = None
    signers: list[dict[str, Any]] | None = None
    body: dict[str, Any] | None = None
    signatures: list[str] | None = None
    summary: str | None = None
    effects: list[Words] | None = None
    movements: list[dict[str, Any]] | None = None
    swap: dict[str, Any] | None = None
    events: list[dict[str, Any]] | None = None
    time: int | None = None
    block_hash: str | None = None
    proof: dict[str, Any] | None = None
    certificate: dict[str, Any] | None = None
    receipt: str | None = None


class SearchHit(Shape):
    kind: str
    label: str
    href: str


class SearchPage(Shape):
    """``/search.json?q=``: every hit (the HTML page redirects when there is exactly one)."""

    model_config = example({"q": "coffee", "results": [
        {"kind": "merchant", "label": "竹林咖啡 Bamboo Café", "href": "/merchants/bamboo-cafe"}]})
    q: str
    results: list[SearchHit]
