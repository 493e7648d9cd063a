"""The alliance: members, validators, the regulator, merchants and the votes that admitted
them (100 a page in id order, ``merchants_after``), governance history (keyset by event),
and evidence against misbehaving validators.
"""

from __future__ import annotations

import json

from api.explorer.context import Ctx, Json, Missing, cursor
from api.explorer.effects import event_words
from api.explorer.merchants import lifecycle
from api.explorer.render import Page, link
from api.limits import height_past_all
from exchange import queries, queries_history

events_per_page = 50
merchants_shown_max = 100
evidence_shown_max = 50


def validator_status(ctx: Ctx) -> list[Json]:
    """The validators of the next block: up or down, their height, and whether they signed
    the head block's certificate."""
    peers = ctx.node.peers()
    signed: set[str] = set()
    if ctx.height:
        row = ctx.one("SELECT certificate FROM blocks WHERE height = ?", (ctx.height,))
        if row is not None:
            signed = {v["validator"] for v in json.loads(row[0]).get("signatures", [])}
    out = []
    for info in ctx.replica.validators:
        out.append({"member": info.name, "name": ctx.names.members.get(info.name, info.name),
                    "key": info.key, "up": info.key in peers, "height": peers.get(info.key),
                    "signed_head": info.key in signed})
    return out


def governance(ctx: Ctx, before: tuple[int, ...], limit: int) -> list[Json]:
    return [{"height": e.height, "idx": e.idx, "n": e.n, "kind": e.kind, "subject": e.subject,
             "detail": e.detail, "record": e.record or None,
             "words": event_words(ctx.names, e.kind, e.subject, e.detail).json()}
            for e in queries_history.governance_events(ctx.conn, before, limit)]


def alliance_page(ctx: Ctx) -> Page:
    members = ctx.read(queries.members)
    regulator = ctx.read(lambda v: [{"id": k, "name": n, "key": key}
                                    for k, (n, key) in v.regulator.base.items()])
    after = ctx.param("merchants_after") or ""
    if len(after) > 40:
        raise Missing("merchants_after is a merchant id", "invalid_parameter", 400)
    merchants = ctx.read(queries.merchants, None, after, merchants_shown_max + 1)
    more = merchants[merchants_shown_max - 1]["id"] if len(merchants) > merchants_shown_max \
        else None
    merchants = merchants[:merchants_shown_max]
    for m in merchants:
        m["lifecycle"] = lifecycle(ctx, m["id"])
        admitted = [e for e in m["lifecycle"] if e["kind"] == "merchant_admitted"]
        m["admitted_by"] = admitted[-1]["signers"] if admitted else []
        m["admitted_record"] = admitted[-1]["record"] if admitted else None
    before = cursor(ctx.param("before"), 3) or (height_past_all, 0, 0)
    history = governance(ctx, before, events_per_page)
    last = history[-1] if len(history) == events_per_page else None
    sets = [{"from_height": h, "validators": [{"member": v.name, "key": v.key,
                                               "name": ctx.names.members.get(v.name, v.name)}
                                              for v in vs]}
            for h, vs in ctx.replica.validator_history]
    current = {v.key: ctx.names.members.get(v.name, v.name)
               for _, vs in ctx.replica.validator_history[-1:] for v in vs}
    evidence = [{"height": h, "validator": v, "header_hash": hh, "name": current.get(v, v)}
                for h, v, hh in ctx.query("SELECT height, validator, header_hash FROM evidence "
                                          "ORDER BY height DESC LIMIT ?", (evidence_shown_max,))]
    data = {"members": members, "threshold": members[0]["threshold"] if members else 0,
            "validators": validator_status(ctx), "validator_sets": sets,
            "regulator": regulator, "merchants": merchants,
            "merchants_total": ctx.read(lambda v: v.merchants.count()),
            "merchants_next": link("/alliance", merchants_after=more) if more else None,
            "governance": history,
            "next": link("/alliance", before=f"{last['height']}.{last['idx']}.{last['n']}")
            if last else None, "evidence": evidence}
    return Page("alliance.html", "Alliance", data)
