"""Search: a height, a block hash, a record id (or its first 8+ hex digits), an account key
(or prefix), a program code or name, a merchant id or name, a member name.

Every lookup is a primary-key or index probe with a ``LIMIT``: heights by ``blocks`` key, record
ids by ``records_by_id``, accounts by the exchange's holdings key and history account index
(:mod:`exchange.queries_holders`, :mod:`exchange.queries_history`), block hashes by the node's
map of recent hashes (a scan of ``blocks`` only for hashes older than that window). Names are
matched in the in-memory directory. Exactly one hit redirects to it (HTML); the JSON twin always
lists the hits.
"""

from __future__ import annotations

from api.explorer.context import Ctx, Json
from api.explorer.render import Page, Redirect
from exchange import queries_history, queries_holders

results_max = 20
prefix_chars_min = 8
HEX = set("0123456789abcdef")


def _hit(kind: str, label: str, href: str) -> Json:
    return {"kind": kind, "label": label, "href": href}


def _hex_hits(ctx: Ctx, q: str) -> list[Json]:
    hits = []
    if len(q) == 64:
        if ctx.one("SELECT 1 FROM records WHERE id = ?", (q,)):
            hits.append(_hit("record", f"record {q[:16]}…", f"/records/{q}"))
        ctx.cache.days.refresh(ctx.conn, ctx.height)
        height = ctx.cache.days.height_of(ctx.conn, q)
        if height is not None:
            hits.append(_hit("block", f"block {height}", f"/blocks/{height}"))
        party = ctx.names.party(q)
        if party.kind != "customer":
            hits.append(_hit(party.kind, f"{party.kind} {party.name}", party.href))
        if party.kind != "customer" or queries_history.has_history(ctx.conn, q):
            hits.append(_hit("account", f"account {q[:16]}…", f"/accounts/{q}"))
        return hits
    high = q + "g"  # just above every hex string that starts with q
    for (rid,) in ctx.query("SELECT id FROM records WHERE id >= ? AND id < ? ORDER BY id "
                            "LIMIT 5", (q, high)):
        hits.append(_hit("record", f"record {rid[:16]}…", f"/records/{rid}"))
    for account in queries_holders.accounts_between(ctx.conn, q, high, 5):
        hits.append(_hit("account", f"account {account[:16]}…", f"/accounts/{account}"))
    return hits


def _name_hits(ctx: Ctx, q: str) -> list[Json]:
    names = ctx.names
    folded = q.casefold()
    hits = []
    if folded in names.programs:
        hits.append(_hit("program", f"{folded.upper()} {names.program(folded)}",
                         f"/programs/{folded}"))
    if folded in names.merchants:
        hits.append(_hit("merchant", names.merchant(folded), f"/merchants/{folded}"))
    if hits:
        return hits  # an exact code or id wins over names that contain it
    for code, p in names.programs.items():
        if folded in p["name"].casefold():
            hits.append(_hit("program", f"{code.upper()} {p['name']}", f"/programs/{code}"))
    for merchant_id, name in names.merchants.items():
        if folded in name.casefold() or folded in merchant_id:
            hits.append(_hit("merchant", name, f"/merchants/{merchant_id}"))
    for member_id, name in names.members.items():
        if folded in name.casefold() or folded in member_id:
            hits.append(_hit("member", name, "/alliance#members"))
    return hits


def find(ctx: Ctx, q: str) -> list[Json]:
    """Every hit for ``q``, most specific first (at most ``results_max``)."""
    q = q.strip()
    if not q or len(q) > 200:
        return []
    hits: list[Json] = []
    if q.isdigit() and len(q) <= 16 and 1 <= int(q) <= ctx.height:
        hits.append(_hit("block", f"block {int(q)}", f"/blocks/{int(q)}"))
    lowered = q.lower()
    if len(lowered) >= prefix_chars_min and set(lowered) <= HEX:
        hits.extend(_hex_hits(ctx, lowered))
    if not hits:
        hits.extend(_name_hits(ctx, q))
    return hits[:results_max]


def search_page(ctx: Ctx) -> Page | Redirect:
    q = (ctx.param("q") or "").strip()
    hits = find(ctx, q)
    data = {"q": q, "results": hits}
    if len(hits) == 1:
        return Redirect(hits[0]["href"], data)
    return Page("search.html", f"Search: {q}" if q else "Search", data)
