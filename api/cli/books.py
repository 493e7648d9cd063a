"""Issuer books commands: ``jifentong statement`` (read) and ``jifentong void`` (a refund).

``statement`` prints a merchant's liability roll-forward for a month from the node's
``/v1/merchants/{id}/statement``, its aging at the closing height and the settlement payments
of the month (``--json`` for the whole statement); ``void`` signs an
``exchange.void_issue`` for the still-pending points of one of the merchant's issues.
"""

from __future__ import annotations

from typing import Annotated

import typer

from api.cli.common import JsonOpt, PassEnv, console, emit
from api.cli.ops import (
    DEFAULT_NODE,
    DEFAULT_TTL_S,
    KeyOpt,
    NodeOpt,
    ReceiptOpt,
    TtlOpt,
    call,
    connect,
    submit,
    wallet,
)
from exchange import records as rec

LABELS = {"opening": "opening outstanding", "issued": "+ issued", "pending": "  of which pending",
          "voided": "- voided (refunds)", "redeemed": "- redeemed", "swapped_in": "+ swapped in",
          "swapped_out": "- swapped out", "bonus": "+ promotion bonus", "expired": "- expired",
          "closing": "= closing outstanding"}
ORDER = ("opening", "issued", "swapped_in", "bonus", "voided", "redeemed", "swapped_out",
         "expired", "revaluation", "closing", "pending")


def statement(merchant: Annotated[str, typer.Option(help="merchant id, e.g. fresh-mart")],
              month: Annotated[str, typer.Option(help="YYYY-MM")],
              node: NodeOpt = DEFAULT_NODE, json_out: JsonOpt = False) -> None:
    """A merchant's statement for a month: liability roll-forward in points and yuan."""
    with connect(node) as client:
        found = call(client.get, f"/v1/merchants/{merchant}/statement", month=month)
    if json_out:
        emit(found)
        return
    heights = found["heights"]
    console.print(f"[bold]{found['name']}[/] {found['period']['from']} to "
                  f"{found['period']['to']} (blocks {heights['opening']['height']} to "
                  f"{heights['closing']['height']})")
    console.print(f"{'':<24}{'points':>14}{'yuan':>16}")
    for name in ORDER:
        label = LABELS.get(name, "± revaluation")
        points = found["points"].get(name)
        shown = f"{points:>14,}" if points is not None else f"{'':>14}"
        console.print(f"{label:<24}{shown}{found['yuan'][name] / 100:>16,.2f}")
    console.print("aging at the closing height (points by the month they lapse)")
    for b in found["aging"]:
        console.print(f"  {b['expires']:<22}{b['points']:>14,}{b['value_fen'] / 100:>16,.2f}")
    for o in found["obligations"]:
        console.print(f"{o['counterparty']:<24} net at close "
                      f"{o['net_closing_micro'] / 1e6:>+12,.2f} ¥")
    paid = found["settlements"]
    console.print(f"settlements in the period: {paid['count']}"
                  + (" (list truncated: see --json or the CSV)" if paid["truncated"] else ""))
    for s in paid["payments"]:
        console.print(f"  block {s['height']} {s['date']} {s['payer']} -> {s['payee']} "
                      f"{s['amount_fen'] / 100:,.2f} ¥ (own debt "
                      f"{s['cleared_micro'] / 1e6:,.2f}, netted {s['netted_micro'] / 1e6:,.2f})"
                      f" {s['record'][:12]}")


def void(issue: Annotated[str, typer.Option(help="record id of your issue to void")],
         key: KeyOpt,
         reason: Annotated[str, typer.Option(help="why, e.g. refund of order 123")] = "",
         node: NodeOpt = DEFAULT_NODE, pass_env: PassEnv = None,
         json_out: JsonOpt = False, receipt: ReceiptOpt = None,
         ttl: TtlOpt = DEFAULT_TTL_S) -> None:
    """Merchant: void the still-pending points of one of your issues (a refund)."""
    w = wallet(node, key, pass_env, ttl)
    body = rec.void_issue(w.chain, w.public, call(w.next_seq), issue, reason,
                          expires=w.expires())
    submit(w.client, w.sign_body(body), json_out, receipt)


def register(app: typer.Typer) -> None:
    """Add ``statement`` and ``void`` to the ``jifentong`` command."""
    app.command()(statement)
    app.command()(void)
