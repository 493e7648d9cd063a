"""Record pages: the list (keyset by height and index), one record, its receipt.

A record page shows the type, signers (with who they are), the body, its effects in plain
words, and its inclusion proof under the block's Merkle root, computed from the block's record
ids only (one indexed query, at most ``block_records_max`` ids) and checked on the spot.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi.responses import Response

from api.explorer.blocks import certificate
from api.explorer.context import Ctx, Json, Missing, cursor, is_hex
from api.explorer.effects import record_effects, summary
from api.explorer.render import Page, Rows, download, link
from ledger.chain import merkle
from ledger.chain.block import Header
from ledger.chain.certificate import CommitCertificate
from ledger.errors import LedgerError
from ledger.limits import page_rows_max
from ledger.store import stored_record
from ledger.verify.receipt import RECEIPT_VERSION

records_per_page = 50


def recent_records(ctx: Ctx, before: tuple[int, ...], limit: int) -> list[Json]:
    rows = ctx.query("SELECT height, idx, id, type, signer, body FROM records "
                     "WHERE (height, idx) < (?, ?) ORDER BY height DESC, idx DESC LIMIT ?",
                     (*before, limit))
    names = ctx.names
    out = []
    for height, idx, record_id, kind, signer, body in rows:
        payload = json.loads(body).get("payload", {})
        out.append({"height": height, "idx": idx, "id": record_id, "type": kind,
                    "signer": names.party(signer).json(),
                    "summary": summary(kind, payload, names)})
    return out


def _before(ctx: Ctx) -> tuple[int, ...]:
    return cursor(ctx.param("before"), 2) or (ctx.height + 1, 0)


def records_page(ctx: Ctx) -> Page:
    items = recent_records(ctx, _before(ctx), records_per_page)
    last = items[-1] if len(items) == records_per_page else None
    data = {"records": items, "total": ctx.replica.total,
            "next": link("/records", before=f"{last['height']}.{last['idx']}") if last else None}
    return Page("records.html", "Records", data, csv="/records.csv")


def records_csv(ctx: Ctx) -> Rows:
    items = recent_records(ctx, _before(ctx), page_rows_max)
    last = items[-1] if len(items) == page_rows_max else None
    return Rows("records.csv", ("height", "idx", "id", "type", "signer", "summary"),
                [(r["height"], r["idx"], r["id"], r["type"], r["signer"]["id"], r["summary"])
                 for r in items],
                link("/records.csv", before=f"{last['height']}.{last['idx']}") if last else None)


def _record_id(text: str) -> str:
    if not is_hex(text):
        raise Missing(f"{text[:80]!r} is not a record id (64 hex digits)", "record_not_found")
    return text


def record_page(ctx: Ctx, record_id: str) -> Page:
    rid = _record_id(record_id)
    row = ctx.one("SELECT height, idx, type, signer, seq, body, sigs FROM records WHERE id = ?",
                  (rid,))
    if row is None:
        return _not_committed(ctx, rid)
    height, idx, kind, _signer, seq, body_text, sigs = row
    body: dict[str, Any] = json.loads(body_text)
    names = ctx.names
    effects, raw = record_effects(ctx, height, idx)
    block = ctx.one("SELECT hash, header, certificate FROM blocks WHERE height = ?", (height,))
    if block is None:  # pragma: no cover - a record is written with its block
        raise Missing(f"block {height} of record {rid} is missing", "block_not_found")
    block_hash, header_text, cert_text = block
    header = json.loads(header_text)
    signers = [names.party(k).json() | {"key": k} for k in body.get("signers", [])]
    data = {"id": rid, "status": "committed", "height": height, "index": idx, "type": kind,
            "seq": seq, "signers": signers, "body": body,
            "signatures": sigs.split(",") if sigs else [],
            "summary": summary(kind, body.get("payload", {}), names),
            "effects": effects, **raw,
            "time": header["time"], "block_hash": block_hash,
            "proof": _proof(ctx, height, idx, rid, header["root"]),
            "certificate": _cert_brief(certificate(ctx, height, block_hash,
                                                   json.loads(cert_text))),
            "receipt": f"/records/{rid}/receipt.json"}
    return Page("record.html", f"Record {rid[:12]}…", data,
                html={"body_text": json.dumps(body, ensure_ascii=False, indent=2)})


def _cert_brief(cert: Json) -> Json:
    return {k: cert[k] for k in ("verified", "validators", "quorum", "committed")}


def _not_committed(ctx: Ctx, rid: str) -> Page:
    if ctx.node.is_pending(rid):
        status: Json = {"id": rid, "status": "pending"}
    else:
        outcome = ctx.node.outcome(rid)
        if outcome is None or outcome.code is None:
            raise Missing(f"no record {rid} on this chain", "record_not_found")
        status = {"id": rid, "status": "rejected", "code": outcome.code}
    return Page("record_status.html", f"Record {rid[:12]}…", status)


def _leaves(ctx: Ctx, height: int) -> list[bytes]:
    """The Merkle leaf hashes of block ``height``: its record ids, in order."""
    return [merkle.leaf_hash(bytes.fromhex(i)) for (i,) in ctx.query(
        "SELECT id FROM records WHERE height = ? ORDER BY idx", (height,))]


def _proof(ctx: Ctx, height: int, idx: int, rid: str, root: str) -> Json:
    """The inclusion proof of record ``idx`` of block ``height``, verified here."""
    leaves = _leaves(ctx, height)
    proof = merkle.inclusion_proof(leaves, idx)
    try:
        merkle.verify_inclusion(idx, len(leaves), merkle.leaf_hash(bytes.fromhex(rid)), proof,
                                bytes.fromhex(root))
        verified = True
    except LedgerError:
        verified = False
    return {"index": idx, "tree_size": len(leaves),
            "leaf_hash": merkle.leaf_hash(bytes.fromhex(rid)).hex(),
            "inclusion_proof": [p.hex() for p in proof], "root": root, "verified": verified}


def receipt(ctx: Ctx, record_id: str) -> Response:
    """The record's receipt as a download: the same document as
    :func:`ledger.verify.receipt.build_receipt`, built from the block's record ids rather than its
    parsed records (a block holds up to ``block_records_max`` of them)."""
    rid = _record_id(record_id)
    row = ctx.one("SELECT height, idx, body, sigs FROM records WHERE id = ?", (rid,))
    block = row and ctx.one("SELECT header, certificate FROM blocks WHERE height = ?", (row[0],))
    if row is None or block is None:
        raise Missing(f"no committed record {rid} here", "record_not_found")
    height, idx, body, sigs = row
    header = Header.from_json(json.loads(block[0]))
    leaves = _leaves(ctx, height)
    found = {
        "version": RECEIPT_VERSION, "chain": header.chain,
        "genesis": ctx.node.genesis.hash.hex(), "record": stored_record(body, sigs).to_wire(),
        "height": height, "index": idx, "tree_size": len(leaves),
        "inclusion_proof": [h.hex() for h in merkle.inclusion_proof(leaves, idx)],
        "header": header.to_json(),
        "certificate": CommitCertificate.from_json(json.loads(block[1])).to_json(),
        "validators": [{"name": v.name, "key": v.key} for v in ctx.replica.validators_at(height)],
    }
    return download(found, f"receipt-{rid[:16]}.json")
