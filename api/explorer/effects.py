"""A record's effects in plain words, from the rows the exchange derived from it.

Sentences are lists of parts (text, optional link) so the HTML can link names while the JSON
twin carries the plain text. Sources, all read by primary-key prefix ``(height, idx)`` through
:mod:`exchange.queries_history`: the swap (burned, minted, bonus, the obligation it left), the
balance movements and the events (governance and lifecycle). One-line summaries for lists come
from the record's payload alone.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from api.explorer import fmt
from api.explorer.context import Ctx, Directory
from api.limits import record_effect_rows_max
from exchange import queries_history
from exchange.queries_history import RecordMovement, Swap

Json = dict[str, Any]
MOVES = {"issue": "minted", "bonus": "minted a bonus of", "redeem": "burned",
         "expire": "expired", "transfer_in": "moved", "transfer_out": "moved",
         "swap_in": "minted", "swap_out": "burned"}


class Words:
    """A sentence made of text and linked names."""

    def __init__(self) -> None:
        self.parts: list[tuple[str, str | None]] = []

    def t(self, text: str) -> Words:
        self.parts.append((text, None))
        return self

    def a(self, text: str, href: str) -> Words:
        self.parts.append((text, href))
        return self

    def json(self) -> Json:
        return {"text": "".join(p for p, _ in self.parts),
                "parts": [{"text": p, "href": h} for p, h in self.parts]}


def _points(w: Words, amount: int, code: str) -> Words:
    return w.t(f"{fmt.num(amount)} ").a(code.upper(), f"/programs/{code}").t(" points")


def _merchant(w: Words, names: Directory, merchant_id: str) -> Words:
    if merchant_id not in names.merchants:  # a rejected or lapsed application: no page
        return w.t(merchant_id)
    return w.a(names.merchant(merchant_id), f"/merchants/{merchant_id}")


def _account(w: Words, names: Directory, key: str) -> Words:
    party = names.party(key)
    return w.a(party.name, party.href)


def record_effects(ctx: Ctx, height: int, idx: int) -> tuple[list[Json], Json]:
    """(sentences, raw rows) for the record at ``(height, idx)``."""
    names = ctx.names
    swap = queries_history.record_swap(ctx.conn, height, idx)
    history = queries_history.record_movements(ctx.conn, height, idx, record_effect_rows_max)
    events = queries_history.record_events(ctx.conn, height, idx, record_effect_rows_max)
    said: list[Words] = []
    if swap is not None:
        said.extend(_swap_words(names, swap))
    else:
        said.extend(_history_words(names, history))
    said.extend(event_words(names, e.kind, e.subject, e.detail) for e in events)
    raw = {"movements": [asdict(m) for m in history],
           "swap": None if swap is None else {
               "give": swap.give, "get": swap.get, "taken": swap.taken, "base": swap.base,
               "bonus": swap.bonus, "out": swap.out, "value_burned_micro": swap.value_burned,
               "value_minted_micro": swap.value_minted, "give_rate": swap.give_rate,
               "get_rate": swap.get_rate, "holder": swap.holder},
           "events": [{"n": e.n, "kind": e.kind, "subject": e.subject, "detail": e.detail}
                      for e in events]}
    return [w.json() for w in said], raw


def _swap_words(names: Directory, swap: Swap) -> list[Words]:
    w = _points(Words().t("burned "), swap.taken, swap.give).t(", minted ")
    _points(w, swap.base, swap.get)
    if swap.bonus:
        w.t(f" plus a {fmt.num(swap.bonus)}-point bonus")
    _account(w.t(" for "), names, swap.holder)
    said = [w]
    debtor, creditor = names.issuer_of(swap.give), names.issuer_of(swap.get)
    if debtor and creditor and debtor != creditor:
        owes = _merchant(Words(), names, debtor).t(" owes ")
        said.append(_merchant(owes, names, creditor).t(f" {fmt.yuan(swap.value_minted)}"))
    return said


def _history_words(names: Directory, rows: list[RecordMovement]) -> list[Words]:
    said = []
    for i, row in enumerate(rows):
        account, program, kind, ref = row.account, row.program, row.kind, row.ref
        if kind == "transfer_in":
            continue  # told with its transfer_out
        w = _points(Words().t(f"{MOVES.get(kind, kind)} "), abs(row.delta), program)
        if kind == "transfer_out":
            _account(w.t(" from "), names, account)
            target = rows[i + 1].account if i + 1 < len(rows) else ref
            _account(w.t(" to "), names, target)
        elif kind in ("redeem", "expire", "swap_out"):
            _account(w.t(" of "), names, account)
            if kind == "redeem":
                _merchant(w.t(" (redeemed at "), names, names.issuer_of(program)).t(
                    f", order {ref})" if ref else ")")
        else:
            _account(w.t(" to "), names, account)
            if ref and kind == "issue":
                w.t(f" ({ref})")
        said.append(w)
    return said


def event_words(names: Directory, kind: str, subject: str, detail: str) -> Words:
    w = Words()
    if kind.startswith("merchant_"):
        verb = {"merchant_applied": "applied to join the alliance",
                "merchant_admitted": "was admitted by member vote",
                "merchant_suspended": "was suspended", "merchant_reinstated": "was reinstated",
                "merchant_rejected": "was refused by member vote",
                "merchant_lapsed": "saw its application lapse (no vote in time)"}
        _merchant(w, names, subject).t(" " + verb.get(kind, kind.split("_", 1)[1]))
        return w.t(f" ({detail})") if detail and kind != "merchant_applied" else w
    if kind.startswith("member_"):
        name = names.members.get(subject, subject)
        return w.a(name, "/alliance#members").t(" " + kind.split("_", 1)[1])
    if kind.startswith(("program_", "rate_", "promotion")):
        w.a(subject.upper(), f"/programs/{subject}")
        text = {"program_created": f" opened ({detail})", "program_updated": " changed its terms",
                "rate_posted": f" posted a new rate: {_rate_detail(detail)}",
                "rate_in_effect": f" rate now in effect: {detail}",
                "promotion": f" promotion: {_promotion_detail(detail)}"}
        return w.t(text.get(kind, f" {kind} {detail}"))
    if kind == "settled" and "->" in subject:
        payer, payee = subject.split("->", 1)
        fen, _, reference = detail.partition(" fen ")
        _merchant(w, names, payer).t(" paid ")
        _merchant(w, names, payee)
        amount = fmt.yuan(int(fen) * 10_000) if fen.isdigit() else detail
        return w.t(f" {amount}" + (f" ({reference})" if reference else ""))
    if kind == "key_rotated":
        return w.t(f"new key for {subject}: {fmt.short(detail, 16)}")
    return w.t(f"{kind.replace('_', ' ')} {subject} {detail}".strip())


def _rate_detail(detail: str) -> str:
    """``v2 200/yuan from 1791...`` -> ``v2 200/yuan``."""
    return detail.split(" from ", 1)[0]


def _promotion_detail(detail: str) -> str:
    """``from vk +2000bp [a, b)`` -> ``+20.00% on swaps from VK``."""
    parts = detail.split()
    if len(parts) >= 3 and parts[2].startswith("+") and parts[2].endswith("bp"):
        bp = parts[2][1:-2]
        if bp.isdigit():
            return f"+{int(bp) // 100}.{int(bp) % 100:02d}% on swaps from {parts[1].upper()}"
    return detail


def summary(kind: str, p: Json, names: Directory) -> str:
    """One line for lists, from the payload alone."""
    code = str(p.get("program", "")).upper()
    amount = fmt.num(p["amount"]) if isinstance(p.get("amount"), int) else ""
    short = kind.split(".", 1)[-1]
    lines = {
        "issue": f"issue {amount} {code}", "redeem": f"redeem {amount} {code}",
        "transfer": f"give {amount} {code}",
        "swap": f"swap {amount} {str(p.get('give', '')).upper()} → "
                f"{str(p.get('get', '')).upper()}",
        "create_program": f"open program {code} at {fmt.num(p.get('rate'))} points per ¥1",
        "update_program": f"update the terms of {code}",
        "post_rate": f"post rate {fmt.num(p.get('rate'))} points per ¥1 for {code}",
        "promote": f"promotion on {code} from {str(p.get('source', '')).upper()}",
        "apply_merchant": f"{p.get('name', '')} applies to join",
        "settle": f"{names.merchant(str(p.get('payer')))} pays "
                  f"{names.merchant(str(p.get('payee')))} "
                  f"{fmt.yuan(int(p.get('amount_fen') or 0) * 10_000)}",
        "rotate_key": f"rotate the key of {p.get('party', '')} {p.get('id', '')}",
    }
    if short in lines:
        return lines[short]
    subject = p.get("merchant") or p.get("member") or ""
    if isinstance(subject, str) and subject in names.merchants:
        subject = names.merchant(subject)
    return f"{short.replace('_', ' ')} {subject}".strip()
