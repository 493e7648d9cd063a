"""Block pages: the list (keyset by height), one block with its certificate and records.

The certificate's votes are checked with :func:`ledger.chain.certificate.valid_signers` against the
validator set in force at that height, once per block (cached). Records of a block page by
index (``?after=``), at most ``records_per_page``; the CSV export pages the same way.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from api.explorer.context import Ctx, Json, Missing, cursor
from api.explorer.effects import event_words, summary
from api.explorer.render import Page, Rows, link
from api.limits import int_digits_max
from exchange import queries_history
from exchange.state.env import BEGIN_BLOCK
from ledger.application import ValidatorInfo
from ledger.chain.certificate import Vote, quorum, valid_signers
from ledger.limits import page_rows_max

blocks_per_page = 50
records_per_page = 100
#: Events of the block's start (rate activations, lapsed applications) shown on its page.
begin_events_max = 50


def block_summary(ctx: Ctx, height: int, hash_: str, header_text: str) -> Json:
    header = json.loads(header_text)
    proposer = _validator_name(ctx, header["proposer"])
    return {"height": height, "hash": hash_, "time": header["time"],
            "records": header["records"], "total": header["total"], "proposer": proposer}


def _validator_name(ctx: Ctx, key: str) -> str:
    for info in ctx.replica.validators_at(ctx.height or 1):
        if info.key == key:
            return ctx.names.members.get(info.name, info.name)
    for _, validators in ctx.replica.validator_history:
        for info in validators:
            if info.key == key:
                return ctx.names.members.get(info.name, info.name)
    return key[:12] + "…"


def recent_blocks(ctx: Ctx, before: int, limit: int) -> list[Json]:
    rows = ctx.query("SELECT height, hash, header FROM blocks WHERE height < ? "
                     "ORDER BY height DESC LIMIT ?", (before, limit))
    return [block_summary(ctx, *row) for row in rows]


def blocks_page(ctx: Ctx) -> Page:
    found = cursor(ctx.param("before"), 1)
    before = found[0] if found else ctx.height + 1
    items = recent_blocks(ctx, before, blocks_per_page)
    older = items[-1]["height"] if len(items) == blocks_per_page and items[-1]["height"] > 1 \
        else None
    data = {"height": ctx.height, "blocks": items,
            "next": link("/blocks", before=older) if older else None}
    return Page("blocks.html", "Blocks", data)


def blocks_csv(ctx: Ctx) -> Rows:
    found = cursor(ctx.param("before"), 1)
    before = found[0] if found else ctx.height + 1
    items = recent_blocks(ctx, before, page_rows_max)
    older = items[-1]["height"] if len(items) == page_rows_max else None
    return Rows("blocks.csv", ("height", "hash", "time_ms", "records", "total", "proposer"),
                [(b["height"], b["hash"], b["time"], b["records"], b["total"], b["proposer"])
                 for b in items], link("/blocks.csv", before=older) if older else None)


def _height(text: str) -> int:
    if not text.isdigit() or len(text) > int_digits_max or int(text) < 1:
        raise Missing(f"no block at height {text!r}", "block_not_found")
    return int(text)


def block_records(ctx: Ctx, height: int, after: int, limit: int) -> list[Json]:
    rows = ctx.query("SELECT idx, id, type, signer, seq, body FROM records "
                     "WHERE height = ? AND idx > ? ORDER BY idx LIMIT ?", (height, after, limit))
    names = ctx.names
    out = []
    for idx, record_id, kind, signer, seq, body in rows:
        payload = json.loads(body).get("payload", {})
        party = names.party(signer)
        out.append({"height": height, "idx": idx, "id": record_id, "type": kind, "seq": seq,
                    "signer": party.json(), "summary": summary(kind, payload, names)})
    return out


def validators_at(ctx: Ctx, height: int) -> tuple[ValidatorInfo, ...]:
    return ctx.replica.validators_at(height)


def certificate(ctx: Ctx, height: int, hash_: str, cert: Json) -> Json:
    """The votes with each validator's name and whether its signature verifies."""
    validators = validators_at(ctx, height)
    votes = [Vote.from_json(v) for v in cert.get("signatures", [])]
    good = set(ctx.cache.certificate(height, hash_, lambda: valid_signers(
        bytes.fromhex(hash_), votes, validators)))
    signed = {v.validator for v in votes}
    rows = [{"validator": ctx.names.members.get(v.name, v.name), "member": v.name, "key": v.key,
             "signed": v.key in signed, "verified": v.key in good} for v in validators]
    return {"height": cert.get("height"), "header": cert.get("header"), "votes": rows,
            "signatures": len(votes), "verified": len(good), "validators": len(validators),
            "quorum": quorum(len(validators)), "committed": len(good) >= quorum(len(validators))}


def block_page(ctx: Ctx, height: str) -> Page:
    h = _height(height)
    row = ctx.one("SELECT hash, header, certificate, checkpoint FROM blocks WHERE height = ?",
                  (h,))
    if row is None:
        raise Missing(f"no block at height {h} (the chain is at {ctx.height})",
                      "block_not_found")
    hash_, header_text, cert_text, checkpoint_text = row
    header: dict[str, Any] = json.loads(header_text)
    found = cursor(ctx.param("after"), 1, "after")
    after = found[0] if found else -1
    records = block_records(ctx, h, after, records_per_page)
    more = records[-1]["idx"] if len(records) == records_per_page else None
    begin = queries_history.begin_block_totals(ctx.conn, h)
    events = queries_history.record_events(ctx.conn, h, BEGIN_BLOCK, begin_events_max)
    data = {"height": h, "hash": hash_, "header": header,
            "proposer": _validator_name(ctx, header["proposer"]),
            "certificate": certificate(ctx, h, hash_, json.loads(cert_text)),
            "checkpoint": json.loads(checkpoint_text),
            "records": records, "records_next": link(f"/blocks/{h}", after=more)
            if more is not None else None,
            "begin_block": {"movements": [asdict(total) for total in begin],
                            "events": [{"kind": e.kind, "subject": e.subject, "detail": e.detail,
                                        "words": event_words(ctx.names, e.kind, e.subject,
                                                             e.detail).json()}
                                       for e in events]},
            "prev": h - 1 if h > 1 else None, "next": h + 1 if h < ctx.height else None}
    return Page("block.html", f"Block {h}", data, csv=f"/blocks/{h}/records.csv")


def block_records_csv(ctx: Ctx, height: str) -> Rows:
    h = _height(height)
    if h > ctx.height:
        raise Missing(f"no block at height {h}", "block_not_found")
    found = cursor(ctx.param("after"), 1, "after")
    items = block_records(ctx, h, found[0] if found else -1, page_rows_max)
    more = items[-1]["idx"] if len(items) == page_rows_max else None
    return Rows(f"block-{h}-records.csv", ("height", "idx", "id", "type", "signer", "seq",
                                           "summary"),
                [(r["height"], r["idx"], r["id"], r["type"], r["signer"]["id"], r["seq"],
                  r["summary"]) for r in items],
                link(f"/blocks/{h}/records.csv", after=more) if more is not None else None)
